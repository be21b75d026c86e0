import CBLAS
import Dispatch
import Foundation

/// A pointer that may cross into concurrently running closures. Kernels guarantee that
/// concurrent writers touch disjoint elements.
public struct SendablePointer<Element>: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Element>
    public init(_ pointer: UnsafeMutablePointer<Element>) { self.pointer = pointer }
}

/// Runs the non-BLAS kernels (elementwise, norms, attention heads, im2col) on all cores.
///
/// BLAS has its own thread pool. Kernels here never call BLAS from inside a parallel region
/// except through ``BLAS/withSingleThread(_:)``, so the two pools never oversubscribe the cores.
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
            BLAS.threadCount = newValue
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
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            let start = count * c / chunks, end = count * (c + 1) / chunks
            if start < end { body(start..<end) }
        }
    }

    /// Like ``forEach(_:grain:_:)`` but hands out single indices dynamically, for uneven work
    /// (e.g. one attention head per index).
    public static func forEachIndex(_ count: Int, _ body: @Sendable (Int) -> Void) {
        if count <= 0 { return }
        if threadCount <= 1 || count == 1 {
            for i in 0..<count { body(i) }
            return
        }
        DispatchQueue.concurrentPerform(iterations: count, execute: body)
    }
}

/// Thread control for the BLAS library (OpenBLAS on Linux, Accelerate on macOS).
public enum BLAS {
    /// Threads BLAS may use for one call.
    public static var threadCount: Int {
        get { Int(clip_blas_get_threads()) }
        set { clip_blas_set_threads(Int32(newValue)) }
    }

    /// Runs `body` with BLAS limited to one thread: for BLAS calls made from inside a
    /// ``Parallel`` region, where the cores are already busy.
    public static func withSingleThread<R>(_ body: () throws -> R) rethrows -> R {
        let previous = threadCount
        if previous == 1 { return try body() }
        threadCount = 1
        defer { threadCount = previous }
        return try body()
    }
}
