import CLIPImage
import CLIPTensor
import CLIPTokenizer
import Foundation

/// Batches for contrastive training: a seeded shuffled order per epoch, decoding and
/// preprocessing on background threads with a bounded prefetch window, bad samples skipped
/// and counted, and a ``DataPosition`` that can be saved and restored for bit-exact resume.
///
/// Batches are a pure function of (dataset, seed, batch size, options): worker threads only
/// compute samples ahead of time, the consumer takes them strictly in order, and each
/// augmentation is seeded by (seed, epoch, sample index). A batch never spans two epochs;
/// with `dropLast` (open_clip's training setting) an epoch's last partial batch is dropped.
///
/// ```swift
/// let dataset = try TrainingData.open("synth/train.csv")
/// let loader = try DataLoader(source: dataset, batchSize: 64, imageSize: 64,
///                             tokenizer: try Tokenizer.bundled(), contextLength: 77,
///                             seed: 0, augment: false, workers: 2)
/// while let batch = try loader.nextBatch() {
///     // batch.pixels: (B, 3, 64, 64), batch.tokens: B rows of 77 ids
///     if step % 100 == 0 { save(loader.position) }
/// }
/// print("skipped", loader.skippedSamples)
/// ```
public final class DataLoader: @unchecked Sendable {
    /// One batch of training input.
    public struct Batch: @unchecked Sendable {
        /// Normalised images, (B, 3, S, S).
        public var pixels: Tensor
        /// Token ids, B rows of `contextLength`.
        public var tokens: [[Int32]]
        /// The raw captions, in batch order.
        public var captions: [String]
        /// Dataset indices of the samples, in batch order.
        public var indices: [Int]
        /// The epoch the batch belongs to.
        public var epoch: Int
        /// The loader's position after this batch (save it with the step that consumed it).
        public var position: DataPosition
    }

    /// The data.
    public let dataset: any TrainingDataset
    /// Samples per batch.
    public let batchSize: Int
    /// Side of the square images.
    public let imageSize: Int
    /// Shuffling and augmentation seed.
    public let seed: UInt64
    /// Whether an epoch's last partial batch is dropped.
    public let dropLast: Bool
    /// Passes over the data before ``nextBatch()`` returns nil; nil means endless.
    public let epochs: Int?

    private let state: PipelineState
    private let threads: Int
    /// Samples consumed since the last batch (only ``nextBatch()`` touches it).
    private var consumedSinceBatch = 0

    /// - Parameters:
    ///   - augment: open_clip's `RandomResizedCrop` (``RandomResizedCrop``, settings in `crop`);
    ///     otherwise exactly ``CLIPPreprocessor`` (the evaluation transform).
    ///   - workers: background threads decoding and preprocessing; 0 works in the caller.
    ///   - prefetchBatches: how many batches the workers may run ahead.
    ///   - shuffle: a seeded new order each epoch (training); off keeps dataset order.
    /// - Throws: ``DataError/invalidSetting(_:)`` for a non-positive batch or image size.
    public init(
        source dataset: any TrainingDataset, batchSize: Int, imageSize: Int, tokenizer: Tokenizer,
        contextLength: Int = 77, seed: UInt64 = 0, augment: Bool = false,
        crop: RandomResizedCrop = RandomResizedCrop(), workers: Int = 2, prefetchBatches: Int = 4,
        shuffle: Bool = true, dropLast: Bool = true, epochs: Int? = nil
    ) throws {
        guard batchSize > 0 else { throw DataError.invalidSetting("batch size must be positive, got \(batchSize)") }
        guard (1...4096).contains(imageSize) else {
            throw DataError.invalidSetting("image size must be 1...4096, got \(imageSize)")
        }
        guard contextLength > 0 else {
            throw DataError.invalidSetting("context length must be positive, got \(contextLength)")
        }
        guard workers >= 0, prefetchBatches > 0 else {
            throw DataError.invalidSetting("workers must be ≥ 0 and prefetch ≥ 1")
        }
        if let epochs, epochs < 0 { throw DataError.invalidSetting("epochs must be ≥ 0, got \(epochs)") }
        guard dataset.count > 0 else { throw DataError.empty(path: dataset.summary) }
        self.dataset = dataset
        self.batchSize = batchSize
        self.imageSize = imageSize
        self.seed = seed
        self.dropLast = dropLast
        self.epochs = epochs
        self.threads = workers
        let processor = SampleProcessor(
            dataset: dataset, preprocessor: CLIPPreprocessor(size: imageSize), tokenizer: tokenizer,
            contextLength: contextLength, augmentation: augment ? crop : nil, seed: seed)
        state = PipelineState(
            processor: processor, count: dataset.count, seed: seed, shuffle: shuffle,
            window: max(1, prefetchBatches) * batchSize,
            end: epochs.map { $0 * dataset.count } ?? Int.max)
        for _ in 0..<workers {
            let state = self.state
            let thread = Thread { state.workerLoop() }
            thread.name = "clip.data"
            thread.start()
        }
    }

