import CLIPModel
import CLIPTensor
import CLIPWeights
import Foundation

// One optimisation step of contrastive training (open_clip_train/train.py train_one_epoch):
// features → (gather) → ClipLoss → backward → (allreduce) → (clip) → AdamW with the cosine
// schedule → clamp logit_scale to [0, ln 100]. With accumulation, open_clip's feature
// caching: features of all micro-batches are computed without gradients first, then each
// micro-batch is re-run with gradients against the cached features of the others, so the
// contrastive batch stays whole. The loop around the step is in TrainingLoop.swift.

/// What one step reports.
public struct StepReport: Sendable, Codable, Equatable {
    public var step: Int
    public var loss: Float
    public var learningRate: Float
    public var logitScale: Float
    public var gradientNorm: Float
    /// True when the step was skipped (non-finite values with `skipNonFinite`).
    public var skipped: Bool
}

/// Trains a ``CLIP`` model in place: step by step with ``train(pixels:tokens:)``, or a whole
/// run with checkpoints, validation and resume with ``run(output:workers:progress:)``.
///
/// ```swift
/// let model = try CLIP(configuration: config, seed: 0, lockedTowers: [])
/// var options = TrainingOptions(batchSize: 128, steps: 2000, learningRate: 1e-3)
/// let run = RunDescription(data: TrainingDataSource(path: "synth/train.csv"), options: options)
/// let trainer = try Trainer(model: model, run: run)
/// try trainer.run(output: URL(fileURLWithPath: "run")) { event in print(event); return .more }
/// // later, after an interruption:
/// try Trainer.resume(from: URL(fileURLWithPath: "run")).run(output: URL(fileURLWithPath: "run"))
/// ```
public final class Trainer {
    public let model: CLIP
    /// The run's settings, as every checkpoint records them.
    public let runDescription: RunDescription
    public var options: TrainingOptions { runDescription.options }
    public let optimizer: AdamW
    public let schedule: LearningRateSchedule
    /// How this process sees the others (``SingleProcess`` unless set).
    public var collective: any TrainingCollective = SingleProcess()
    /// Evaluates a model on held-out data: metric name → value (for example image↔text
    /// retrieval with `RetrievalEvaluation`). The loop calls it at every checkpoint with the
    /// run's ``RunDescription/validation`` source.
    public typealias Validation = (_ model: CLIP, _ data: TrainingDataSource) throws -> [String: Double]
    /// The validation function (needed when the run has validation data).
    public var validation: Validation?
    /// Steps completed.
    public private(set) var step = 0
    /// The data loader's position after the batch of the last step (nil before the first).
    public internal(set) var dataPosition: DataPosition?

    /// A trainer for `model` (built with `trainable: true`; its locked towers are recorded in
    /// ``runDescription`` from the model itself).
    /// - Throws: ``TrainingError/invalidOption(name:value:valid:)`` for settings out of range.
    public init(model: CLIP, run: RunDescription) throws {
        guard model.isTrainable else { throw TrainingError.invalidOptions("the model was not loaded as trainable") }
        try run.options.validate()
        self.model = model
        var run = run
        run.lockedTowers = model.lockedTowers.sorted()
        runDescription = run
        var isViT = false
        if case .vit = model.configuration.vision { isViT = true }
        optimizer = AdamW(
            parameters: model.namedParameters,
            hyperparameters: .openCLIPDefaults(isViT: isViT, weightDecay: run.options.weightDecay))
        schedule = LearningRateSchedule(
            baseRate: run.options.learningRate, warmup: run.options.warmup, totalSteps: run.options.steps)
    }

    /// A trainer driven step by step (no data source: ``run(output:workers:progress:)`` refuses).
    public convenience init(model: CLIP, options: TrainingOptions) throws {
        try self.init(model: model, run: RunDescription(data: nil, options: options))
    }

    /// Restores the step counter and optimiser state (resume).
    public func restore(step: Int, firstMoments: [String: Tensor], secondMoments: [String: Tensor]) {
        self.step = step
        optimizer.restore(step: step, firstMoments: firstMoments, secondMoments: secondMoments)
    }

    /// ResNet BatchNorm uses batch statistics unless the image tower is locked.
    private var imageTowerTrains: Bool { !runDescription.lockedTowers.contains(.image) }

