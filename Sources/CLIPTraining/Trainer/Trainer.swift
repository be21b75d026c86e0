import CLIPModel
import CLIPTensor
import CLIPWeights
import Foundation

// One optimisation step of contrastive training (open_clip_train/train.py train_one_epoch):
// features → ClipLoss → backward → (clip) → AdamW with the cosine schedule → clamp
// logit_scale to [0, ln 100]. With accumulation, open_clip's feature caching: features of all
// micro-batches are computed without gradients first, then each micro-batch is re-run with
// gradients against the cached features of the others, so the contrastive batch stays whole.

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

/// Trains a ``CLIP`` model in place.
public final class Trainer {
    public let model: CLIP
    public let options: TrainingOptions
    public let optimizer: AdamW
    public let schedule: LearningRateSchedule
    /// Steps completed.
    public private(set) var step = 0

    /// - Parameter model: built with `trainable: true` (locked towers via `frozenPrefixes`).
    public init(model: CLIP, options: TrainingOptions) throws {
        guard model.isTrainable else { throw TrainingError.invalidOptions("the model was not loaded as trainable") }
        guard options.batchSize >= 2 else {
            throw TrainingError.invalidOptions("--batch-size must be at least 2 for a contrastive loss")
        }
        guard options.steps >= 1 else { throw TrainingError.invalidOptions("the run needs at least one step") }
        guard options.accumulationSteps >= 1 && options.batchSize % options.accumulationSteps == 0 else {
            throw TrainingError.invalidOptions("--accum-freq must divide the batch size")
        }
        self.model = model
        self.options = options
        var isViT = false
        if case .vit = model.configuration.vision { isViT = true }
        optimizer = AdamW(
            parameters: model.namedParameters,
            hyperparameters: .openCLIPDefaults(isViT: isViT, weightDecay: options.weightDecay))
        schedule = LearningRateSchedule(
            baseRate: options.learningRate, warmup: options.warmup, totalSteps: options.steps)
    }

    /// Restores the step counter and optimiser state (resume).
    public func restore(step: Int, firstMoments: [String: Tensor], secondMoments: [String: Tensor]) {
        self.step = step
        optimizer.restore(step: step, firstMoments: firstMoments, secondMoments: secondMoments)
    }

    /// Forward and backward on a batch without updating anything: the contrastive loss, with
    /// its gradients accumulated into the parameters' `grad` (nothing when the loss is not finite).
    public func computeGradients(pixels: Tensor, tokens: [[Int32]]) throws -> Float {
        let trainingMode = !options.lockImage
        if options.accumulationSteps > 1 {
            return try accumulatedBackward(pixels: pixels, tokens: tokens, trainingMode: trainingMode)
        }
        let l = ContrastiveLoss.loss(
            imageFeatures: model.imageFeatures(Variable(pixels), training: trainingMode),
            textFeatures: try model.textFeatures(tokens), logitScale: model.logitScaleParameter)
        let loss = l.value.item
        if loss.isFinite { l.backward() }
        return loss
    }

    /// Runs one optimiser step on a batch: pixels (B, 3, S, S) and B token rows.
    public func train(pixels: Tensor, tokens: [[Int32]]) throws -> StepReport {
        let lr = schedule.rate(at: step)
        let loss = try computeGradients(pixels: pixels, tokens: tokens)
        let parameters = optimizer.parameters
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
            let image = model.imageFeaturesConstant(pixels.sliced(dim: 0, range: r).contiguous())
            let text = try model.encodeText(Array(tokens[r]))
            return (image, text)
        }
        var loss: Float = 0
        for (i, r) in ranges.enumerated() {
            let image = model.imageFeatures(
                Variable(pixels.sliced(dim: 0, range: r).contiguous()), training: trainingMode)
            let text = try model.textFeatures(Array(tokens[r]))
            let images = Variable.concatenate(ranges.indices.map { $0 == i ? image : Variable(frozen[$0].0) }, dim: 0)
            let texts = Variable.concatenate(ranges.indices.map { $0 == i ? text : Variable(frozen[$0].1) }, dim: 0)
            // Every micro-batch loss contains the logit scale; only the first passes it a
            // gradient, so ∂L/∂t is counted once (open_clip would count it once per micro-batch).
            let scale = i == 0 ? model.logitScaleParameter : Variable(model.logitScaleParameter.value)
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
    func imageFeaturesConstant(_ pixels: Tensor) -> Tensor {
        visual(Variable(pixels), training: false).value
    }
}
