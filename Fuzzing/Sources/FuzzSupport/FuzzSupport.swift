import Foundation

/// Helpers shared by the fuzz targets.
public enum FuzzInput {
    /// A scratch file holding `bytes`, for readers that take a path (the tar index reads with
    /// pread). One path per process, rewritten each run; under /dev/shm when it exists.
    public static func withTemporaryFile<R>(_ bytes: UnsafeRawBufferPointer, _ body: (URL) throws -> R) rethrows -> R {
        let url = scratchURL
        let fd = open(url.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        precondition(fd >= 0, "cannot create \(url.path)")
        var written = 0
        while written < bytes.count {
            let n = write(fd, bytes.baseAddress! + written, bytes.count - written)
            precondition(n > 0, "cannot write \(url.path)")
            written += n
        }
        close(fd)
        return try body(url)
    }

    private static let scratchURL: URL = {
        let shm = URL(fileURLWithPath: "/dev/shm")
        let directory = FileManager.default.fileExists(atPath: shm.path) ? shm : FileManager.default.temporaryDirectory
        return directory.appendingPathComponent("swift-clip-fuzz-\(getpid())")
    }()
}

/// Keeps a value alive and observed, so the optimizer cannot drop the work that produced it.
@inline(never)
public func blackHole<T>(_ value: T) {
    withExtendedLifetime(value) {}
}
