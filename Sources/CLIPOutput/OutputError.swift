import Foundation

/// Why an output could not be written. Every case names the path (or "standard output").
public enum OutputError: LocalizedError, Equatable, Sendable {
    /// The target is a folder; an output never replaces a folder.
    case isDirectory(path: String)
    /// The target exists but is neither a regular file nor a character device, FIFO or socket
    /// (a block device, for example).
    case unsupportedFileType(path: String)
    /// The target is a regular file without write permission.
    case readOnly(path: String)
    /// The folder that would hold the file is missing or not writable.
    case cannotCreate(path: String, reason: String)
    /// `write(2)`, `fsync(2)`, `close(2)` or `rename(2)` failed.
    case writeFailed(path: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case .isDirectory(let path): "cannot write \(path): it is a folder"
        case .unsupportedFileType(let path): "cannot write \(path): not a regular file, character device or FIFO"
        case .readOnly(let path): "cannot write \(path): the file is read-only"
        case .cannotCreate(let path, let reason): "cannot write \(path): \(reason)"
        case .writeFailed(let path, let reason): "cannot write \(path): \(reason)"
        }
    }

    public var recoverySuggestion: String? {
        switch self {
        case .isDirectory: "Name a file inside the folder, e.g. -o folder/out.json; the folder was left untouched."
        case .unsupportedFileType: "Write to a regular file, a FIFO, /dev/stdout or /dev/null."
        case .readOnly: "Choose another path or make the file writable (chmod u+w); it was left untouched."
        case .cannotCreate: "Check that the folder exists and is writable."
        case .writeFailed: "Check free space and permissions; nothing at the path was replaced."
        }
    }

    /// The current `errno` as text.
    static func reason(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }
}
