import CLIPTensor
import CLIPWeights

/// Hands out a checkpoint's tensors by key to the modules being built, converting them to
/// Float32, checking shapes, and remembering which keys were taken so that leftovers can be
/// reported (strict loading names the offending key).
public final class ParameterStore {
    private let state: StateDict
    private var used: Set<String> = []
    /// Keys that carry no parameters in OpenAI's releases and are skipped silently.
    static let ignoredKeys: Set<String> = ["input_resolution", "context_length", "vocab_size"]

    public init(_ state: StateDict) { self.state = state }

    /// The tensor at `key`, which must have `shape`.
    public func tensor(_ key: String, shape: [Int]) throws -> Tensor {
        guard let w = state.tensors[key] else { throw CLIPModelError.missingKey(key, context: "loading weights") }
        guard w.shape == shape else { throw CLIPModelError.shapeMismatch(key: key, expected: shape, found: w.shape) }
        used.insert(key)
        return try ParameterStore.convert(w, key: key)
    }

    /// The scalar at `key` (a 0-d or one-element tensor).
    public func scalar(_ key: String) throws -> Float {
        guard let w = state.tensors[key] else { throw CLIPModelError.missingKey(key, context: "loading weights") }
        guard w.elementCount == 1 else { throw CLIPModelError.shapeMismatch(key: key, expected: [], found: w.shape) }
        used.insert(key)
        return try ParameterStore.convert(w, key: key).item
    }

    /// Marks `key` as consumed without reading it (e.g. BatchNorm's `num_batches_tracked`).
    public func skip(_ key: String) { used.insert(key) }

    /// Throws if any key was not consumed.
    public func checkAllUsed() throws {
        let left = state.tensors.keys.filter { !used.contains($0) && !ParameterStore.ignoredKeys.contains($0) }.sorted()
        if !left.isEmpty { throw CLIPModelError.unexpectedKeys(left) }
    }

    /// Float32 tensor from a checkpoint tensor of any floating-point storage type. Aligned
    /// float32 data in a memory-mapped file is used in place (no copy: the file's pages are the
    /// weights); everything else is converted into new memory.
    static func convert(_ w: WeightTensor, key: String) throws -> Tensor {
        if w.dtype == .float32 && w.isMemoryMapped, let base = w.withUnsafeBytes({ $0.baseAddress }),
           Int(bitPattern: base) % MemoryLayout<Float>.alignment == 0, w.elementCount > 0 {
            // The mapping stays alive as long as `MappedWeight` holds the WeightTensor. Kernels
            // never write to their inputs, so read-only pages are safe here.
            let storage = TensorStorage(borrowing: UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: Float.self)),
                                        count: w.elementCount, owner: MappedWeight(w))
            return Tensor(storage: storage, shape: w.shape, strides: Tensor.contiguousStrides(w.shape))
        }
        return try w.withUnsafeBytes { raw in
            switch w.dtype {
            case .float32: return Tensor(decoding: raw, format: .float32, shape: w.shape)
            case .float16: return Tensor(decoding: raw, format: .float16, shape: w.shape)
            case .bfloat16: return Tensor(decoding: raw, format: .bfloat16, shape: w.shape)
            case .float64:
                let values = (0..<w.elementCount).map { Float(raw.loadUnaligned(fromByteOffset: $0 * 8, as: Double.self)) }
                return Tensor(shape: w.shape, scalars: values)
            default:
                throw CLIPModelError.unsupportedDType(key: key, dtype: w.dtype.rawValue)
            }
        }
    }
}

/// Keeps a memory-mapped checkpoint tensor (and so its file mapping) alive for a borrowing Tensor.
final class MappedWeight: @unchecked Sendable {
    let weight: WeightTensor
    init(_ weight: WeightTensor) { self.weight = weight }
}

extension Tensor {
    /// A Float32 tensor from a checkpoint tensor stored as float32, float16, bfloat16 or float64
    /// (a zero-copy view of mapped, aligned float32 data).
    public init(converting weight: WeightTensor, key: String = "tensor") throws {
        self = try ParameterStore.convert(weight, key: key)
    }
}
