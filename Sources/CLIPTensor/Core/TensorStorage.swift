import Foundation

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
    /// True when this storage allocated its memory (false for borrowed memory).
    let isOwned: Bool
    private let owner: AnyObject?
    /// Packed panels of weight views of this storage (``PackedWeights``), under its lock.
    var packedWeights: PackedWeights.Cache?

    /// Allocates `count` uninitialised elements.
    public init(uninitializedCount count: Int) {
        precondition(count >= 0, "negative element count \(count)")
        let byteCount = max(count, 1) * MemoryLayout<Float>.stride
        let raw =
            StoragePool.take(byteCount: byteCount)
            ?? UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: 64)
        self.base = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        self.count = count
        self.isOwned = true
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
        self.isOwned = false
        self.owner = owner
    }

    deinit {
        guard isOwned else { return }
        let raw = UnsafeMutableRawPointer(base)
        if !StoragePool.give(raw, byteCount: max(count, 1) * MemoryLayout<Float>.stride) { raw.deallocate() }
    }
}

/// Keeps freed large buffers for reuse by size. A training step allocates the same sizes every
/// step; memory fresh from the system costs a page fault and zero-fill per page each time.
/// At most ``capacity`` bytes are kept; contents of a reused buffer are arbitrary, as for any
/// uninitialised storage.
enum StoragePool {
    /// Buffers smaller than this go straight to the allocator (cheap to allocate).
    static let minimumBytes = 1 << 16
    /// Most bytes kept at once (512 MB: RN50 at batch 16 frees more than 256 MB of distinct
    /// sizes per forward, and each miss is a fresh mapping the kernel faults in and zeroes —
    /// 6.5 % of its profile at 256 MB; its peak RSS is the same either way).
    static let capacity = 1 << 29
    private static let lock = NSLock()
    nonisolated(unsafe) private static var buffers: [Int: [UnsafeMutableRawPointer]] = [:]
    nonisolated(unsafe) private static var keptBytes = 0

    /// A kept buffer of exactly `byteCount` bytes, if any.
    static func take(byteCount: Int) -> UnsafeMutableRawPointer? {
        guard byteCount >= minimumBytes else { return nil }
        return lock.withLock {
            guard let p = buffers[byteCount]?.popLast() else { return nil }
            keptBytes -= byteCount
            return p
        }
    }

    /// Keeps `pointer` (allocated with 64-byte alignment) for reuse; false when the pool is full
    /// or the buffer is small, and the caller frees it.
    static func give(_ pointer: UnsafeMutableRawPointer, byteCount: Int) -> Bool {
        guard byteCount >= minimumBytes else { return false }
        return lock.withLock {
            guard keptBytes + byteCount <= capacity else { return false }
            buffers[byteCount, default: []].append(pointer)
            keptBytes += byteCount
            return true
        }
    }
}
