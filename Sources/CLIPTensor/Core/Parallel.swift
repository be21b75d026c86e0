import CBLAS
import CTensorKernels
import Dispatch
import Foundation

/// A pointer that may cross into concurrently running closures. Kernels guarantee that
/// concurrent writers touch disjoint elements.
public struct SendablePointer<Element>: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Element>
    public init(_ pointer: UnsafeMutablePointer<Element>) { self.pointer = pointer }
}

/// Runs the kernels on all cores: elementwise work, norms, im2col, attention heads, and the
/// row or column blocks of large GEMMs.
///
/// BLAS itself always runs single-threaded (see ``BLAS``): all threading is ours, so nested
/// parallel regions cannot oversubscribe the cores, and a GEMM's blocking depends only on its
/// shape and ``threadCount`` — results are bit-for-bit reproducible whatever else the
/// process is doing (bit-exact training resume relies on that).
public enum Parallel {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var _threadCount = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// Number of threads the kernels use (default: active processor count). Setting it also
    /// sets the BLAS thread count.
    public static var threadCount: Int {
        get { lock.withLock { _threadCount } }
        set {
            precondition(newValue >= 1, "thread count must be at least 1, got \(newValue)")
            lock.withLock { _threadCount = newValue }
        }
    }

    /// Calls `body` on disjoint ranges covering `0..<count`, in parallel when the work is
    /// large enough. `grain` is the smallest range worth a thread of its own.
    public static func forEach(_ count: Int, grain: Int = 1, _ body: @Sendable (Range<Int>) -> Void) {
        if count <= 0 { return }
        let threads = threadCount
        let chunks = min(threads, max(1, count / max(grain, 1)))
        if chunks <= 1 {
            body(0..<count)
            return
        }
        run(chunks, threads: threads) { c in
            let start = count * c / chunks, end = count * (c + 1) / chunks
            if start < end { body(start..<end) }
        }
    }

    /// Runs `body` for every index in `0..<count` on the engine's pool (`clip_pool.c`: workers
    /// that spin briefly between regions, so a batch-1 forward pass does not pay a thread
    /// wake-up per layer), or on libdispatch when the pool is busy with another thread's region
    /// or the call comes from inside a region.
    private static func run(_ count: Int, threads: Int, _ body: @Sendable (Int) -> Void) {
        let ran = withoutActuallyEscaping(body) { task in
            var task = task
            return withUnsafeMutablePointer(to: &task) { pointer in
                clip_pool_run(
                    count, Int32(threads),
                    { context, index in
                        context!.assumingMemoryBound(to: (@Sendable (Int) -> Void).self).pointee(index)
                    }, pointer)
            }
        }
        if ran == 0 { DispatchQueue.concurrentPerform(iterations: count, execute: body) }
    }

    /// Calls `body` on consecutive ranges of `chunk` elements (the last one shorter) covering
    /// `0..<count`, handed out one at a time: for memory-bound passes over large buffers
    /// (finiteness scans of mapped weights) where a core may be late or busy with other work
    /// (the tokenizer being built beside a first text query), so the other takes over its share.
    public static func forEachChunk(_ count: Int, chunk: Int, _ body: @Sendable (Range<Int>) -> Void) {
        if count <= 0 { return }
        let size = max(chunk, 1)
        forEachIndex((count + size - 1) / size) { c in body(c * size..<min(count, (c + 1) * size)) }
    }

    /// Elements per task of a finiteness scan: 1 MB of fp16, 2 MB of Float32, so a text
    /// tower's 1M-element weights are split across the cores too.
    public static let scanChunk = 1 << 19

    /// Whether model inference computes each batch entry with its own BLAS calls (one per
    /// sequence and fixed column chunk, see `sequenceSGEMM`), so that an input's result is bit
    /// for bit the same whatever else shares its batch: a text embedded alone, in `clip embed`'s
    /// batch or in a server batch. On by default. It applies to linear layers on (S, T, I),
    /// rank-3 `matmul`, `rowwiseMatmul` and patchify convolutions, and in the differentiable ops
    /// only when no operand needs gradients (training keeps one product over all rows). Off, large
    /// batches run one BLAS call over all rows (the products about 15–30% faster here) and
    /// results differ by a few ulps between batch compositions. Set it once, before running models
    /// (the environment variable `CLIP_BATCH_INVARIANT=0` turns it off at startup, for comparisons).
    nonisolated(unsafe) public static var batchInvariant =
        ProcessInfo.processInfo.environment["CLIP_BATCH_INVARIANT"] != "0"

    /// Like ``forEach(_:grain:_:)`` but hands out single indices dynamically, for uneven work
    /// (e.g. one attention head per index).
    public static func forEachIndex(_ count: Int, _ body: @Sendable (Int) -> Void) {
        if count <= 0 { return }
        let threads = threadCount
        if threads <= 1 || count == 1 {
            for i in 0..<count { body(i) }
            return
        }
        run(count, threads: threads, body)
    }
}

/// The BLAS library (OpenBLAS on Linux, Accelerate on macOS), pinned to one thread per call.
///
/// OpenBLAS's thread count is a process-wide setting and its results depend on it, so
/// changing it around parallel regions would make results depend on timing. Instead BLAS
/// stays at one thread and ``Parallel`` splits large products into blocks.
public enum BLAS {
    /// Pins BLAS to one thread (once, before the first BLAS call).
    static let pinned: Void = { clip_blas_set_threads(1) }()

    /// Threads BLAS uses per call (1 once swift-clip has made a BLAS call).
    public static var threadCount: Int { Int(clip_blas_get_threads()) }

    /// Whether OpenBLAS's worker threads exist (nil where unknown: another BLAS). False unless
    /// something asked BLAS for more than one thread: they are joined before `main`, since an
    /// idle OpenBLAS worker spins on `sched_yield` for ~45 ms of a core after the library loads.
    public static var workerThreadsStarted: Bool? {
        let started = clip_blas_worker_threads_started()
        return started < 0 ? nil : started == 1
    }
}
