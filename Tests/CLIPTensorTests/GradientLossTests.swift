import CLIPTensor
import CLIPTestSupport
import Foundation
import Testing

// Gradients of cross-entropy and of CLIP's contrastive loss assembled from Variable ops
// (logits = e^t · normalise(I) · normalise(T)ᵀ, symmetric cross-entropy, as open_clip's
// ClipLoss) against finite differences (Autodiff/Variable+Loss.swift, Kernels/Loss.swift).

@Suite struct GradientLossTests {
    /// The symmetric contrastive loss on Variables: image (N, E), text (N, E), t [] (log scale).
    static func contrastive(_ image: Variable, _ text: Variable, _ t: Variable) -> Variable {
        let logits =
            Variable.exp(t)
            * Variable.matmul(Variable.l2Normalized(image), Variable.transpose(Variable.l2Normalized(text), 0, 1))
        let targets = Array(0..<image.shape[0])
        return
            (Variable.crossEntropy(logits, targets: targets)
            + Variable.crossEntropy(Variable.transpose(logits, 0, 1), targets: targets)) * 0.5
    }

    static func contrastiveReference(_ image: DTensor, _ text: DTensor, _ t: DTensor) -> DTensor {
        let logits = Ref.binary(
            t, Ref.matmul(Ref.l2Normalized(image), Ref.transpose(Ref.l2Normalized(text), 0, 1)),
            { Foundation.exp($0) * $1 })
        let targets = Array(0..<image.shape[0])
        let a = Ref.crossEntropy(logits, targets: targets).values[0],
            b = Ref.crossEntropy(Ref.transpose(logits, 0, 1), targets: targets).values[0]
        return DTensor(shape: [], values: [(a + b) / 2])
    }

    static let cases: [GradientCase] = {
        var g = SeededGenerator(seed: 707)
        return [
            GradientCase(
                "crossEntropy (5, 7)", [Tensor.random([5, 7], in: -3...3, using: &g)],
                op: { Variable.crossEntropy($0[0], targets: [0, 6, 3, 3, 1]) },
                reference: { Ref.crossEntropy($0[0], targets: [0, 6, 3, 3, 1]) }),
            GradientCase(
                "crossEntropy batch 1 (1, 3)", [Tensor.random([1, 3], using: &g)],
                op: { Variable.crossEntropy($0[0], targets: [2]) }, reference: { Ref.crossEntropy($0[0], targets: [2]) }
            ),
            GradientCase(
                "crossEntropy of a transposed view (4, 4)",
                [Tensor.randomTransposedView([4, 4], in: -5...5, using: &g)],
                op: { Variable.crossEntropy($0[0], targets: [0, 1, 2, 3]) },
                reference: { Ref.crossEntropy($0[0], targets: [0, 1, 2, 3]) }),
            GradientCase(
                "crossEntropy large logits (stability)", [Tensor.random([3, 5], in: 40...60, using: &g)],
                op: { Variable.crossEntropy($0[0], targets: [4, 0, 2]) },
                reference: { Ref.crossEntropy($0[0], targets: [4, 0, 2]) }),
            GradientCase(
                "contrastive loss N=4 E=5, learnable scale",
                [
                    Tensor.random([4, 5], using: &g), Tensor.random([4, 5], using: &g),
                    Tensor(scalar: Float(Foundation.log(1 / 0.07))),
                ],
                op: { contrastive($0[0], $0[1], $0[2]) }, reference: { contrastiveReference($0[0], $0[1], $0[2]) }),
            GradientCase(
                "contrastive loss N=3, frozen text tower",
                [Tensor.random([3, 6], using: &g), Tensor.random([3, 6], using: &g), Tensor(scalar: 1)],
                trainable: [true, false, true],
                op: { contrastive($0[0], $0[1], $0[2]) }, reference: { contrastiveReference($0[0], $0[1], $0[2]) }),
            GradientCase(
                "contrastive loss N=1 (one pair: zero gradient)",
                [Tensor.random([1, 4], using: &g), Tensor.random([1, 4], using: &g), Tensor(scalar: 2)],
                op: { contrastive($0[0], $0[1], $0[2]) }, reference: { contrastiveReference($0[0], $0[1], $0[2]) }),
        ]
    }()

    @Test(arguments: cases) func gradient(_ c: GradientCase) { GradientCheck.expect(c) }
}