    /// Forward and backward on a batch without updating anything: the contrastive loss, with
    /// its gradients accumulated into the parameters' `grad` (nothing when the loss is not finite).
    public func computeGradients(pixels: Tensor, tokens: [[Int32]]) throws -> Float {
        if options.accumulationSteps > 1 {
            return try accumulatedBackward(pixels: pixels, tokens: tokens, trainingMode: imageTowerTrains)
        }
        let imageFeatures = try model.imageFeatures(Variable(pixels), training: imageTowerTrains)
        let textFeatures = try model.textFeatures(tokens)
        if collective.worldSize > 1 {
            return try dataParallelBackward(
                imageFeatures: imageFeatures, textFeatures: textFeatures, logitScale: model.logitScaleParameter)
        }
        let l = ContrastiveLoss.loss(
            imageFeatures: imageFeatures, textFeatures: textFeatures, logitScale: model.logitScaleParameter)
        let loss = l.value.item
        if loss.isFinite { l.backward() }
        return loss
    }

    /// Runs one optimiser step on a batch: pixels (B, 3, S, S) and B token rows (with several
    /// ranks, this rank's share of the global batch; every rank calls it at every step).
    public func train(pixels: Tensor, tokens: [[Int32]]) throws -> StepReport {
        let lr = schedule.rate(at: step)
        let loss = try computeGradients(pixels: pixels, tokens: tokens)
        let parameters = optimizer.parameters
        if loss.isFinite { try collective.allReduceGradients(parameters) }
        let norm = GradientClipping.globalNorm(parameters)
        if !loss.isFinite || !norm.isFinite {
            for (_, p) in model.namedParameters { p.zeroGrad() }
            let what = loss.isFinite ? "gradient norm" : "loss"
            guard options.skipNonFinite else { throw TrainingError.nonFinite(step: step + 1, what: what) }
            step += 1
            return StepReport(
                step: step, loss: loss, learningRate: lr, logitScale: model.logitScale, gradientNorm: norm,
                skipped: true)
        }
        if let maxNorm = options.gradientClipNorm { GradientClipping.clip(parameters, maxNorm: maxNorm) }
        optimizer.update(learningRate: lr)
        for (_, p) in model.namedParameters { p.zeroGrad() }
        // open_clip: logit_scale.clamp_(0, ln 100) after every step.
        let t = min(max(model.logitScale, 0), Float(Foundation.log(100.0)))
        if t != model.logitScale { model.logitScaleParameter.assign(Tensor(scalar: t)) }
        step += 1
        return StepReport(
            step: step, loss: loss, learningRate: lr, logitScale: model.logitScale, gradientNorm: norm, skipped: false)
    }

    /// Feature caching: cached features for the whole batch, then one backward per micro-batch
    /// whose loss sees its own fresh features and everyone else's cached ones.
    private func accumulatedBackward(pixels: Tensor, tokens: [[Int32]], trainingMode: Bool) throws -> Float {
        let b = pixels.shape[0], parts = options.accumulationSteps, size = b / parts
        let ranges = (0..<parts).map { ($0 * size)..<(($0 + 1) * size) }
        // Pass 1: features without recording (constants), BatchNorm statistics untouched.
        let frozen = try ranges.map { r -> (Tensor, Tensor) in
            let image = try model.imageFeaturesConstant(pixels.sliced(dim: 0, range: r).contiguous())
            let text = try model.encodeText(Array(tokens[r]))
            return (image, text)
        }
        var loss: Float = 0
        for (i, r) in ranges.enumerated() {
            let image = try model.imageFeatures(
                Variable(pixels.sliced(dim: 0, range: r).contiguous()), training: trainingMode)
            let text = try model.textFeatures(Array(tokens[r]))
            let images = Variable.concatenate(ranges.indices.map { $0 == i ? image : Variable(frozen[$0].0) }, dim: 0)
            let texts = Variable.concatenate(ranges.indices.map { $0 == i ? text : Variable(frozen[$0].1) }, dim: 0)
            // Every micro-batch loss contains the logit scale; only the first passes it a
            // gradient, so ∂L/∂t is counted once (open_clip would count it once per micro-batch).
            let scale = i == 0 ? model.logitScaleParameter : Variable(model.logitScaleParameter.value)
            if collective.worldSize > 1 {
                loss = try dataParallelBackward(imageFeatures: images, textFeatures: texts, logitScale: scale)
                if !loss.isFinite { return loss }
                continue
            }
            let l = ContrastiveLoss.loss(imageFeatures: images, textFeatures: texts, logitScale: scale)
            loss = l.value.item
            if !loss.isFinite { return loss }
            l.backward()
        }
        return loss
    }
}

extension CLIP {
    /// Image features with BatchNorm running statistics and nothing recorded.
    func imageFeaturesConstant(_ pixels: Tensor) throws -> Tensor {
        try visual(Variable(pixels), training: false).value
    }
}
