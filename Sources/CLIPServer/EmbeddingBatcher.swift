import CLIP
import Foundation

// Dynamic batching as in text-embeddings-inference and clip-as-service: requests from many
// clients queue their items; one worker thread takes the oldest item's modality and runs up to
// `maxBatch` items of it at once, waiting at most `maxWait` for a batch to fill.
// Symbols: N items in a batch, T context length, S image side, E embedding width.

/// One input to embed, already tokenized or preprocessed by the request's handler.
enum EmbeddingItem: Sendable {
    /// Token ids of one text (T ids, `CLIP.tokenize` layout).
    case text([Int32])
    /// Preprocessed pixels of one image (3 · S · S floats).
    case image([Float])

    var isText: Bool {
        if case .text = self { return true }
        return false
    }

    /// Positions a text needs: its EOT (the largest id, first occurrence) + 1; 0 for an image.
    var length: Int {
        guard case .text(let ids) = self, !ids.isEmpty else { return 0 }
        var eot = 0
        for i in ids.indices where ids[i] > ids[eot] { eot = i }
        return eot + 1
    }
}

/// Queues embedding work from many requests and runs it on one model, a batch at a time.
///
/// The queue is bounded by requests (`maxConcurrent`): a request that finds it full is refused
/// at once with ``APIError/queueFull`` (429) rather than waiting without limit.
final class EmbeddingBatcher: @unchecked Sendable {
    /// A request's items and where their rows go.
    private final class Job {
        let items: [EmbeddingItem]
        var rows: [[Float]]
        var remaining: Int
        var continuation: CheckedContinuation<[[Float]], any Error>?

        init(items: [EmbeddingItem], continuation: CheckedContinuation<[[Float]], any Error>) {
            self.items = items
            rows = Array(repeating: [], count: items.count)
            remaining = items.count
            self.continuation = continuation
        }
    }

    private struct Entry {
        let job: Job
        let index: Int
    }

    private let condition = NSCondition()
    // Guarded by `condition`.
    private var queue: [Entry] = []
    private var jobs = 0
    private var stopping = false
    /// Set when shutdown begins: batches no longer wait to fill (requests still come in until
    /// the HTTP server has drained; then ``stop()``).
    private var draining = false
    private var worker: Thread?

    let maxBatch: Int
    let maxWait: Duration
    let maxConcurrent: Int
    let metrics: ServerMetrics
    /// Runs one batch of items of one modality: N items → N rows of E floats.
    private let run: @Sendable ([EmbeddingItem]) throws -> [[Float]]

    init(
        maxBatch: Int, maxWait: Duration, maxConcurrent: Int, metrics: ServerMetrics,
        run: @escaping @Sendable ([EmbeddingItem]) throws -> [[Float]]
    ) {
        self.maxBatch = max(1, maxBatch)
        self.maxWait = maxWait
        self.maxConcurrent = max(1, maxConcurrent)
        self.metrics = metrics
        self.run = run
    }

    /// The model's batch function: texts through the text tower, images through the image
    /// tower, unnormalised features, one row per item.
    static func modelRunner(_ model: CLIP) -> @Sendable ([EmbeddingItem]) throws -> [[Float]] {
        { items in
            let e = model.configuration.embedDim
            let features: Tensor
            if items.first?.isText ?? true {
                let tokens = items.map { if case .text(let ids) = $0 { return ids } else { return [] } }
                features = try model.encodeText(tokens)  // (N, E)
            } else {
                let side = model.imageSize
                var pixels: [Float] = []
                pixels.reserveCapacity(items.count * 3 * side * side)
                for case .image(let p) in items { pixels += p }
                // (N, 3, S, S) → (N, E)
                features = try model.encodeImage(Tensor(shape: [items.count, 3, side, side], scalars: pixels))
            }
            let scalars = features.scalars
            return (0..<items.count).map { Array(scalars[($0 * e)..<(($0 + 1) * e)]) }
        }
    }

