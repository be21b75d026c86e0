import Dispatch
import Foundation

/// Runs `body` over row ranges that together cover `0..<count` exactly once, on one thread
/// or on several. Resampling passes use it so that a batch can spread one image's rows over
/// idle cores; each row's bytes do not depend on which thread computes it.
struct RowParallelism: Sendable {
    let run: @Sendable (_ count: Int, _ body: (Range<Int>) -> Void) -> Void

    /// Everything on the calling thread, in one call.
    static let serial = RowParallelism { count, body in if count > 0 { body(0..<count) } }
}

/// Dynamic scheduling for `CLIPPreprocessor.preprocessBatch`: `threads` workers take the next
/// image (largest file first, so the long ones do not come last) and, once no image is left,
/// help the images still being resampled by taking chunks of their rows. A static split of
/// a batch over the cores leaves one core idle whenever the images differ in size.
final class BatchScheduler: @unchecked Sendable {
    /// One resampling pass an image has opened to helpers: chunks are claimed in order under
    /// the scheduler's lock; the owner waits until all of them are finished.
    private final class RowJob {
        let chunks: [Range<Int>]
        let body: (Range<Int>) -> Void
        var next = 0
        var finished = 0
        init(chunks: [Range<Int>], body: @escaping (Range<Int>) -> Void) {
            self.chunks = chunks
            self.body = body
        }
    }

    /// Rows per chunk at least this many: a chunk of a 224-wide pass is tens of microseconds,
    /// far above the cost of a lock round trip.
    static let minimumRowsPerChunk = 8
    /// At most this many chunks per pass.
    static let maximumChunks = 64

    private let condition = NSCondition()
    private let order: [Int]
    private var nextImage = 0
    private var activeImages = 0
    private var jobs: [RowJob] = []

    /// `order`: image indices in the order workers should take them.
    init(order: [Int]) {
        self.order = order
    }

    /// Calls `work(index, rows)` once for every index in `order`, on `threads` threads;
    /// `rows` lets the image's passes be shared with idle workers. Returns when all are done.
    func run(threads: Int, _ work: @escaping @Sendable (Int, RowParallelism) -> Void) {
        let rows = RowParallelism { [unowned self] count, body in self.share(count: count, body: body) }
        DispatchQueue.concurrentPerform(iterations: max(1, threads)) { _ in worker(work, rows: rows) }
    }

    private func worker(_ work: (Int, RowParallelism) -> Void, rows: RowParallelism) {
        condition.lock()
        defer { condition.unlock() }
        while true {
            // Whole images first: no synchronisation inside them while the batch lasts.
            if nextImage < order.count {
                let index = order[nextImage]
                nextImage += 1
                activeImages += 1
                condition.unlock()
                work(index, rows)
                condition.lock()
                activeImages -= 1
                condition.broadcast()
                continue
            }
            if let job = jobs.first(where: { $0.next < $0.chunks.count }) {
                runChunk(of: job)
                continue
            }
            if activeImages == 0 { return }
            // Images still running may open another pass (or finish): wait for either.
            condition.wait()
        }
    }

    /// Runs one chunk of `job`; called and returns with the lock held.
    private func runChunk(of job: RowJob) {
        let chunk = job.chunks[job.next]
        job.next += 1
        condition.unlock()
        job.body(chunk)
        condition.lock()
        job.finished += 1
        if job.finished == job.chunks.count { condition.broadcast() }
    }

    /// An image's pass over `count` rows: split into chunks that this thread and any idle
    /// worker take in turn; returns when every chunk is finished.
    private func share(count: Int, body: (Range<Int>) -> Void) {
        let size = max(Self.minimumRowsPerChunk, (count + Self.maximumChunks - 1) / Self.maximumChunks)
        let chunks = stride(from: 0, to: count, by: size).map { $0..<min($0 + size, count) }
        guard chunks.count > 1 else {
            if count > 0 { body(0..<count) }
            return
        }
        // The job never outlives this call: it is removed below after its last chunk finished.
        withoutActuallyEscaping(body) { body in
            let job = RowJob(chunks: chunks, body: body)
            condition.lock()
            jobs.append(job)
            condition.broadcast()
            while job.next < job.chunks.count { runChunk(of: job) }
            while job.finished < job.chunks.count { condition.wait() }
            jobs.removeAll { $0 === job }
            condition.unlock()
        }
    }
}
