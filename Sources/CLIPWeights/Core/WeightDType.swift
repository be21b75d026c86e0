// Element types found in CLIP checkpoints; names follow safetensors' dtype strings
// (huggingface/safetensors `Dtype`, 0.4.5) and torch's typed storage classes (torch 2.5).

/// The element type of a ``WeightTensor``.
///
/// ```swift
/// let t = try WeightLoader.load(url).tensors["logit_scale"]
/// if t?.dtype == .float16 { /* convert before use */ }
/// ```
public enum WeightDType: String, Sendable, CaseIterable, Hashable {
    case float32, float16, bfloat16, float64, int64, int32, int16, int8, uint8, bool

    /// Size of one element in bytes.
    public var elementSize: Int {
        switch self {
        case .float64, .int64: 8
        case .float32, .int32: 4
        case .float16, .bfloat16, .int16: 2
        case .int8, .uint8, .bool: 1
        }
    }

    /// Whether the type is a floating-point type (the only kind model parameters use).
    public var isFloatingPoint: Bool {
        switch self {
        case .float32, .float16, .bfloat16, .float64: true
        default: false
        }
    }

    /// The safetensors header spelling (`F32`, `F16`, `BF16`, ...).
    public var safetensorsName: String {
        switch self {
        case .float32: "F32"
        case .float16: "F16"
        case .bfloat16: "BF16"
        case .float64: "F64"
        case .int64: "I64"
        case .int32: "I32"
        case .int16: "I16"
        case .int8: "I8"
        case .uint8: "U8"
        case .bool: "BOOL"
        }
    }

    /// Parses a safetensors dtype string; `nil` for types CLIP never uses (F8, U16, ...).
    public init?(safetensorsName: String) {
        guard let match = WeightDType.allCases.first(where: { $0.safetensorsName == safetensorsName }) else {
            return nil
        }
        self = match
    }

    /// Parses a torch storage class name as it appears in a pickle (`FloatStorage`, `HalfStorage`, ...).
    init?(torchStorageName: String) {
        switch torchStorageName {
        case "FloatStorage": self = .float32
        case "HalfStorage": self = .float16
        case "BFloat16Storage": self = .bfloat16
        case "DoubleStorage": self = .float64
        case "LongStorage": self = .int64
        case "IntStorage": self = .int32
        case "ShortStorage": self = .int16
        case "CharStorage": self = .int8
        case "ByteStorage": self = .uint8
        case "BoolStorage": self = .bool
        default: return nil
        }
    }
}
