/// Where a tensor's bytes live: a slice of a memory-mapped file (zero copy) or an owned buffer
/// (for tensors that had to be made contiguous, concatenated or transposed).
enum WeightStorage: Sendable {
    case mapped(MappedFile, Range<Int>)
    case owned([UInt8])

    var count: Int {
        switch self {
        case .mapped(_, let range): range.count
        case .owned(let bytes): bytes.count
        }
    }

    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        switch self {
        case .mapped(let file, let range): try body(file.slice(range))
        case .owned(let bytes): try bytes.withUnsafeBytes(body)
        }
    }

    /// Bytes `range` of this storage, still zero-copy when mapped.
    func slice(_ range: Range<Int>) -> WeightStorage {
        switch self {
        case .mapped(let file, let whole):
            .mapped(file, (whole.lowerBound + range.lowerBound)..<(whole.lowerBound + range.upperBound))
        case .owned(let bytes): .owned(Array(bytes[range]))
        }
    }
}

/// One raw tensor from a checkpoint: element type, shape and bytes in C-contiguous (row-major)
/// order, little-endian. No conversion happens here; fp16/bf16 are converted by the tensor engine.
///
/// Bytes are a zero-copy view of the memory-mapped file when the format allows, and are not
/// necessarily aligned to the element size: read them with `loadUnaligned` or copy them.
///
/// ```swift
/// let w = state.tensors["visual.proj"]!
/// let floats: [Float] = w.withUnsafeBytes { raw in
///     (0..<w.elementCount).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) }
/// }
/// ```
public struct WeightTensor: Sendable {
    /// The element type.
    public let dtype: WeightDType
    /// The shape, outermost dimension first; `[]` for a scalar.
    public let shape: [Int]
    let storage: WeightStorage

    init(dtype: WeightDType, shape: [Int], storage: WeightStorage) {
        self.dtype = dtype
        self.shape = shape
        self.storage = storage
    }

    /// Creates a tensor that owns `bytes` (C-contiguous, little-endian).
    ///
    /// - Precondition: `bytes.count` equals the element count times the element size.
    public init(dtype: WeightDType, shape: [Int], bytes: [UInt8]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        precondition(
            bytes.count == shape.reduce(1, *) * dtype.elementSize,
            "\(bytes.count) bytes do not hold a \(dtype) tensor of shape \(shape)")
        self.init(dtype: dtype, shape: shape, storage: .owned(bytes))
    }

    /// Creates a `float32` tensor from values in row-major order.
    ///
    /// - Precondition: `values.count` equals the product of `shape`.
    public init(float32 values: [Float], shape: [Int]) {
        precondition(values.count == shape.reduce(1, *), "\(values.count) values do not fill shape \(shape)")
        var bytes = [UInt8](repeating: 0, count: values.count * 4)
        bytes.withUnsafeMutableBytes { raw in
            for (i, v) in values.enumerated() {
                raw.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: i * 4, as: UInt32.self)
            }
        }
        self.init(dtype: .float32, shape: shape, storage: .owned(bytes))
    }

    /// Number of elements (1 for a scalar).
    public var elementCount: Int { shape.reduce(1, *) }

    /// Number of bytes (`elementCount * dtype.elementSize`).
    public var byteCount: Int { elementCount * dtype.elementSize }

    /// Whether the bytes are a view into a memory-mapped file rather than a private copy.
    public var isMemoryMapped: Bool {
        if case .mapped = storage { return true }
        return false
    }

    /// Calls `body` with the tensor's bytes (C-contiguous, little-endian, possibly unaligned).
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try storage.withUnsafeBytes(body)
    }

    /// A copy of the bytes.
    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }

    /// Tells the system that this process is done reading the tensor's bytes for now: the
    /// memory-mapped pages that lie wholly inside them leave the resident set (the data stays
    /// valid; reading it again pages it back in from the file). Nothing happens for owned
    /// bytes. Call it after converting a tensor whose source is not used in place, such as fp16
    /// weights widened to float32, so that a load's peak memory holds the converted copy only.
    public func releaseMappedPages() {
        if case .mapped(let file, let range) = storage { file.releasePages(range) }
    }
}
