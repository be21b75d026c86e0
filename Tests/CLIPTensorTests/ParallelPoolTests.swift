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
        // The pool ran regions. Every region above may have fallen back to libdispatch while a
        // test beside this one held the pool (CI saw that once), so keep starting small regions
        // until one gets the pool, within a deadline far beyond any other test's region.
        let deadline = DispatchTime.now().uptimeNanoseconds + 60_000_000_000
        while clip_pool_regions() == before && DispatchTime.now().uptimeNanoseconds < deadline {
            Parallel.forEachIndex(2) { _ in }
            usleep(1000)
        }
        #expect(clip_pool_regions() > before)
    }

    /// `forEachChunk` covers 0..<count once in chunks of the given size (the last one shorter).
    @Test(arguments: [(0, 4), (1, 4), (7, 4), (8, 4), (1_000_003, 1 << 19), (5, 100)])
    func chunksCoverTheRangeOnce(count: Int, chunk: Int) {
        let covered = Counts(max(count, 1))
        let sizes = Counts(count / chunk + 2)  // chunk index -> 1 if its size is right
        Parallel.forEachChunk(count, chunk: chunk) { range in
            for i in range { covered.hit(i) }
            let index = range.lowerBound / chunk
            if range.lowerBound % chunk == 0 && range.count == min(chunk, count - range.lowerBound) { sizes.hit(index) }
        }
        #expect(count == 0 ? covered.values[0] == 0 : covered.allOnce)
        let chunks = (count + chunk - 1) / chunk
        #expect((0..<chunks).allSatisfy { sizes.values[$0] == 1 } && sizes.values[chunks] == 0)
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

    /// Arrivals at a barrier that gives up at a deadline.
    final class Barrier: @unchecked Sendable {
        let parties: Int
        let deadline: UInt64
        private let lock = NSLock()
        private var arrived = 0
        private(set) var timedOut = false
        init(parties: Int, seconds: Double) {
            self.parties = parties
            deadline = DispatchTime.now().uptimeNanoseconds + UInt64(seconds * 1e9)
        }
        func arriveAndWait() {
            lock.withLock { arrived += 1 }
            while lock.withLock({ arrived < parties }) {
                if DispatchTime.now().uptimeNanoseconds > deadline {
                    lock.withLock { timedOut = true }
                    return
                }
                usleep(100)
            }
        }
    }

    /// Workers started by a region take part in it: each of the region's indices waits until
    /// all of them run at once, which needs the caller and every worker, the two new ones
    /// included. (A new worker used to read the region counter when its thread began running,
    /// after the region was published, and skipped it: a process's first region, a first
    /// query's whole weight scan, ran on one core.)
    @Test func newWorkersJoinTheRegionThatStartsThem() {
        var ran: Int32 = 0
        var barrier: Barrier?
        for _ in 0..<1000 where ran == 0 {
            let threads = Int(clip_pool_workers()) + 3
            guard threads <= 64 else { return }  // the pool's most threads: nothing new to start
            let b = Barrier(parties: threads, seconds: 3)
            barrier = b
            let context = Unmanaged.passRetained(b)
            ran = clip_pool_run(
                threads, Int32(threads),
                { context, _ in
                    Unmanaged<Barrier>.fromOpaque(context!).takeUnretainedValue().arriveAndWait()
                }, context.toOpaque())
            context.release()
            if ran == 0 { usleep(1000) }  // another test's region holds the pool
        }
        #expect(ran == 1, "the pool stayed busy")
        #expect(barrier?.timedOut == false, "not every thread of the region took part in it")
    }
}
