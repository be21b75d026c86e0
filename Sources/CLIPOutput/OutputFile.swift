import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The one way swift-clip writes a file, so that a failed or interrupted write never damages
/// what was there.
///
/// - A regular file (or a new path) is written to a temporary file in the same folder
///   (`.NAME.PID.RANDOM.tmp`, permissions of the file it replaces), flushed with `fsync`, and
///   renamed over the target with `rename(2)` only by ``commit()``. Until then the old file is
///   untouched; on an error, ``discard()``, deinit or SIGINT/SIGTERM/SIGHUP the temporary file
///   is removed and the old file stays as it was. A symbolic link is followed: the file it
///   points to is replaced, the link kept.
/// - A character device or FIFO (`/dev/null`, a named pipe) is written straight into: there
///   is nothing to replace. `/dev/stdout`, `/dev/stderr` and `/dev/fd/N` are the process's own
///   descriptors and are written into as they are, whatever they lead to.
/// - A folder, a block device or a read-only file is refused (``OutputError``) and left alone.
///
/// ```swift
/// let file = try OutputFile(path: "embeddings.json")
/// try file.write("{\"rows\": []}\n")
/// try file.commit()      // without it nothing appears at the path
/// // or in one step:
/// try OutputFile.write(Data("hello\n".utf8), to: URL(fileURLWithPath: "hello.txt"))
/// ```
public final class OutputFile {
    /// The path as given (used in messages).
    public let path: String
    /// The file descriptor written to.
    private var descriptor: Int32
    /// The temporary file and the file it will replace; nil when writing straight into a stream.
    private let staged: (temporary: String, target: String)?
    private let durable: Bool
    private let slot: Int?
    private var closed = false
    private var committed = false

    /// Standard output: writes are checked (a full disk or closed pipe is an error, not lost
    /// output) and ``commit()`` does nothing.
    public static var standardOutput: OutputFile { OutputFile(standardOutputWithName: "standard output") }

    private init(standardOutputWithName name: String) {
        path = name
        descriptor = STDOUT_FILENO
        staged = nil
        durable = false
        slot = nil
        closed = true  // never closed by us
    }

    /// Opens `path` for writing as described above; "-" is ``standardOutput``'s descriptor.
    ///
    /// - Parameter durable: `fsync` before the rename and remove the temporary file on a
    ///   signal. Bulk outputs that are cheap to redo (thousands of generated images) pass
    ///   false: still atomic, but not flushed one by one.
    public init(path: String, durable: Bool = true) throws {
        self.path = path
        self.durable = durable
        guard !path.isEmpty else { throw OutputError.cannotCreate(path: path, reason: "empty path") }
        if path.hasSuffix("/") {
            var info = stat()
            if stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR { throw OutputError.isDirectory(path: path) }
            throw OutputError.cannotCreate(path: path, reason: "a file name cannot end with '/'")
        }
        // The process's own descriptors: write into them as they are (a shell's `>>` appends,
        // a regular file behind stdout is not replaced by a new inode).
        if let inherited = Self.inheritedDescriptor(path) {
            let fd = dup(inherited)
            guard fd >= 0 else { throw OutputError.cannotCreate(path: path, reason: OutputError.reason()) }
            descriptor = fd
            staged = nil
            slot = nil
            return
        }
        var target = path
        var link = stat()
        if lstat(path, &link) == 0, link.st_mode & S_IFMT == S_IFLNK, let resolved = realpath(path, nil) {
            target = String(cString: resolved)
            free(resolved)
        }
        var info = stat()
        var mode: mode_t = 0o666
        var replacing = false
        if stat(target, &info) == 0 {
            switch info.st_mode & S_IFMT {
            case S_IFDIR:
                throw OutputError.isDirectory(path: path)
            case S_IFCHR, S_IFIFO, S_IFSOCK:
                // Nothing to replace: write into it (O_NOCTTY: a terminal must not become ours).
                let fd = open(target, O_WRONLY | O_CLOEXEC | O_NOCTTY)
                guard fd >= 0 else { throw OutputError.cannotCreate(path: path, reason: OutputError.reason()) }
                descriptor = fd
                staged = nil
                slot = nil
                return
            case S_IFREG:
                guard access(target, W_OK) == 0 else { throw OutputError.readOnly(path: path) }
                mode = info.st_mode & 0o7777
                replacing = true
            default:
                throw OutputError.unsupportedFileType(path: path)
            }
        } else if errno != ENOENT {
            throw OutputError.cannotCreate(path: path, reason: OutputError.reason())
        }
        let url = URL(fileURLWithPath: target)
        let folder = url.deletingLastPathComponent().path
        var opened: (fd: Int32, temporary: String, slot: Int?)?
        for _ in 0..<16 {
            // `.NAME.PID.RANDOM.tmp`: the process id lets a later run tell a leftover of a killed
            // process from a live one (the trainer's StaleFiles removes such leftovers).
            let random = String(UInt32.random(in: 0...UInt32.max))
            let temporary = folder + "/." + url.lastPathComponent + ".\(getpid()).\(random).tmp"
            let slot = durable ? TemporaryFiles.register(temporary) : nil
            let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
            if fd >= 0 {
                opened = (fd, temporary, slot)
                break
            }
            let code = errno
            TemporaryFiles.unregister(slot)
            guard code == EEXIST else {
                throw OutputError.cannotCreate(path: path, reason: OutputError.reason(code))
            }
        }
        guard let opened else { throw OutputError.cannotCreate(path: path, reason: "no free temporary name") }
        // open(2) applied the umask; a replaced file keeps its own permissions exactly.
        if replacing { fchmod(opened.fd, mode) }
        descriptor = opened.fd
        staged = (opened.temporary, target)
        slot = opened.slot
    }

