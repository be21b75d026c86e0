import CLIPTensor
import Foundation

// Zero-shot classification as in OpenAI's ImageNet notebook and open_clip's
// zero_shot_classifier: each class weight is the normalised mean of the normalised
// embeddings of its prompts.
// Symbols: K classes, P prompts per class, E embedding width, B images.

/// Classifies images among class names by comparing them with prompt embeddings.
///
/// ```swift
/// let classifier = try ZeroShotClassifier(model: model, classNames: ["cat", "dog"],
///                                          templates: ZeroShotClassifier.openAIImageNetTemplates)
/// let ranked = try classifier.classify(imageFeatures: model.encodeImage([url]))
/// print(ranked[0].first!)   // (label: "cat", probability: 0.97, logit: 24.1)
/// ```
public struct ZeroShotClassifier: Sendable {
    /// One class's score for one image.
    public struct Score: Sendable, Equatable {
        public var label: String
        public var probability: Float
        public var logit: Float
    }

    public let classNames: [String]
    /// (K, E), rows L2-normalised.
    public let classWeights: Tensor
    public let logitScale: Float

    /// Embeds every template for every class (`{}` → class name; a template without `{}`
    /// gets the name appended) and averages per class.
    public init(model: CLIP, classNames: [String], templates: [String] = ["a photo of a {}."]) throws {
        guard !classNames.isEmpty else { throw CLIPModelError.invalidInput("no class names given") }
        guard !templates.isEmpty else { throw CLIPModelError.invalidInput("no prompt templates given") }
        let prompts = classNames.flatMap { name in
            templates.map { $0.contains("{}") ? $0.replacingOccurrences(of: "{}", with: name) : "\($0) \(name)" }
        }
        let embedded = Tensor.l2Normalized(try model.encodeText(prompts))  // (K·P, E)
        let e = embedded.size(-1)
        let perClass = Tensor.mean(embedded.reshaped([classNames.count, templates.count, e]), dim: 1)  // (K, E)
        self.classNames = classNames
        self.classWeights = Tensor.l2Normalized(perClass)
        self.logitScale = model.logitScale
    }

    /// Scores (B, K) → per image, classes sorted by probability (softmax over the scaled
    /// cosine similarities), best first, at most `top` of them.
    public func classify(imageFeatures: Tensor, top: Int? = nil) -> [[Score]] {
        let logits =
            Tensor.matmul(Tensor.l2Normalized(imageFeatures), classWeights.transposed(0, 1))
            * Foundation.exp(logitScale)  // (B, K)
        let probabilities = Tensor.softmax(logits)
        let k = classNames.count
        let l = logits.scalars, p = probabilities.scalars
        return (0..<imageFeatures.shape[0]).map { b in
            let scores = (0..<k).map { Score(label: classNames[$0], probability: p[b * k + $0], logit: l[b * k + $0]) }
                .sorted { $0.probability > $1.probability }
            return Array(scores.prefix(top ?? k))
        }
    }
}
