import CLIPTensor
import CLIPWeights

/// Hands out a model's tensors by checkpoint key to the modules being built, and remembers
/// every parameter and buffer it gave out under that key.
///
/// Two sources: a loaded ``StateDict`` (strict: shapes are checked, leftovers reported by
/// ``checkAllUsed()``), or an initialiser that makes fresh tensors for training from scratch.
/// With `trainable`, parameters are copies that require gradients; otherwise they are
/// constants (float32 data in a memory-mapped file is used in place).
public final class ParameterStore {
    private enum Source {
        case state(StateDict)
        case initializer((String, [Int]) -> Tensor)
    }

    private let source: Source
    private var used: Set<String> = []
    /// Whether parameters require gradients.
    public let trainable: Bool
    /// Parameters whose key starts with one of these stay constants even when `trainable`
    /// (a locked tower, as in LiT).
    public var frozenPrefixes: [String] = []
    /// Every parameter handed out, in construction order, by checkpoint key.
    public private(set) var parameters: [(key: String, variable: Variable)] = []
    /// Every running statistic handed out (BatchNorm), by the key of its mean.
    public private(set) var statistics: [(prefix: String, statistics: RunningStatistics)] = []
    /// The arithmetic of the linear layers built from this store: with `.int8` (and a store that
    /// is not trainable) each ``Linear`` quantises its weight at load (see ``int8Weights(_:weight:)``).
    public var precision: Precision = .fp32
    /// int8 weights read as such from the file (`KEY` int8 + `KEY.scale`), packed, by key.
    private var storedInt8: [String: Int8Weights] = [:]
    /// When fp16 weights read in place are checked for NaN and infinity (``WeightCheck``).
    public var weightCheck: WeightCheck = .atLoad
    /// The weights handed out without a scan (``WeightCheck/whenRead``), checked by their readers.
    var uncheckedWeights = UncheckedWeights()

    /// Keys that carry no parameters in OpenAI's releases and are skipped silently.
    static let ignoredKeys: Set<String> = ["input_resolution", "context_length", "vocab_size"]

    /// Reads tensors from a checkpoint.
    public init(_ state: StateDict, trainable: Bool = false) {
        source = .state(state)
        self.trainable = trainable
    }

    /// Makes tensors with `initializer(key, shape)` (training from scratch).
    public init(trainable: Bool = true, initializer: @escaping (String, [Int]) -> Tensor) {
        source = .initializer(initializer)
        self.trainable = trainable
    }

    /// The raw tensor at `key`, which must have `shape`. `checkedByReader`: every reader of the
    /// tensor reports a non-finite value it meets (an embedding table), so under
    /// ``WeightCheck/whenRead`` it is not scanned here whatever its type.
    public func tensor(_ key: String, shape: [Int], checkedByReader: Bool = false) throws -> Tensor {
        switch source {
        case .initializer(let make):
            used.insert(key)
            let t = make(key, shape)
            precondition(t.shape == shape, "initializer made \(t.shape) for \(key), expected \(shape)")
            return t
        case .state(let state):
            guard let w = state.tensors[key] else { throw CLIPModelError.missingKey(key, context: "loading weights") }
            guard w.shape == shape || (shape.isEmpty && w.elementCount == 1) else {
                throw CLIPModelError.shapeMismatch(key: key, expected: shape, found: w.shape)
            }
            used.insert(key)
            if w.dtype == .int8, let scale = state.tensors[key + Int8Checkpoint.scaleSuffix] {
                used.insert(key + Int8Checkpoint.scaleSuffix)
                return try int8Tensor(w, scale: scale, key: key, shape: shape)
            }
            // Every weight passes here exactly once per load: the one place to refuse NaN/Inf,
            // which would otherwise give null embeddings with a successful exit.
            let t: Tensor
            let scan = weightCheck == .atLoad
            if let lazy = try ParameterStore.halfInPlace(
                w, key: key, trainable: trainable, precision: precision, scan: scan)
            {
                // The file's fp16 pages are the weights now: they stay mapped.
                if !scan { uncheckedWeights.append(key: key, storage: lazy.storage) }
                return lazy.shape == shape ? lazy : lazy.reshaped(shape)
            } else if w.dtype == .float16 {
                // Counted while widening, so fp16 weights (OpenAI's releases) are read once.
                let (converted, nonFinite) = w.withUnsafeBytes { Tensor.decodingHalf($0, shape: w.shape) }
                guard nonFinite == 0 else { throw CLIPModelError.nonFiniteWeight(key: key) }
                t = converted
            } else {
                t = try ParameterStore.convert(w, key: key)
                if checkedByReader && weightCheck == .whenRead && !trainable {
                    uncheckedWeights.append(key: key, storage: t.storage)
                } else {
                    guard t.isAllFinite else { throw CLIPModelError.nonFiniteWeight(key: key) }
                }
            }
            // The file's copy of a converted tensor is not read again: its pages need not stay
            // resident beside the float32 copy (a ViT-B/32 image tower: 176 MB of fp16 pages).
            if w.dtype != .float32 { w.releaseMappedPages() }
            let shaped = t.shape == shape ? t : t.reshaped(shape)
            // Trainable weights are updated by the optimiser: never alias the (read-only) file.
            return trainable ? shaped.copy() : shaped
        }
    }

