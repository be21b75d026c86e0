// Symbols used in shape comments across CLIPTensor:
//   B batch, T tokens, C channels/width, H heads, D head width (C / H),
//   M, N, K GEMM dimensions (C(M,N) = A(M,K) · B(K,N)).

/// An n-dimensional Float32 array: a shape, strides (in elements) and an offset into shared
/// ``TensorStorage``.
///
/// Views (``reshaped(_:)``, ``permuted(_:)``, ``transposed(_:_:)``, ``sliced(dim:range:)``) share
/// storage and copy only when the memory layout makes it unavoidable. Kernels produce new
/// contiguous tensors. Shape mismatches are programmer errors and stop with a `precondition`
/// that prints both shapes.
///
/// ```swift
/// let x = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
/// let y = x.transposed(0, 1)          // (3, 2) view, no copy
/// let z = Tensor.matmul(x, y)         // (2, 2)
/// ```
public struct Tensor: @unchecked Sendable {
    /// Size of each dimension.
    public let shape: [Int]
    /// Distance in elements between neighbours along each dimension.
    public let strides: [Int]
    /// Index of the first element in `storage`.
    public let offset: Int
    /// The memory this view reads.
    public private(set) var storage: TensorStorage

    /// A view onto `storage`.
    public init(storage: TensorStorage, shape: [Int], strides: [Int], offset: Int = 0) {
        precondition(shape.count == strides.count, "shape \(shape) and strides \(strides) differ in rank")
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        self.storage = storage
        self.shape = shape
        self.strides = strides
        self.offset = offset
    }

    /// A new contiguous tensor of `shape` with uninitialised contents (kernels fill it).
    public init(uninitializedShape shape: [Int]) {
        let storage = TensorStorage(uninitializedCount: Tensor.elementCount(shape))
        self.init(storage: storage, shape: shape, strides: Tensor.contiguousStrides(shape))
    }

    /// A new contiguous tensor of zeros.
    public init(zeros shape: [Int]) {
        let storage = TensorStorage(zeroedCount: Tensor.elementCount(shape))
        self.init(storage: storage, shape: shape, strides: Tensor.contiguousStrides(shape))
    }

    /// A new tensor filled with `value`.
    public init(repeating value: Float, shape: [Int]) {
        self.init(uninitializedShape: shape)
        storage.base.update(repeating: value, count: count)
    }

    /// A new contiguous tensor holding `scalars` in row-major order.
    public init(shape: [Int], scalars: [Float]) {
        precondition(
            Tensor.elementCount(shape) == scalars.count,
            "shape \(shape) holds \(Tensor.elementCount(shape)) elements, got \(scalars.count)")
        self.init(uninitializedShape: shape)
        scalars.withUnsafeBufferPointer { src in
            if let s = src.baseAddress { storage.base.update(from: s, count: scalars.count) }
        }
    }

    /// A rank-0 tensor.
    public init(scalar: Float) { self.init(shape: [], scalars: [scalar]) }

    /// Number of dimensions.
    public var rank: Int { shape.count }
    /// Number of elements.
    public var count: Int { Tensor.elementCount(shape) }

    /// True when elements are laid out row-major without gaps.
    public var isContiguous: Bool {
        var expected = 1
        for d in stride(from: shape.count - 1, through: 0, by: -1) where shape[d] != 1 {
            if strides[d] != expected { return false }
            expected *= shape[d]
        }
        return true
    }

    /// Pointer to the first element of this view.
    public var baseAddress: UnsafeMutablePointer<Float> { storage.base + offset }

    /// Size of dimension `d`; negative `d` counts from the end.
    public func size(_ d: Int) -> Int { shape[d < 0 ? d + rank : d] }

    /// The elements in row-major order.
    public var scalars: [Float] {
        let c = contiguous()
        return Array(UnsafeBufferPointer(start: c.baseAddress, count: c.count))
    }

    /// The single element of a one-element tensor.
    public var item: Float {
        precondition(count == 1, "item needs exactly one element, shape is \(shape)")
        return contiguous().baseAddress.pointee
    }

    /// Calls `body` with the contiguous elements (copying first only when this view is not contiguous).
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        let c = contiguous()
        return try body(UnsafeBufferPointer(start: c.baseAddress, count: c.count))
    }

    /// Row-major strides for `shape`.
    public static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var s = 1
        for d in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[d] = s
            s *= shape[d]
        }
        return strides
    }

    /// True when this view is contiguous, covers its own allocated memory, and nothing else
    /// references that memory: an op may then write into it in place (gradient accumulation).
    mutating func isUniquelyOwnedAndContiguous() -> Bool {
        isContiguous && storage.isOwned && isKnownUniquelyReferenced(&storage)
    }

    /// Product of the dimensions (1 for rank 0).
    public static func elementCount(_ shape: [Int]) -> Int { shape.reduce(1, *) }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let preview = count <= 8 ? "\(scalars)" : "\(Array(scalars.prefix(8)))…"
        return "Tensor(shape: \(shape), \(preview))"
    }
}
