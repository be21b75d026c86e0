import Foundation

/// Errors from building or loading a model.
public enum CLIPModelError: LocalizedError, Equatable, Sendable {
    /// A tensor the architecture needs is absent.
    case missingKey(String, context: String)
    /// A tensor in the file is not used by the architecture.
    case unexpectedKeys([String])
    /// A tensor's shape differs from what the architecture needs.
    case shapeMismatch(key: String, expected: [Int], found: [Int])
    /// A tensor's element type cannot hold weights (e.g. int64 where floats are needed).
    case unsupportedDType(key: String, dtype: String)
    /// The weights describe an architecture this library does not implement.
    case unsupportedArchitecture(String)
    /// A configuration value is unusable.
    case invalidConfiguration(String)
    /// Token ids outside the vocabulary, or a batch of the wrong length.
    case invalidInput(String)
    /// A weight holds NaN or infinity (or `logit_scale` is so large that its exponential is).
    case nonFiniteWeight(key: String)

    /// Whether this is ``nonFiniteWeight(key:)``: a damaged model, also when a weight checked as
    /// it is read (``WeightCheck/whenRead``) fails while encoding rather than at load.
    public var isNonFiniteWeight: Bool {
        if case .nonFiniteWeight = self { return true }
        return false
    }

    public var errorDescription: String? {
        switch self {
        case .missingKey(let key, let context): return "missing weight '\(key)' (\(context))"
        case .unexpectedKeys(let keys):
            let shown = keys.prefix(5).joined(separator: ", ")
            return
                "unexpected weight\(keys.count == 1 ? "" : "s") \(shown)\(keys.count > 5 ? " and \(keys.count - 5) more" : "")"
        case .shapeMismatch(let key, let expected, let found):
            return "weight '\(key)' has shape \(found), the architecture needs \(expected)"
        case .unsupportedDType(let key, let dtype):
            return "weight '\(key)' has element type \(dtype), expected float32, float16, bfloat16 or float64"
        case .unsupportedArchitecture(let why): return "unsupported architecture: \(why)"
        case .invalidConfiguration(let why): return "invalid model configuration: \(why)"
        case .invalidInput(let why): return "invalid input: \(why)"
        case .nonFiniteWeight(let key):
            return key == "logit_scale"
                ? "weight 'logit_scale' is not finite, or exp(logit_scale) overflows"
                : "weight '\(key)' holds NaN or infinite values"
        }
    }

    public var recoverySuggestion: String? {
        switch self {
        case .missingKey, .unexpectedKeys, .shapeMismatch:
            return
                "Check that the file is a CLIP checkpoint (OpenAI, open_clip or Hugging Face CLIPModel) matching the configuration; `clip info --model FILE` shows what was inferred."
        case .unsupportedDType: return "Convert the checkpoint to float32 or float16."
        case .unsupportedArchitecture: return "swift-clip implements OpenAI's ViT and modified-ResNet CLIP towers."
        case .invalidConfiguration: return "Fix the configuration JSON or pass explicit head counts."
        case .invalidInput: return "Tokenize with the model's tokenizer and context length."
        case .nonFiniteWeight:
            return "The checkpoint is damaged or comes from a diverged training run; use an earlier checkpoint."
        }
    }
}
