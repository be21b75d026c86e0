/// Reference-counted Float32 memory behind one or more ``Tensor`` views.
///
/// Storage is either owned (allocated here, 64-byte aligned for SIMD and BLAS) or borrowed
/// from someone who keeps it alive (an `owner` object, e.g. a memory-mapped weight file).
/// Views share storage; kernels always write into fresh storage unless a function says
/// "in place".
public final class TensorStorage: @unchecked Sendable {
    /// First element.
    public let base: UnsafeMutablePointer<Float>
    /// Number of Float32 elements.
    public let count: Int
    private let owned: Bool
    private let owner: AnyObject?

    /// Allocates `count` uninitialised elements.
    public init(uninitializedCount count: Int) {
        precondition(count >= 0, "negative element count \(count)")
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * MemoryLayout<Float>.stride, alignment: 64)
        self.base = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        self.count = count
        self.owned = true
        self.owner = nil
    }

    /// Allocates `count` zero-filled elements.
    public convenience init(zeroedCount count: Int) {
        self.init(uninitializedCount: count)
        base.initialize(repeating: 0, count: count)
    }

    /// Wraps memory that `owner` keeps alive (no copy). The memory must hold `count` aligned floats.
    public init(borrowing base: UnsafeMutablePointer<Float>, count: Int, owner: AnyObject) {
        self.base = base
        self.count = count
        self.owned = false
        self.owner = owner
    }

    deinit {
        if owned { UnsafeMutableRawPointer(base).deallocate() }
    }
}
