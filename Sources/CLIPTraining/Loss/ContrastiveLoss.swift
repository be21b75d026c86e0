import CLIPTensor
import Foundation

// The symmetric contrastive loss of the CLIP paper (Radford et al. 2021, Fig. 3), as open_clip's
// ClipLoss computes it on one device:
//   logits = exp(t) · normalize(I) · normalize(T)ᵀ        (N, N)
//   loss   = (CE(logits, arange N) + CE(logitsᵀ, arange N)) / 2
// Symbols: N batch (pairs), E embedding width, t the learnable log temperature.

/// CLIP's symmetric InfoNCE loss over an N × N similarity matrix.
public enum ContrastiveLoss {
    /// The loss (a scalar Variable) for N matching image/text pairs; row i of each is a pair.
    ///
    /// ```swift
    /// let loss = ContrastiveLoss.loss(imageFeatures: try model.imageFeatures(pixels),
    ///                                 textFeatures: try model.textFeatures(tokens),
    ///                                 logitScale: model.logitScaleParameter)
    /// loss.backward()
    /// ```
    public static func loss(imageFeatures: Variable, textFeatures: Variable, logitScale: Variable) -> Variable {
        let n = imageFeatures.shape[0]
        precondition(textFeatures.shape[0] == n, "contrastive loss: \(n) images but \(textFeatures.shape[0]) texts")
        // (N, N)
        let logitsPerImage = logits(imageFeatures: imageFeatures, textFeatures: textFeatures, logitScale: logitScale)
        let targets = Array(0..<n)
        let imageLoss = Variable.crossEntropy(logitsPerImage, targets: targets)
        let textLoss = Variable.crossEntropy(Variable.transpose(logitsPerImage, 0, 1), targets: targets)
        return (imageLoss + textLoss) * 0.5
    }

    /// exp(t) · normalize(I) · normalize(T)ᵀ, (N_images, N_texts).
    public static func logits(imageFeatures: Variable, textFeatures: Variable, logitScale: Variable) -> Variable {
        let i = Variable.l2Normalized(imageFeatures), t = Variable.l2Normalized(textFeatures)
        let similarities = Variable.matmul(i, Variable.transpose(t, 0, 1))
        return similarities * Variable.exp(logitScale)
    }
}