    deinit {
        if !committed { discard() }
    }

    /// Appends bytes; on failure the temporary file is removed and the target left untouched.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard var next = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {
            let n = systemWrite(descriptor, next, left)
            if n < 0 {
                let code = errno
                if code == EINTR { continue }
                // The reader of standard output or a FIFO has gone: end as SIGPIPE would have.
                if code == EPIPE && staged == nil { StandardStreams.brokenPipe() }
                let reason = OutputError.reason(code)
                discard()
                throw OutputError.writeFailed(path: path, reason: reason)
            }
            left -= n
            next += n
        }
    }

    /// Appends `data`.
    public func write(_ data: Data) throws {
        try data.withUnsafeBytes { try write($0) }
    }

    /// Appends `text` as UTF-8.
    public func write(_ text: String) throws {
        var text = text
        try text.withUTF8 { try write(UnsafeRawBufferPointer($0)) }
    }

    /// Finishes the file: `fsync`, `close`, then `rename(2)` over the target. Only now does
    /// the output appear at ``path``.
    public func commit() throws {
        guard !committed else { return }
        guard let staged else {
            committed = true
            if !closed, close(descriptor) != 0 {
                throw OutputError.writeFailed(path: path, reason: OutputError.reason())
            }
            closed = true
            return
        }
        if durable, fsync(descriptor) != 0 {
            let reason = OutputError.reason()
            discard()
            throw OutputError.writeFailed(path: path, reason: reason)
        }
        closed = true
        if close(descriptor) != 0 {
            let reason = OutputError.reason()
            discard()
            throw OutputError.writeFailed(path: path, reason: reason)
        }
        guard rename(staged.temporary, staged.target) == 0 else {
            let reason = OutputError.reason()
            discard()
            throw OutputError.writeFailed(path: path, reason: reason)
        }
        committed = true
        TemporaryFiles.unregister(slot)
        if durable { Self.synchronizeFolder(of: staged.target) }
    }

    /// Abandons the file: closes it and removes the temporary file; the target is untouched.
    public func discard() {
        if !closed {
            closed = true
            close(descriptor)
        }
        if let staged, !committed {
            unlink(staged.temporary)
            TemporaryFiles.unregister(slot)
        }
        committed = true
    }

    /// Writes `data` to `url` in one step (see the type's description).
    public static func write(_ data: Data, to url: URL, durable: Bool = true) throws {
        let file = try OutputFile(path: url.path, durable: durable)
        try file.write(data)
        try file.commit()
    }

    /// The descriptor `/dev/stdout`, `/dev/stderr`, `/dev/fd/N` or `/proc/self/fd/N` names.
    static func inheritedDescriptor(_ path: String) -> Int32? {
        switch path {
        case "/dev/stdout": return STDOUT_FILENO
        case "/dev/stderr": return STDERR_FILENO
        default:
            for prefix in ["/dev/fd/", "/proc/self/fd/"] where path.hasPrefix(prefix) {
                return Int32(path.dropFirst(prefix.count))
            }
            return nil
        }
    }

    /// Makes the rename itself durable (best effort: some file systems refuse to sync folders).
    private static func synchronizeFolder(of target: String) {
        let folder = URL(fileURLWithPath: target).deletingLastPathComponent().path
        let fd = open(folder, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }
}

/// `write(2)`, named apart from ``OutputFile/write(_:)``.
private func systemWrite(_ fd: Int32, _ pointer: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, pointer, count)
}