    deinit { state.stop() }

    /// Stops the worker threads (also done when the loader is released).
    public func close() { state.stop() }

    /// The next batch, or nil when `epochs` passes are done. Blocks only while the workers are
    /// behind. Throws ``DataError/empty(path:)`` when a whole epoch yields no batch (every
    /// sample bad, or fewer good samples than the batch size with `dropLast`).
    public func nextBatch() throws -> Batch? {
        var samples: [SampleProcessor.Prepared] = []
        var epoch = 0
        let count = dataset.count
        while samples.count < batchSize {
            guard let (sequence, outcome) = state.take(synchronous: threads == 0) else {
                // The end: a partial batch only without dropLast.
                if dropLast || samples.isEmpty { return nil }
                break
            }
            epoch = sequence / count
            switch outcome {
            case .ready(let prepared): samples.append(prepared)
            case .skipped: break
            }
            // Every epoch with a batch ends a gap of at most two epochs (the tail of one,
            // the whole next); a longer gap means no epoch can ever fill a batch.
            consumedSinceBatch += 1
            if consumedSinceBatch > 2 * count + batchSize {
                throw DataError.empty(
                    path:
                        "\(dataset.summary): no batch of \(batchSize) in a whole epoch (\(state.skipped) samples skipped so far)"
                )
            }
            if (sequence + 1) % count == 0 && samples.count < batchSize {
                // Epoch boundary: batches never span epochs.
                if !dropLast && !samples.isEmpty { break }
                samples.removeAll()
            }
        }
        consumedSinceBatch = 0
        let stride = 3 * imageSize * imageSize
        let pixels = Tensor(uninitializedShape: [samples.count, 3, imageSize, imageSize])  // (B, 3, S, S)
        for (k, sample) in samples.enumerated() {
            sample.pixels.withUnsafeBufferPointer { src in
                (pixels.storage.base + k * stride).update(from: src.baseAddress!, count: stride)
            }
        }
        return Batch(
            pixels: pixels, tokens: samples.map(\.tokens), captions: samples.map(\.caption),
            indices: samples.map(\.index), epoch: epoch, position: position)
    }

    /// The position after the last batch returned.
    public var position: DataPosition {
        let (cursor, skipped) = state.cursorAndSkipped()
        let count = dataset.count
        return DataPosition(
            epoch: cursor / count, index: cursor % count, skippedSamples: skipped, datasetCount: count, seed: seed)
    }

    /// Continues from `position`: the next batch is the one that followed it in the saved run.
    /// Throws ``DataError/positionMismatch(detail:)`` when the dataset size or seed differ.
    public func restore(_ position: DataPosition) throws {
        guard position.datasetCount == dataset.count else {
            throw DataError.positionMismatch(
                detail: "saved for \(position.datasetCount) samples, the data has \(dataset.count)")
        }
        guard position.seed == seed else {
            throw DataError.positionMismatch(detail: "saved with seed \(position.seed), the loader uses \(seed)")
        }
        guard position.epoch >= 0, (0..<max(1, dataset.count)).contains(position.index) else {
            throw DataError.positionMismatch(detail: "epoch \(position.epoch), index \(position.index) is out of range")
        }
        state.restart(at: position.epoch * dataset.count + position.index, skipped: position.skippedSamples)
        consumedSinceBatch = 0
    }

    /// Batches in one epoch if no sample is bad (skips can only lower it): for turning
    /// `--epochs` into steps and for progress estimates.
    public var batchesPerEpoch: Int {
        dropLast ? dataset.count / batchSize : (dataset.count + batchSize - 1) / batchSize
    }

    /// Samples skipped so far (bad images, missing or empty captions), whole run.
    public var skippedSamples: Int { state.skipped }

    /// Skips so far by reason (this process only).
    public var skipCounts: [SkipReason: Int] { state.withLock { state.skipCounts } }

