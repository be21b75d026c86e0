import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// File-type checks made before a path is opened: open(2) of a FIFO blocks until a writer
/// appears, and opening a device can have side effects, so only regular files are ever opened.
enum RegularFile {
    /// Side files (config.json, shard indexes) larger than this are refused rather than read.
    static let maximumSideFileSize = 64 << 20

    /// Throws ``WeightError/cannotOpen(file:reason:)`` unless `path` (after symbolic links) is a
    /// regular file; a FIFO, socket or device is named as such. Returns the file's size.
    @discardableResult
    static func require(_ path: String) throws -> Int {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw WeightError.cannotOpen(file: path, reason: String(cString: strerror(errno)))
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw WeightError.cannotOpen(file: path, reason: describe(mode: info.st_mode))
        }
        return Int(info.st_size)
    }

    /// Whether `path` names a regular file (after symbolic links).
    static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
    }

    /// The bytes of a small side file, after checking its type and size.
    static func contents(_ path: String) throws -> Data {
        let size = try require(path)
        guard size <= maximumSideFileSize else {
            throw WeightError.limitExceeded(
                file: path, detail: "\(size) bytes; side files such as config.json are at most \(maximumSideFileSize)")
        }
        do {
            return try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw WeightError.cannotOpen(file: path, reason: "unreadable")
        }
    }

    /// Why a file of this type cannot be read as weights.
    static func describe(mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFIFO: "a FIFO (named pipe), not a regular file or folder"
        case S_IFSOCK: "a socket, not a regular file or folder"
        case S_IFCHR: "a character device, not a regular file or folder"
        case S_IFBLK: "a block device, not a regular file or folder"
        case S_IFDIR: "a directory, not a regular file"
        default: "not a regular file"
        }
    }
}
