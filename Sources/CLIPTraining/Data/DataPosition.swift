import CLIPTensor

/// Where a ``DataLoader`` stands: the epoch and the next index into that epoch's shuffled
/// order, plus what must match for the position to mean the same samples again. Save it in a
/// checkpoint and pass it to ``DataLoader/restore(_:)`` to continue with exactly the batches
/// an uninterrupted run would have seen.
///
/// ```swift
/// let saved = loader.position                              // Codable: store it as JSON
/// let resumed = try DataLoader(source: dataset, batchSize: 64, imageSize: 64, tokenizer: tok, seed: 0)
/// try resumed.restore(saved)
/// ```
public struct DataPosition: Codable, Sendable, Equatable, Hashable {
    /// Completed passes over the data.
    public var epoch: Int
    /// Next position in the epoch's order (0..<datasetCount).
    public var index: Int
    /// Samples skipped so far (bad images, empty captions), carried over so a resumed run
    /// reports the whole run's total.
    public var skippedSamples: Int
    /// The dataset's sample count when the position was taken.
    public var datasetCount: Int
    /// The shuffling seed.
    public var seed: UInt64

    public init(epoch: Int, index: Int, skippedSamples: Int = 0, datasetCount: Int, seed: UInt64) {
        self.epoch = epoch
        self.index = index
        self.skippedSamples = skippedSamples
        self.datasetCount = datasetCount
        self.seed = seed
    }
}

/// Why the loader left a sample out.
///
/// ```swift
/// for (reason, n) in loader.skipCounts { print(reason.rawValue, n) }   // "corruptImage 2"
/// ```
public enum SkipReason: String, Codable, Sendable, CaseIterable, Hashable {
    /// The image file or tar member could not be read (missing, truncated).
    case unreadableImage
    /// The bytes are not a decodable JPEG/PNG/WebP/GIF.
    case corruptImage
    /// No caption: no `.txt` sidecar or member.
    case missingCaption
    /// The caption is empty or only whitespace.
    case emptyCaption
}

/// The sample order of one epoch: a seeded Fisher–Yates permutation of 0..<count, fixed by
/// (seed, epoch), or the identity when shuffling is off.
///
/// ```swift
/// EpochOrder.permutation(count: 5, seed: 0, epoch: 1)   // same five numbers every run
/// ```
public enum EpochOrder {
    public static func permutation(count: Int, seed: UInt64, epoch: Int, shuffle: Bool = true) -> [Int] {
        var order = Array(0..<count)
        guard shuffle else { return order }
        var random = SeededRandom(seed: seed, streams: 0, epoch)
        random.shuffle(&order)
        return order
    }
}