    /// The last few skip messages (newest last), for logs.
    public var recentSkips: [String] { state.withLock { state.recentSkips } }

    /// Seconds ``nextBatch()`` spent waiting for workers: near zero when compute dominates.
    public var waitSeconds: Double { state.withLock { state.waitSeconds } }
}

/// The shared state of a loader and its workers, guarded by one condition variable.
/// Samples are numbered by a global sequence `epoch * count + i`; workers claim sequence
/// numbers up to `window` ahead of the consumer's cursor and file their outcomes; a restart
/// bumps `generation` so results computed for the old position are dropped.
private final class PipelineState: @unchecked Sendable {
    let processor: SampleProcessor
    let count: Int
    let seed: UInt64
    let shuffle: Bool
    let window: Int
    let end: Int

    private let condition = NSCondition()
    private var generation = 0
    private var nextClaim = 0
    private var cursor = 0
    private var results: [Int: SampleProcessor.Outcome] = [:]
    private var orders: [Int: [Int]] = [:]
    private var stopped = false
    private(set) var skipCounts: [SkipReason: Int] = [:]
    private(set) var recentSkips: [String] = []
    private(set) var waitSeconds = 0.0
    private var skippedTotal = 0

    init(processor: SampleProcessor, count: Int, seed: UInt64, shuffle: Bool, window: Int, end: Int) {
        self.processor = processor
        self.count = count
        self.seed = seed
        self.shuffle = shuffle
        self.window = window
        self.end = end
    }

    func withLock<T>(_ body: () -> T) -> T {
        condition.lock()
        defer { condition.unlock() }
        return body()
    }

    var skipped: Int { withLock { skippedTotal } }

    func cursorAndSkipped() -> (Int, Int) { withLock { (cursor, skippedTotal) } }

    /// The dataset index at global sequence number `sequence` (call with the lock held).
    private func datasetIndex(_ sequence: Int) -> (index: Int, epoch: Int) {
        let epoch = sequence / count
        if orders[epoch] == nil {
            orders[epoch] = EpochOrder.permutation(count: count, seed: seed, epoch: epoch, shuffle: shuffle)
            // Keep only the epochs in flight.
            let oldest = cursor / count
            for key in orders.keys where key < oldest { orders[key] = nil }
        }
        return (orders[epoch]![sequence % count], epoch)
    }

    func workerLoop() {
        condition.lock()
        while !stopped {
            if nextClaim < min(cursor + window, end) {
                let sequence = nextClaim
                nextClaim += 1
                let claimedGeneration = generation
                let (index, epoch) = datasetIndex(sequence)
                condition.unlock()
                let outcome = processor.process(index: index, epoch: epoch)
                condition.lock()
                if claimedGeneration == generation && sequence >= cursor {
                    results[sequence] = outcome
                    condition.broadcast()
                }
            } else {
                condition.wait()
            }
        }
        condition.unlock()
    }

    /// The outcome at the cursor (waiting for workers, or computing it when `synchronous`),
    /// advancing the cursor; nil at the end.
    func take(synchronous: Bool) -> (Int, SampleProcessor.Outcome)? {
        condition.lock()
        defer { condition.unlock() }
        guard cursor < end else { return nil }
        let sequence = cursor
        let outcome: SampleProcessor.Outcome
        if synchronous {
            let (index, epoch) = datasetIndex(sequence)
            outcome = processor.process(index: index, epoch: epoch)
            nextClaim = max(nextClaim, sequence + 1)
        } else {
            let start = DispatchTime.now().uptimeNanoseconds
            while results[sequence] == nil && !stopped { condition.wait() }
            waitSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            guard let ready = results.removeValue(forKey: sequence) else { return nil }
            outcome = ready
        }
        cursor = sequence + 1
        if case .skipped(_, let reason, let message) = outcome {
            skippedTotal += 1
            skipCounts[reason, default: 0] += 1
            recentSkips.append(message)
            if recentSkips.count > 20 { recentSkips.removeFirst(recentSkips.count - 20) }
        }
        // The window moved: workers may claim more.
        condition.broadcast()
        return (sequence, outcome)
    }

    func restart(at sequence: Int, skipped: Int) {
        withLock {
            generation += 1
            results.removeAll()
            cursor = sequence
            nextClaim = sequence
            skippedTotal = skipped
            orders.removeAll()
            condition.broadcast()
        }
    }

    func stop() {
        withLock {
            stopped = true
            condition.broadcast()
        }
    }
}
