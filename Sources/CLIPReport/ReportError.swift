import Foundation

/// Why a training report could not be built.
public enum ReportError: LocalizedError, Equatable, Sendable {
    /// The folder has neither `log.jsonl` nor `checkpoints/`.
    case notARun(path: String)
    /// `log.jsonl` exists but cannot be read.
    case unreadableLog(path: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case .notARun(let path): return "\(path) is not a training run: it has no log.jsonl and no checkpoints folder"
        case .unreadableLog(let path, let reason): return "cannot read \(path): \(reason)"
        }
    }

    public var recoverySuggestion: String? {
        switch self {
        case .notARun: return "Pass the --output folder of a `clip train` run."
        case .unreadableLog: return "Check the file's permissions."
        }
    }
}
