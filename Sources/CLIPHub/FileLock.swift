#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An exclusive `flock(2)` on a lock file, so two processes (or two threads, each with its own
/// descriptor) fetching the same model take turns. The kernel drops the lock if the process dies.
///
/// ```swift
/// let lock = try FileLock(path: "/cache/ViT-B-32.pt.lock")
/// defer { lock.unlock() }
/// ```
public final class FileLock {
    private var fd: Int32

    /// Opens (creating) `path` and blocks until the lock is held.
    public init(path: String) throws {
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw HubError.cacheIO(path: path, reason: String(cString: strerror(errno))) }
        while flock(fd, LOCK_EX) != 0 {
            if errno == EINTR { continue }
            let reason = String(cString: strerror(errno))
            close(fd)
            throw HubError.cacheIO(path: path, reason: "cannot lock: \(reason)")
        }
    }

    /// Releases the lock (also done on deinit).
    public func unlock() {
        guard fd >= 0 else { return }
        flock(fd, LOCK_UN)
        close(fd)
        fd = -1
    }

    deinit { unlock() }
}