    /// The int8 form of the weight (O, I) `weight` loaded from `key`, when the store computes
    /// in int8: the file's own int8 values when it stored them, else `weight` quantised now.
    /// Nil for float32 stores and trainable ones (int8 is for inference).
    public func int8Weights(_ key: String, weight: Variable) -> Int8Weights? {
        guard precision == .int8, !weight.requiresGrad, weight.shape.count == 2 else { return nil }
        return storedInt8[key] ?? Int8Weights(quantizing: weight.value)
    }

    /// A float tensor from an int8 checkpoint tensor `w` (O, I) and its per-row scales (O);
    /// keeps the values (packed) for ``int8Weights(_:weight:)`` when the store computes in int8.
    private func int8Tensor(_ w: WeightTensor, scale: WeightTensor, key: String, shape: [Int]) throws -> Tensor {
        let scaleKey = key + Int8Checkpoint.scaleSuffix
        guard shape.count == 2, scale.elementCount == shape[0] else {
            throw CLIPModelError.shapeMismatch(key: scaleKey, expected: [shape.first ?? 0], found: scale.shape)
        }
        let scales = try ParameterStore.convert(scale, key: scaleKey).scalars
        guard scales.allSatisfy({ $0.isFinite && $0 > 0 }) else { throw CLIPModelError.nonFiniteWeight(key: scaleKey) }
        if precision == .int8 && !trainable {
            storedInt8[key] = w.withUnsafeBytes {
                Int8Weights(values: $0, scales: scales, outputs: shape[0], inputs: shape[1])
            }
        }
        // Fresh memory either way: trainable stores need no further copy.
        return w.withUnsafeBytes {
            Int8Weights.dequantize(values: $0, scales: scales, outputs: shape[0], inputs: shape[1])
        }
    }

    /// A parameter at `key`: a Variable that requires gradients when the store is trainable.
    /// `checkedByReader` as for ``tensor(_:shape:checkedByReader:)``.
    public func parameter(_ key: String, shape: [Int], checkedByReader: Bool = false) throws -> Variable {
        let frozen = frozenPrefixes.contains { key.hasPrefix($0) }
        let v = Variable(
            try tensor(key, shape: shape, checkedByReader: checkedByReader), requiresGrad: trainable && !frozen)
        parameters.append((key, v))
        return v
    }

    /// BatchNorm running statistics under `prefix` (`running_mean`, `running_var`,
    /// `num_batches_tracked`).
    public func runningStatistics(_ prefix: String, channels: Int) throws -> RunningStatistics {
        let mean = try tensor("\(prefix).running_mean", shape: [channels])
        let variance = try tensor("\(prefix).running_var", shape: [channels])
        var tracked = 0
        switch source {
        case .state(let state):
            if let w = state.tensors["\(prefix).num_batches_tracked"], w.dtype == .int64, w.elementCount == 1 {
                tracked = Int(w.withUnsafeBytes { $0.loadUnaligned(as: Int64.self) })
            }
        case .initializer: break
        }
        used.insert("\(prefix).num_batches_tracked")
        let stats = RunningStatistics(mean: mean, variance: variance, batchesTracked: tracked)
        statistics.append((prefix, stats))
        return stats
    }

