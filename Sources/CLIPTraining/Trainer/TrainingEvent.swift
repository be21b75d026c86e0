import Foundation

/// What ``Trainer/run(output:workers:progress:)`` reports while it runs, in order:
/// `started`, then per step `step` (and `checkpoint`, `validation` at the checkpoint cadence),
/// then `finished`. The callback's ``TrainingDisposition`` can end the run after any event
/// (mlx-swift-examples' LoRATrain `Progress` and `ProgressDisposition`).
///
/// ```swift
/// let summary = try trainer.run(output: URL(fileURLWithPath: "run")) { event in
///     if case .step(let report, _) = event { print(report.step, report.loss) }
///     return .more
/// }
/// ```
public enum TrainingEvent: Sendable {
    /// The loop is about to take its first batch; `step` is 0 for a new run.
    case started(TrainingStart)
    /// One optimiser step is done (a skipped step has `report.skipped`).
    case step(StepReport, samplesPerSecond: Double)
    /// A checkpoint folder was written and `latest.safetensors` updated.
    case checkpoint(step: Int, folder: URL)
    /// The validation data was evaluated at a checkpoint: metric name → value.
    case validation(step: Int, metrics: [String: Double])
    /// The run ended (all steps done, or stopped by the callback).
    case finished(TrainingSummary)
}

/// The callback's answer: go on, or save a checkpoint at the current step and stop.
public enum TrainingDisposition: Sendable, Equatable {
    case more
    case stop
}

/// What the run is about to do.
public struct TrainingStart: Sendable, Equatable {
    /// Steps already done (a resumed run starts after its checkpoint).
    public var step: Int
    public var totalSteps: Int
    /// Pairs in the training data.
    public var samples: Int
    public var parameterCount: Int
    public var architectureName: String
    public var resumed: Bool { step > 0 }
}

/// How a run ended.
public struct TrainingSummary: Sendable, Equatable {
    /// Steps done in total (the checkpoint written last).
    public var step: Int
    public var totalSteps: Int
    /// True when the progress callback stopped the run before `totalSteps`.
    public var stopped: Bool
    /// Samples the data loader skipped (unreadable images, empty captions), whole run.
    public var skippedSamples: Int
    /// Steps skipped for a non-finite loss or gradient (this process).
    public var skippedSteps: Int
    /// `latest.safetensors` in the output directory.
    public var latest: URL
}
