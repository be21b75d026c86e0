import CTensorKernels
import Dispatch
import Foundation
import Testing

@testable import CLIPTensor

/// The engine's fork-join pool (`clip_pool.c` behind ``Parallel``): every index runs exactly
/// once, also when several threads start regions at the same time (one gets the pool, the
/// others fall back to libdispatch), from inside a region (nested), and in quick succession
/// (workers still spinning from the previous region must not run the next one's indices with
/// the old one's fields).
@Suite struct ParallelPoolTests {
    /// Per-index run counts, written from any thread.
    final class Counts: @unchecked Sendable {
        let values: UnsafeMutablePointer<Int>
        let count: Int
        private let lock = NSLock()
        init(_ count: Int) {
            self.count = count
            values = .allocate(capacity: count)
            values.initialize(repeating: 0, count: count)
        }
        deinit { values.deallocate() }
        func hit(_ i: Int) { lock.withLock { values[i] += 1 } }
        var allOnce: Bool { (0..<count).allSatisfy { values[$0] == 1 } }
    }

    @Test func everyIndexRunsOnceInManyShortRegions() {
        guard Parallel.threadCount > 1 else { return }
        let before = clip_pool_regions()
        for size in [2, 3, 8, 64, 1000] {
            for _ in 0..<200 {
                let counts = Counts(size)
                Parallel.forEachIndex(size) { counts.hit($0) }
                #expect(counts.allOnce, "region of \(size)")
            }
        }
        let covered = Counts(10_000)
        Parallel.forEach(10_000, grain: 1) { range in for i in range { covered.hit(i) } }
        #expect(covered.allOnce)
        // The pool ran regions (others may have fallen back while tests ran beside this one).
        #expect(clip_pool_regions() > before)
    }

    @Test func concurrentAndNestedRegions() {
        guard Parallel.threadCount > 1 else { return }
        let failures = Counts(1)
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            for round in 0..<100 {
                let outer = Counts(16), inner = Counts(16 * 8)
                Parallel.forEachIndex(16) { i in
                    outer.hit(i)
                    if round % 4 == 0 { Parallel.forEachIndex(8) { j in inner.hit(i * 8 + j) } }
                }
                if !outer.allOnce || (round % 4 == 0 && !inner.allOnce) { failures.hit(0) }
            }
        }
        #expect(failures.values[0] == 0, "\(failures.values[0]) regions ran an index other than once")
    }
}
