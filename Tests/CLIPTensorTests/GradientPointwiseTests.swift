import CLIPTensor
import CLIPTestSupport
import Foundation
import Testing

// Gradients of +, −, ∘ (with broadcasting), scale, exp, GELU, QuickGELU, ReLU, softmax and
// sum against finite differences of GradientReference.swift (Autodiff/Variable+Elementwise.swift,
// Autodiff/Variable+Activations.swift).

@Suite struct GradientPointwiseTests {
    static let cases: [GradientCase] = {
        var g = SeededGenerator(seed: 101)
        return [
            GradientCase(
                "add same shape (3, 5)", [Tensor.random([3, 5], using: &g), Tensor.random([3, 5], using: &g)],
                op: { $0[0] + $0[1] }, reference: { Ref.binary($0[0], $0[1], +) }),
            GradientCase(
                "add (2, 3, 5) + bias (5)", [Tensor.random([2, 3, 5], using: &g), Tensor.random([5], using: &g)],
                op: { $0[0] + $0[1] }, reference: { Ref.binary($0[0], $0[1], +) }),
            GradientCase(
                "add (2, 1, 5) + (3, 1): both broadcast",
                [Tensor.random([2, 1, 5], using: &g), Tensor.random([3, 1], using: &g)],
                op: { $0[0] + $0[1] }, reference: { Ref.binary($0[0], $0[1], +) }),
            GradientCase(
                "add transposed view (4, 3) + (1, 3)",
                [Tensor.randomTransposedView([4, 3], using: &g), Tensor.random([1, 3], using: &g)],
                op: { $0[0] + $0[1] }, reference: { Ref.binary($0[0], $0[1], +) }),
            GradientCase(
                "add constant bias", [Tensor.random([3, 5], using: &g), Tensor.random([5], using: &g)],
                trainable: [true, false],
                op: { $0[0] + $0[1] }, reference: { Ref.binary($0[0], $0[1], +) }),
            GradientCase(
                "subtract (4, 1) − (1, 3)", [Tensor.random([4, 1], using: &g), Tensor.random([1, 3], using: &g)],
                op: { $0[0] - $0[1] }, reference: { Ref.binary($0[0], $0[1], -) }),
            GradientCase(
                "subtract (3) − (2, 3) from a constant",
                [Tensor.random([3], using: &g), Tensor.random([2, 3], using: &g)],
                trainable: [false, true], op: { $0[0] - $0[1] }, reference: { Ref.binary($0[0], $0[1], -) }),
            GradientCase(
                "multiply same shape (2, 3, 5)",
                [Tensor.random([2, 3, 5], using: &g), Tensor.random([2, 3, 5], using: &g)],
                op: { $0[0] * $0[1] }, reference: { Ref.binary($0[0], $0[1], *) }),
            GradientCase(
                "multiply (2, 3, 5) ∘ (3, 1), transposed left",
                [Tensor.randomTransposedView([2, 3, 5], using: &g), Tensor.random([3, 1], using: &g)],
                op: { $0[0] * $0[1] }, reference: { Ref.binary($0[0], $0[1], *) }),
            GradientCase(
                "multiply by a scalar tensor [] ", [Tensor.random([4, 3], using: &g), Tensor.random([], using: &g)],
                op: { $0[0] * $0[1] }, reference: { Ref.binary($0[0], $0[1], *) }),
            GradientCase(
                "multiply (1) ∘ (3, 3)", [Tensor.random([1], using: &g), Tensor.random([3, 3], using: &g)],
                op: { $0[0] * $0[1] }, reference: { Ref.binary($0[0], $0[1], *) }),
            GradientCase(
                "scale by −1.7", [Tensor.random([3, 7], using: &g)],
                op: { $0[0] * Float(-1.7) }, reference: { Ref.map($0[0]) { $0 * Double(Float(-1.7)) } }),
            GradientCase(
                "exp (2, 3, 5)", [Tensor.random([2, 3, 5], in: -2...2, using: &g)],
                op: { Variable.exp($0[0]) }, reference: { Ref.map($0[0], Foundation.exp) }),
            GradientCase(
                "exp of a scalar (logit scale)", [Tensor(scalar: 2.659)],
                op: { Variable.exp($0[0]) }, reference: { Ref.map($0[0], Foundation.exp) }),
            GradientCase(
                "gelu (3, 11)", [Tensor.random([3, 11], in: -4...4, using: &g)],
                op: { Variable.gelu($0[0]) }, reference: { Ref.map($0[0], Ref.gelu) }),
            GradientCase(
                "gelu transposed view", [Tensor.randomTransposedView([5, 3], using: &g)],
                op: { Variable.gelu($0[0]) }, reference: { Ref.map($0[0], Ref.gelu) }),
            GradientCase(
                "quickGELU (3, 11)", [Tensor.random([3, 11], in: -4...4, using: &g)],
                op: { Variable.quickGELU($0[0]) }, reference: { Ref.map($0[0], Ref.quickGELU) }),
            GradientCase(
                "quickGELU sliced view", [Tensor.randomSlicedView([2, 3, 4], using: &g)],
                op: { Variable.quickGELU($0[0]) }, reference: { Ref.map($0[0], Ref.quickGELU) }),
            GradientCase(
                "relu (4, 9) away from the kink", [Tensor.randomAwayFromZero([4, 9], using: &g)],
                op: { Variable.relu($0[0]) }, reference: { Ref.map($0[0]) { max($0, 0) } }),
            GradientCase(
                "softmax (3, 7)", [Tensor.random([3, 7], in: -3...3, using: &g)],
                op: { Variable.softmax($0[0]) }, reference: { Ref.softmax($0[0]) }),
            GradientCase(
                "softmax (2, 3, 5) transposed view", [Tensor.randomTransposedView([2, 3, 5], using: &g)],
                op: { Variable.softmax($0[0]) }, reference: { Ref.softmax($0[0]) }),
            GradientCase(
                "softmax of one element", [Tensor.random([4, 1], using: &g)],
                op: { Variable.softmax($0[0]) }, reference: { Ref.softmax($0[0]) }),
            GradientCase(
                "sum (2, 3, 5)", [Tensor.random([2, 3, 5], using: &g)],
                op: { Variable.sum($0[0]) }, reference: { Ref.sum($0[0]) }),
            GradientCase(
                "sum of a sliced view", [Tensor.randomSlicedView([3, 4], using: &g)],
                op: { Variable.sum($0[0]) }, reference: { Ref.sum($0[0]) }),
        ]
    }()

    @Test(arguments: cases) func gradient(_ c: GradientCase) { GradientCheck.expect(c) }
}