    /// Starts the worker thread.
    func start() {
        let thread = Thread { [self] in work() }
        thread.name = "clip-batcher"
        condition.lock()
        worker = thread
        condition.unlock()
        thread.start()
    }

    /// Lets the worker finish what is queued, then stop; later submissions are refused.
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
    }

    /// Runs each batch with what is queued from now on, without waiting up to `maxWait` for it
    /// to fill: shutdown has begun, so no more requests are coming that the wait could batch
    /// (those in flight are still taken, until ``stop()``).
    func drain() {
        condition.lock()
        draining = true
        condition.broadcast()
        condition.unlock()
    }

    /// Embeds `items` (all of one modality), batched with other requests' items: one row of
    /// unnormalised features per item, in order.
    func embed(_ items: [EmbeddingItem]) async throws -> [[Float]] {
        if items.isEmpty { return [] }
        return try await withCheckedThrowingContinuation { continuation in
            condition.lock()
            guard !stopping, jobs < maxConcurrent else {
                condition.unlock()
                continuation.resume(throwing: stopping ? APIError.loading : APIError.queueFull)
                return
            }
            let job = Job(items: items, continuation: continuation)
            jobs += 1
            queue += items.indices.map { Entry(job: job, index: $0) }
            metrics.queue(items: queue.count)
            condition.signal()
            condition.unlock()
        }
    }

    private func work() {
        while let batch = nextBatch() {
            metrics.batch(items: batch.count)
            let result = Result { try run(batch.map { $0.job.items[$0.index] }) }
            condition.lock()
            var finished: [(CheckedContinuation<[[Float]], any Error>, Result<[[Float]], any Error>)] = []
            for (position, entry) in batch.enumerated() {
                let job = entry.job
                guard let continuation = job.continuation else { continue }
                switch result {
                case .success(let rows):
                    job.rows[entry.index] = rows[position]
                    job.remaining -= 1
                    if job.remaining == 0 {
                        finished.append((continuation, .success(job.rows)))
                        job.continuation = nil
                    }
                case .failure(let error):
                    // The job's other items may still be queued: they are skipped when taken.
                    finished.append((continuation, .failure(error)))
                    job.continuation = nil
                }
                if job.continuation == nil { jobs -= 1 }
            }
            condition.unlock()
            for (continuation, result) in finished { continuation.resume(with: result) }
        }
    }

    /// `entries` ordered by `length`, shortest first; equal lengths keep their order.
    static func byLength<T>(_ entries: [T], _ length: (T) -> Int) -> [T] {
        let lengths = entries.map(length)
        return entries.indices.sorted { (lengths[$0], $0) < (lengths[$1], $1) }.map { entries[$0] }
    }

    /// Waits for work, then for up to `maxWait` more while the oldest item's modality has
    /// fewer than `maxBatch` items queued; takes them in arrival order. Nil once stopping with
    /// nothing left.
    private func nextBatch() -> [Entry]? {
        condition.lock()
        defer { condition.unlock() }
        while true {
            // Items of failed jobs are dropped here rather than computed.
            queue.removeAll { $0.job.continuation == nil }
            if !queue.isEmpty { break }
            if stopping { return nil }
            condition.wait()
        }
        let text = queue[0].job.items[queue[0].index].isText
        let deadline = Date().addingTimeInterval(Double(maxWait / .microseconds(1)) / 1e6)
        while !stopping, !draining, queue.lazy.filter({ $0.job.items[$0.index].isText == text }).count < maxBatch {
            if !condition.wait(until: deadline) { break }
        }
        var batch: [Entry] = []
        var rest: [Entry] = []
        for entry in queue {
            if batch.count < maxBatch, entry.job.items[entry.index].isText == text, entry.job.continuation != nil {
                batch.append(entry)
            } else {
                rest.append(entry)
            }
        }
        queue = rest
        metrics.queue(items: queue.count)
        // Texts shortest first (stable): a text forward that stops at the EOT runs rows of
        // similar length together. Rows go back to their requests through the entries, so
        // answers keep request order.
        if text { batch = Self.byLength(batch) { $0.job.items[$0.index].length } }
        return batch
    }
}
