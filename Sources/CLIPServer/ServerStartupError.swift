import Foundation

/// Why `clip serve` could not start, with the process exit status each reason maps to (BSD
/// sysexits, as `clip` uses them: see `CLIExit` in `Sources/clip/Support`).
///
/// | status | reason |
/// | --- | --- |
/// | 64 | bad command line (no `--model` and no `--index`, an option out of range) |
/// | 66 | the model or the index cannot be read, or they do not fit each other |
/// | 69 | the address cannot be bound (port in use, unknown host, no permission) |
/// | 71 | the server failed after it started listening |
public enum ServerStartupError: LocalizedError, Equatable {
    /// The model could not be loaded.
    case model(name: String, reason: String)
    /// The index could not be opened, or has no model yet.
    case index(path: String, reason: String)
    /// `--model` names another model than the one the index holds embeddings of.
    case modelMismatch(index: String, stored: String, requested: String)
    /// The listening socket could not be set up.
    case bind(host: String, port: Int, reason: String)
    /// The server stopped with an error after it had started.
    case failed(reason: String)

    /// The process exit status for this failure.
    public var exitCode: Int32 {
        switch self {
        case .model, .index, .modelMismatch: 66
        case .bind: 69
        case .failed: 71
        }
    }

    public var errorDescription: String? {
        switch self {
        case .model(let name, let reason): "cannot load the model \(name): \(reason)"
        case .index(let path, let reason): "cannot serve the index \(path): \(reason)"
        case .modelMismatch(let index, let stored, let requested):
            "\(index) holds embeddings of \(stored), not of \(requested) (--model)"
        case .bind(let host, let port, let reason): "cannot listen on \(host):\(port): \(reason)"
        case .failed(let reason): "the server stopped: \(reason)"
        }
    }

    public var recoverySuggestion: String? {
        switch self {
        case .model: "Check --model: a checkpoint path or a name from `clip models` (offline: a cached one)."
        case .index: "Check --index: a database written by `clip index` (clip index DIR --db FILE)."
        case .modelMismatch(_, let stored, _):
            "Leave out --model to serve \(stored), the index's model (one index, one model)."
        case .bind(_, let port, _):
            "Another process may use port \(port): pick another with --port (0 picks a free one), or check --host."
        case .failed: nil
        }
    }

    /// The message and its hint, one `error:` / `hint:` line each, as `clip` prints failures.
    public var report: String {
        var text = "error: \(errorDescription ?? "\(self)")\n"
        if let hint = recoverySuggestion { text += "hint: \(hint)\n" }
        return text
    }
}
