import CLIPModel
import CLIPTensor

// Data-parallel contrastive loss, open_clip's `--gather-with-grad --local-loss`
// (open_clip/loss.py gather_features, ClipLoss with local_loss=True, commit of open_clip 3.x):
//   I_all = allgather(I), T_all = allgather(T)                    (N·B, E) each
//   loss_r = ( CE(s·Î_r·T̂_allᵀ, r·B + arange B) + CE(s·T̂_r·Î_allᵀ, r·B + arange B) ) / (2N)
// Σ_r loss_r is exactly the one-process loss over the global batch (mean over N·B rows, both
// directions), so summing parameter gradients over the ranks gives the one-process gradient.
// The gradient of a gathered copy belongs to the rank that owns those rows: it is summed over
// the ranks and scattered back (reduce-scatter, the backward of all_gather), then added to the
// gradient of the local rows and pushed through the towers.
// Symbols: N ranks, B pairs per rank, E embedding width, s = exp(logit scale).

extension Trainer {
    /// Forward and backward of the local loss for this rank's features (B, E) each; returns
    /// the global loss (the sum over the ranks, identical on every rank). With a non-finite
    /// global loss nothing is back-propagated, on any rank.
    func dataParallelBackward(imageFeatures: Variable, textFeatures: Variable, logitScale: Variable) throws -> Float {
        let ranks = collective.worldSize, b = imageFeatures.shape[0]
        // Leaves: the loss's inputs; their gradients are collected, routed and pushed on below.
        let localImages = Variable(imageFeatures.value, requiresGrad: true)  // (B, E)
        let localTexts = Variable(textFeatures.value, requiresGrad: true)  // (B, E)
        let allImages = Variable(try collective.allGather(imageFeatures.value), requiresGrad: true)  // (N·B, E)
        let allTexts = Variable(try collective.allGather(textFeatures.value), requiresGrad: true)  // (N·B, E)
        let targets = Array((collective.rank * b)..<((collective.rank + 1) * b))
        let perImage = ContrastiveLoss.logits(
            imageFeatures: localImages, textFeatures: allTexts, logitScale: logitScale)  // (B, N·B)
        let perText = ContrastiveLoss.logits(
            imageFeatures: localTexts, textFeatures: allImages, logitScale: logitScale)  // (B, N·B)
        let local =
            (Variable.crossEntropy(perImage, targets: targets) + Variable.crossEntropy(perText, targets: targets))
            * (0.5 / Float(ranks))
        let loss = try collective.allReduceSum([local.value.item])[0]
        guard loss.isFinite else { return loss }
        local.backward()
        let zeros = Tensor(zeros: allImages.shape)
        var imageGradient = try collective.reduceScatterSum(allImages.grad ?? zeros)  // (B, E)
        var textGradient = try collective.reduceScatterSum(allTexts.grad ?? zeros)  // (B, E)
        if let g = localImages.grad { imageGradient = imageGradient + g }
        if let g = localTexts.grad { textGradient = textGradient + g }
        if imageFeatures.requiresGrad { imageFeatures.backward(seed: imageGradient) }
        if textFeatures.requiresGrad { textFeatures.backward(seed: textGradient) }
        return loss
    }
}
