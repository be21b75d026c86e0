import Foundation

/// Errors that stop a training run or refuse to start one.
public enum TrainingError: LocalizedError, Equatable, Sendable {
    case nonFinite(step: Int, what: String)
    case invalidOptions(String)
    /// A setting outside its valid range, named as `clip train` spells it.
    case invalidOption(name: String, value: String, valid: String)
    /// A setting given at resume that contradicts the one the checkpoint recorded.
    case resumeConflict(name: String, recorded: String, given: String)
    case noCheckpoint(String)
    /// A new run was asked to write into a directory that already holds a run's checkpoints.
    case outputInUse(String)
    case corruptCheckpoint(path: String, reason: String)
    /// DIR/log.jsonl is not a regular file holding a training log: appending could damage it.
    case unsafeLog(path: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case .nonFinite(let step, let what):
            return "non-finite \(what) at step \(step); nothing was written for this step"
        case .invalidOptions(let why): return "invalid training options: \(why)"
        case .invalidOption(let name, let value, let valid): return "\(name) must be \(valid), got \(value)"
        case .resumeConflict(let name, let recorded, let given):
            return "\(name) \(given) contradicts the run being resumed, which recorded \(name) \(recorded)"
        case .noCheckpoint(let dir): return "no complete checkpoint in \(dir)"
        case .outputInUse(let dir): return "\(dir) already holds the checkpoints of a run"
        case .corruptCheckpoint(let path, let reason): return "checkpoint \(path) is unusable: \(reason)"
        case .unsafeLog(let path, let reason): return "will not append the training log to \(path): \(reason)"
        }
    }

    public var recoverySuggestion: String? {
        switch self {
        case .nonFinite: return "Lower --lr, add --grad-clip-norm, or pass --skip-nonfinite to skip such steps."
        case .invalidOptions, .invalidOption: return "See `clip train --help`."
        case .resumeConflict:
            return
                "A resumed run keeps its recorded settings: leave the option out, or start a new run in another --output."
        case .noCheckpoint: return "Resume from the --output directory of an earlier run (it holds checkpoints/step-N)."
        case .outputInUse(let dir): return "Continue it with --resume \(dir), or choose another --output."
        case .corruptCheckpoint: return "Delete that checkpoint folder; the previous one is used then."
        case .unsafeLog: return "Move that file away, or choose another --output folder."
        }
    }
}