    /// Throws if any key of the checkpoint (among those `isMine` accepts: one tower's keys when
    /// the towers are built separately) was not consumed.
    public func checkAllUsed(where isMine: (String) -> Bool = { _ in true }) throws {
        guard case .state(let state) = source else { return }
        let left = state.tensors.keys.filter {
            isMine($0) && !used.contains($0) && !ParameterStore.ignoredKeys.contains($0)
        }.sorted()
        if !left.isEmpty { throw CLIPModelError.unexpectedKeys(left) }
    }

    /// An fp16 tensor of a memory-mapped file used where it is, for inference in fp32 where
    /// linear layers read fp16 (``Tensor/readsHalfWeightsInPlace``): no Float32 copy is written
    /// (ViT-B/32's image tower: 352 MB of fresh pages the kernel would fault in and zero, the
    /// largest cost of a first image embedding). Nil where the tensor must be converted now.
    /// Without `scan` the values are not read here: the kernels check them as they read them.
    static func halfInPlace(
        _ w: WeightTensor, key: String, trainable: Bool, precision: Precision, scan: Bool = true
    ) throws -> Tensor? {
        guard w.dtype == .float16, w.isMemoryMapped, !trainable, precision == .fp32, Tensor.readsHalfWeightsInPlace,
            w.elementCount > 0, let base = w.withUnsafeBytes({ $0.baseAddress }),
            Int(bitPattern: base) % MemoryLayout<UInt16>.alignment == 0
        else { return nil }
        let bits = base.assumingMemoryBound(to: UInt16.self)
        guard !scan || HalfPrecision.countNonFiniteHalf(bits, count: w.elementCount) == 0 else {
            throw CLIPModelError.nonFiniteWeight(key: key)
        }
        return Tensor(borrowingHalf: bits, shape: w.shape, owner: MappedWeight(w))
    }

    /// Float32 tensor from a checkpoint tensor of any floating-point storage type. Aligned
    /// float32 data in a memory-mapped file is used in place (no copy: the file's pages are the
    /// weights); everything else is converted into new memory.
    static func convert(_ w: WeightTensor, key: String) throws -> Tensor {
        if w.dtype == .float32 && w.isMemoryMapped, let base = w.withUnsafeBytes({ $0.baseAddress }),
            Int(bitPattern: base) % MemoryLayout<Float>.alignment == 0, w.elementCount > 0
        {
            // The mapping stays alive as long as `MappedWeight` holds the WeightTensor. Kernels
            // never write to their inputs, so read-only pages are safe here.
            let storage = TensorStorage(
                borrowing: UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: Float.self)),
                count: w.elementCount, owner: MappedWeight(w))
            return Tensor(storage: storage, shape: w.shape, strides: Tensor.contiguousStrides(w.shape))
        }
        return try w.withUnsafeBytes { raw in
            switch w.dtype {
            case .float32: return Tensor(decoding: raw, format: .float32, shape: w.shape)
            case .float16: return Tensor(decoding: raw, format: .float16, shape: w.shape)
            case .bfloat16: return Tensor(decoding: raw, format: .bfloat16, shape: w.shape)
            case .float64:
                let values = (0..<w.elementCount).map {
                    Float(raw.loadUnaligned(fromByteOffset: $0 * 8, as: Double.self))
                }
                return Tensor(shape: w.shape, scalars: values)
            default:
                throw CLIPModelError.unsupportedDType(key: key, dtype: w.dtype.rawValue)
            }
        }
    }
}

/// BatchNorm's running mean and variance, updated in place during training
/// (PyTorch: momentum 0.1, unbiased batch variance).
public final class RunningStatistics: @unchecked Sendable {
    public var mean: Tensor
    public var variance: Tensor
    public var batchesTracked: Int

    public init(mean: Tensor, variance: Tensor, batchesTracked: Int = 0) {
        self.mean = mean
        self.variance = variance
        self.batchesTracked = batchesTracked
    }

    /// running ← (1 − m) · running + m · batch, with the batch variance made unbiased (n / (n − 1)).
    public func update(batchMean: [Float], batchVariance: [Float], count: Int, momentum: Float = 0.1) {
        let correction = count > 1 ? Float(count) / Float(count - 1) : 1
        let m = mean.scalars, v = variance.scalars
        mean = Tensor(shape: mean.shape, scalars: zip(m, batchMean).map { (1 - momentum) * $0 + momentum * $1 })
        variance = Tensor(
            shape: variance.shape,
            scalars: zip(v, batchVariance).map { (1 - momentum) * $0 + momentum * $1 * correction })
        batchesTracked += 1
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
