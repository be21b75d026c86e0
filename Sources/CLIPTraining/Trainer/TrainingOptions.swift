import Foundation

/// The numeric settings of a training run (`clip train`'s options), recorded in every
/// checkpoint as part of ``RunDescription``.
///
/// ```swift
/// var options = TrainingOptions(batchSize: 128, steps: 2000, learningRate: 1e-3)
/// options.warmup = 100
/// try options.validate()   // TrainingError.invalidOption naming the valid range
/// ```
public struct TrainingOptions: Codable, Sendable, Equatable {
    /// Pairs per optimiser step (the contrastive batch).
    public var batchSize: Int
    /// Optimiser steps to run in total.
    public var steps: Int
    /// Peak learning rate.
    public var learningRate: Float
    /// Linear warmup steps before the cosine decay.
    public var warmup: Int = 0
    /// AdamW weight decay (not applied to gains, biases and the logit scale).
    public var weightDecay: Float = 0.2
    /// Seed for initialisation, shuffling and augmentation.
    public var seed: UInt64 = 0
    /// Global gradient-norm clipping (nil: off).
    public var gradientClipNorm: Float? = nil
    /// Micro-batches per step; the contrastive batch stays whole (feature caching).
    public var accumulationSteps: Int = 1
    /// Save a checkpoint every this many steps (and at the end).
    public var checkpointEvery: Int = 100
    /// Checkpoints to keep (older ones are deleted).
    public var keepCheckpoints: Int = 3
    /// On a non-finite loss or gradient: skip the step with a warning instead of stopping.
    public var skipNonFinite = false
    /// open_clip's RandomResizedCrop augmentation.
    public var augment = false

    public init(batchSize: Int, steps: Int, learningRate: Float) {
        self.batchSize = batchSize
        self.steps = steps
        self.learningRate = learningRate
    }

    /// The largest step count a run may have: far beyond any real run, and small enough that
    /// no step arithmetic (epochs × batches, step × batch size) can overflow.
    public static let maximumSteps = 1_000_000_000
    /// The largest contrastive batch.
    public static let maximumBatchSize = 1 << 20

    /// Checks every setting against its valid range.
    /// - Throws: ``TrainingError/invalidOption(name:value:valid:)`` naming the option as
    ///   `clip train` spells it, the value and the range.
    public func validate() throws {
        try Self.check("--batch-size", batchSize, in: 2...Self.maximumBatchSize, why: " (a contrastive batch)")
        try Self.check("--steps", steps, in: 1...Self.maximumSteps)
        try Self.check(
            "--lr", learningRate, valid: "a finite number in (0, 10]",
            learningRate.isFinite && learningRate > 0
                && learningRate <= 10)
        try Self.check("--warmup", warmup, in: 0...Self.maximumSteps)
        try Self.check(
            "--wd", weightDecay, valid: "a finite number in [0, 10]",
            weightDecay.isFinite && weightDecay >= 0 && weightDecay <= 10)
        if let gradientClipNorm {
            try Self.check(
                "--grad-clip-norm", gradientClipNorm, valid: "a finite positive number",
                gradientClipNorm.isFinite && gradientClipNorm > 0)
        }
        try Self.check("--accum-freq", accumulationSteps, in: 1...batchSize)
        guard batchSize % accumulationSteps == 0 else {
            throw TrainingError.invalidOption(
                name: "--accum-freq", value: "\(accumulationSteps)",
                valid: "a divisor of --batch-size \(batchSize)")
        }
        try Self.check("--checkpoint-every", checkpointEvery, in: 1...Self.maximumSteps)
        try Self.check("--keep-checkpoints", keepCheckpoints, in: 1...10_000)
    }

    /// Optimiser steps for `epochs` passes over `samples` pairs in batches of `batchSize`
    /// (an epoch's last partial batch is dropped, as in open_clip).
    /// - Throws: ``TrainingError/invalidOption(name:value:valid:)`` when the epochs are out of
    ///   range or give no step or more than ``maximumSteps``.
    public static func steps(epochs: Int, samples: Int, batchSize: Int) throws -> Int {
        try check("--epochs", epochs, in: 1...maximumSteps)
        let perEpoch = samples / max(batchSize, 1)
        let (total, overflow) = epochs.multipliedReportingOverflow(by: perEpoch)
        guard !overflow, (1...maximumSteps).contains(total) else {
            throw TrainingError.invalidOption(
                name: "--epochs", value: "\(epochs)",
                valid:
                    "1 to \(maximumSteps / max(perEpoch, 1)) for \(samples) samples in batches of \(batchSize) (\(perEpoch) steps per epoch, at most \(maximumSteps) steps)"
            )
        }
        return total
    }

    static func check(_ name: String, _ value: Int, in range: ClosedRange<Int>, why: String = "") throws {
        guard range.contains(value) else {
            throw TrainingError.invalidOption(
                name: name, value: "\(value)", valid: "\(range.lowerBound) to \(range.upperBound)\(why)")
        }
    }

    static func check(_ name: String, _ value: Float, valid: String, _ ok: Bool) throws {
        guard ok else { throw TrainingError.invalidOption(name: name, value: "\(value)", valid: valid) }
    }
}
