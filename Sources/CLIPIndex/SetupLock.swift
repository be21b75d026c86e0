import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An exclusive `flock` on the index's folder while an index file is created or set up, so that
/// two writers starting together (two `clip index` runs, or one and a server) do not both switch
/// a new file to WAL mode and run the migrations: the second waits, then finds a whole index.
///
/// The lock is on the folder, not the database file: closing any descriptor of the database file
/// would drop SQLite's own POSIX locks on it. Released on `release()` or when the process ends.
final class SetupLock {
    private var descriptor: Int32

    /// Blocks until the lock on `folder` is held; nil where the folder cannot be opened (then
    /// set-up runs unserialised, as before).
    init?(folder: URL) {
        descriptor = open(folder.path, O_RDONLY)
        guard descriptor >= 0 else { return nil }
        while flock(descriptor, LOCK_EX) != 0 {
            if errno != EINTR {
                close(descriptor)
                return nil
            }
        }
    }

    func release() {
        guard descriptor >= 0 else { return }
        close(descriptor)  // drops the flock
        descriptor = -1
    }

    deinit { release() }
}
