import Foundation

/// Settings of a training run (`clip train` options), saved in every checkpoint.
public struct TrainingOptions: Codable, Sendable, Equatable {
    public var batchSize: Int
    /// Optimiser steps to run in total.
    public var steps: Int
    public var learningRate: Float
    public var warmup: Int = 0
    public var weightDecay: Float = 0.2
    public var seed: UInt64 = 0
    /// Global gradient-norm clipping (nil: off).
    public var gradientClipNorm: Float? = nil
    /// Micro-batches per step; the contrastive batch stays whole (feature caching).
    public var accumulationSteps: Int = 1
    /// LiT-style locked towers: their parameters stay fixed (and ResNet BatchNorm uses running statistics).
    public var lockImage = false
    public var lockText = false
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
}

/// Errors that stop a training run.
public enum TrainingError: LocalizedError, Equatable, Sendable {
    case nonFinite(step: Int, what: String)
    case invalidOptions(String)
    case noCheckpoint(String)
    case corruptCheckpoint(path: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case .nonFinite(let step, let what):
            return "non-finite \(what) at step \(step); nothing was written for this step"
        case .invalidOptions(let why): return "invalid training options: \(why)"
        case .noCheckpoint(let dir): return "no complete checkpoint in \(dir)"
        case .corruptCheckpoint(let path, let reason): return "checkpoint \(path) is unusable: \(reason)"
        }
    }

    public var recoverySuggestion: String? {
        switch self {
        case .nonFinite: return "Lower --lr, add --grad-clip-norm, or pass --skip-nonfinite to skip such steps."
        case .invalidOptions: return "See `clip train --help`."
        case .noCheckpoint: return "Resume from the --output directory of an earlier run (it holds checkpoints/step-N)."
        case .corruptCheckpoint: return "Delete that checkpoint folder; the previous one is used then."
        }
    }
}
