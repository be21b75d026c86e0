import Foundation

/// Reference-counted Float32 memory behind one or more ``Tensor`` views.
///
/// Storage is either owned (allocated here, 64-byte aligned for SIMD and BLAS), borrowed
/// from someone who keeps it alive (an `owner` object, e.g. a memory-mapped weight file), or
/// fp16 values borrowed the same way and widened to owned Float32 memory on first read of
/// ``base`` (a weight of an OpenAI fp16 checkpoint: the packed GEMM reads the fp16 values in
/// place, so a one-off embedding never writes a Float32 copy).
/// Views share storage; kernels always write into fresh storage unless a function says
/// "in place".
public final class TensorStorage: @unchecked Sendable {
    /// First element. Reading it widens fp16 storage (once, under a lock).
    public var base: UnsafeMutablePointer<Float> { eagerBase ?? widened() }
    /// Number of Float32 elements.
    public let count: Int
    /// True when this storage allocated its memory (false for borrowed memory).
    let isOwned: Bool
    private let owner: AnyObject?
    /// Packed panels of weight views of this storage (``PackedWeights``), under its lock.
    var packedWeights: PackedWeights.Cache?
    /// Whether a checking reader met a non-finite value, under ``readLock``.
    private var readNonFinite = false
    /// Guards every storage's `readNonFinite` (set at most once, read once per embedding).
    private static let readLock = NSLock()
    /// The Float32 memory, nil for fp16 storage (then ``base`` widens into `half`).
    private let eagerBase: UnsafeMutablePointer<Float>?
    /// fp16 storage: the borrowed values and, once ``base`` was read, their widened copy.
    private let half: HalfValues?

    private final class HalfValues: @unchecked Sendable {
        /// `count` binary16 bit patterns.
        let bits: UnsafePointer<UInt16>
        /// The widened values, under `lock`.
        var widened: UnsafeMutablePointer<Float>?
        let lock = NSLock()
        init(_ bits: UnsafePointer<UInt16>) { self.bits = bits }
    }

    /// Allocates `count` uninitialised elements.
    public init(uninitializedCount count: Int) {
        precondition(count >= 0, "negative element count \(count)")
        let byteCount = max(count, 1) * MemoryLayout<Float>.stride
        let raw = StoragePool.take(byteCount: byteCount) ?? TensorStorage.allocate(byteCount: byteCount)
        self.eagerBase = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        self.count = count
        self.isOwned = true
        self.owner = nil
        self.half = nil
    }

    /// Allocates `count` zero-filled elements.
    public convenience init(zeroedCount count: Int) {
        self.init(uninitializedCount: count)
        base.initialize(repeating: 0, count: count)
    }

    /// Wraps memory that `owner` keeps alive (no copy). The memory must hold `count` aligned floats.
    public init(borrowing base: UnsafeMutablePointer<Float>, count: Int, owner: AnyObject) {
        self.eagerBase = base
        self.count = count
        self.isOwned = false
        self.owner = owner
        self.half = nil
    }

    /// Wraps `count` fp16 values (binary16 bit patterns, 2-byte aligned) that `owner` keeps
    /// alive, widened to Float32 on the first read of ``base``. Widening is exact, so every
    /// reader sees the same values whether it reads ``halfValues`` or ``base``.
    public init(borrowingHalf bits: UnsafePointer<UInt16>, count: Int, owner: AnyObject) {
        self.eagerBase = nil
        self.count = count
        self.isOwned = false
        self.owner = owner
        self.half = HalfValues(bits)
    }

    /// The fp16 values of fp16 storage that has not been widened yet, else nil: kernels that
    /// can read fp16 (the packed GEMM) use them instead of ``base``.
    var halfValues: UnsafePointer<UInt16>? {
        guard let half else { return nil }
        return half.lock.withLock { half.widened == nil ? half.bits : nil }
    }

    /// Whether a reader met a non-finite value (±Inf or NaN) in this storage. The readers of
    /// fp16 storage (the packed GEMM, its weight packing, the widening behind ``base``) count
    /// them in the pass that reads the values, and the embedding lookup checks the rows it
    /// copies, so a weight checked on use needs no scan of its own. Other readers do not check.
    public var hasReadNonFinite: Bool { TensorStorage.readLock.withLock { readNonFinite } }

    /// Records that a reader met a non-finite value.
    func noteNonFinite() { TensorStorage.readLock.withLock { readNonFinite = true } }

    /// Whether every value is finite, by a scan of all of them on every core (fp16 storage:
    /// of the fp16 values, without widening them).
    public var valuesAreFinite: Bool {
        if let half { return HalfPrecision.countNonFiniteHalf(half.bits, count: count) == 0 }
        return Tensor(storage: self, shape: [count], strides: [1]).isAllFinite
    }

    /// Whether the Float32 values exist in memory (always, except for fp16 storage not read
    /// through ``base`` yet).
    public var isWidened: Bool {
        guard let half else { return true }
        return half.lock.withLock { half.widened != nil }
    }

    private func widened() -> UnsafeMutablePointer<Float> {
        guard let half else { preconditionFailure("storage without memory") }
        return half.lock.withLock {
            if let widened = half.widened { return widened }
            let byteCount = max(count, 1) * MemoryLayout<Float>.stride
            let raw = StoragePool.take(byteCount: byteCount) ?? TensorStorage.allocate(byteCount: byteCount)
            let floats = raw.bindMemory(to: Float.self, capacity: max(count, 1))
            if HalfPrecision.widenHalf(UnsafeRawPointer(half.bits), floats, count: count) > 0 { noteNonFinite() }
            half.widened = floats
            return floats
        }
    }

    /// Buffers of at least this many bytes are placed on 2 MB boundaries and offered to the
    /// kernel as transparent huge pages: a fresh buffer is faulted in 2 MB at a time instead
    /// of 4 KB (converting a tower's fp16 weights spent a quarter of its time in page faults),
    /// and streaming packed weight panels needs fewer TLB entries. `CLIP_HUGE_PAGES=0` in the
    /// environment turns the advice off (a kernel that compacts memory to find huge pages can
    /// stall a fault on a fragmented machine).
    static let hugePageBytes = 4 << 20
    static let usesHugePages = ProcessInfo.processInfo.environment["CLIP_HUGE_PAGES"] != "0"

    static func allocate(byteCount: Int) -> UnsafeMutableRawPointer {
        guard byteCount >= hugePageBytes && usesHugePages else {
            return .allocate(byteCount: byteCount, alignment: 64)
        }
        let huge = 2 << 20
        let raw = UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: huge)
        #if os(Linux)
            // Advice only: where huge pages are off, nothing changes.
            _ = madvise(raw, byteCount / huge * huge, MADV_HUGEPAGE)
        #endif
        return raw
    }

    deinit {
        let memory = isOwned ? eagerBase : half?.widened
        guard let memory else { return }
        let raw = UnsafeMutableRawPointer(memory)
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
