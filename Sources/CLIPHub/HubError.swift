import Foundation

/// Failures while naming, fetching or converting models. Each case says what went wrong and,
/// through `recoverySuggestion`, what the user can do about it.
///
/// ```swift
/// do { _ = try ModelStore.fromEnvironment().fetch(.named("ViT-B/32")!) }
/// catch let error as HubError { print(error.localizedDescription, error.recoverySuggestion ?? "") }
/// ```
public enum HubError: LocalizedError, Equatable {
    /// The name is neither a known model nor an `hf:owner/name` reference.
    case unknownModel(String)
    /// `pathOrName` is neither an existing file or folder nor a known model name
    /// (`looksLikePath`: it has a `/` or a checkpoint extension, so a path was probably meant).
    case modelNotFound(String, looksLikePath: Bool)
    /// The model is not in the cache and downloading is switched off.
    case offline(url: String, destination: String)
    /// The server could not be reached (DNS, refused connection, TLS, ...).
    case unreachable(url: String, destination: String, reason: String)
    /// The server answered with an HTTP error status.
    case httpStatus(url: String, status: Int, destination: String)
    /// No byte arrived for `seconds`.
    case stalled(url: String, seconds: Double, destination: String)
    /// The downloaded bytes do not hash to the published SHA-256 (the file was deleted).
    case checksumMismatch(url: String, expected: String, actual: String)
    /// A cache file could not be created, written, locked or moved.
    case cacheIO(path: String, reason: String)
    /// A conversion was asked that the target format cannot hold.
    case unsupportedConversion(String)

    public var errorDescription: String? {
        switch self {
        case .unknownModel(let name):
            "unknown model name '\(name)'"
        case .modelNotFound(let text, let looksLikePath):
            looksLikePath
                ? "model file not found: \(text)" : "model file not found and not a known model name: \(text)"
        case .offline(let url, let destination):
            "\(destination) is not in the cache and downloads are off (--offline or CLIP_OFFLINE=1); it comes from \(url)"
        case .unreachable(let url, _, let reason):
            "cannot download \(url): \(reason)"
        case .httpStatus(let url, let status, _):
            "\(url) answered HTTP \(status)"
        case .stalled(let url, let seconds, _):
            "download of \(url) stalled: no data for \(Int(seconds.rounded())) s"
        case .checksumMismatch(let url, let expected, let actual):
            "\(url) has SHA-256 \(actual), expected \(expected); the download was deleted"
        case .cacheIO(let path, let reason):
            "cannot write \(path): \(reason)"
        case .unsupportedConversion(let detail):
            detail
        }
    }

    public var recoverySuggestion: String? {
        switch self {
        case .unknownModel:
            "`clip models` lists the names; pass a checkpoint path, or hf:owner/name for a Hugging Face repo."
        case .modelNotFound:
            "Pass a checkpoint path, a name from `clip models` (e.g. ViT-B/32), or hf:owner/name."
        case .offline(let url, let destination), .unreachable(let url, let destination, _),
            .httpStatus(let url, _, let destination),
            .stalled(let url, _, let destination):
            "On a machine with internet, download \(url) and place it at \(destination) (or set CLIP_MODEL_MIRROR to a reachable mirror)."
        case .checksumMismatch:
            "Retry; if it happens again the server or mirror serves a different file."
        case .cacheIO:
            "Check free space and permissions, or point CLIP_CACHE at a writable folder."
        case .unsupportedConversion:
            "Use --format openai, which holds every architecture."
        }
    }
}
