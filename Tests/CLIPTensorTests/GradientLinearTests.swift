import CLIPTensor
import CLIPTestSupport
import Testing

// Gradients of matmul (broadcast batch dimensions) and linear (with and without bias, bias or
// weight held constant) against finite differences (Autodiff/Variable+Matmul.swift,
// Kernels/Matmul.swift).

@Suite struct GradientLinearTests {
    static let cases: [GradientCase] = {
        var g = SeededGenerator(seed: 202)
        return [
            GradientCase(
                "matmul (3, 5) · (5, 4)", [Tensor.random([3, 5], using: &g), Tensor.random([5, 4], using: &g)],
                op: { Variable.matmul($0[0], $0[1]) }, reference: { Ref.matmul($0[0], $0[1]) }),
            GradientCase(
                "matmul (1, 7) · (7, 1)", [Tensor.random([1, 7], using: &g), Tensor.random([7, 1], using: &g)],
                op: { Variable.matmul($0[0], $0[1]) }, reference: { Ref.matmul($0[0], $0[1]) }),
            GradientCase(
                "matmul (2, 3, 5) · shared (5, 4)",
                [Tensor.random([2, 3, 5], using: &g), Tensor.random([5, 4], using: &g)],
                op: { Variable.matmul($0[0], $0[1]) }, reference: { Ref.matmul($0[0], $0[1]) }),
            GradientCase(
                "matmul (2, 3, 5) · (2, 5, 4)",
                [Tensor.random([2, 3, 5], using: &g), Tensor.random([2, 5, 4], using: &g)],
                op: { Variable.matmul($0[0], $0[1]) }, reference: { Ref.matmul($0[0], $0[1]) }),
            GradientCase(
                "matmul (2, 1, 3, 5) · (3, 5, 2): batch broadcast",
                [Tensor.random([2, 1, 3, 5], using: &g), Tensor.random([3, 5, 2], using: &g)],
                op: { Variable.matmul($0[0], $0[1]) }, reference: { Ref.matmul($0[0], $0[1]) }),
            GradientCase(
                "matmul (3, 5) · (2, 5, 4): left broadcast",
                [Tensor.random([3, 5], using: &g), Tensor.random([2, 5, 4], using: &g)],
                op: { Variable.matmul($0[0], $0[1]) }, reference: { Ref.matmul($0[0], $0[1]) }),
            GradientCase(
                "matmul transposed views",
                [Tensor.randomTransposedView([2, 3, 5], using: &g), Tensor.randomTransposedView([5, 4], using: &g)],
                op: { Variable.matmul($0[0], $0[1]) }, reference: { Ref.matmul($0[0], $0[1]) }),
            GradientCase(
                "matmul sliced view · constant",
                [Tensor.randomSlicedView([4, 5], using: &g), Tensor.random([5, 3], using: &g)],
                trainable: [true, false], op: { Variable.matmul($0[0], $0[1]) }, reference: { Ref.matmul($0[0], $0[1]) }
            ),
            GradientCase(
                "matmul constant · (5, 3)", [Tensor.random([4, 5], using: &g), Tensor.random([5, 3], using: &g)],
                trainable: [false, true], op: { Variable.matmul($0[0], $0[1]) }, reference: { Ref.matmul($0[0], $0[1]) }
            ),
            GradientCase(
                "linear (3, 5) → 4 with bias",
                [Tensor.random([3, 5], using: &g), Tensor.random([4, 5], using: &g), Tensor.random([4], using: &g)],
                op: { Variable.linear($0[0], weight: $0[1], bias: $0[2]) },
                reference: { Ref.linear($0[0], $0[1], $0[2]) }),
            GradientCase(
                "linear (1, 7) → 3, batch 1",
                [Tensor.random([1, 7], using: &g), Tensor.random([3, 7], using: &g), Tensor.random([3], using: &g)],
                op: { Variable.linear($0[0], weight: $0[1], bias: $0[2]) },
                reference: { Ref.linear($0[0], $0[1], $0[2]) }),
            GradientCase(
                "linear (2, 3, 5) → 6 without bias",
                [Tensor.random([2, 3, 5], using: &g), Tensor.random([6, 5], using: &g)],
                op: { Variable.linear($0[0], weight: $0[1], bias: nil) }, reference: { Ref.linear($0[0], $0[1], nil) }),
            GradientCase(
                "linear transposed-view input (2, 5, 3)",
                [
                    Tensor.randomTransposedView([2, 5, 3], using: &g), Tensor.random([4, 3], using: &g),
                    Tensor.random([4], using: &g),
                ],
                op: { Variable.linear($0[0], weight: $0[1], bias: $0[2]) },
                reference: { Ref.linear($0[0], $0[1], $0[2]) }),
            GradientCase(
                "linear sliced-view input (3, 4) (fused QKV column slice)",
                [
                    Tensor.randomSlicedView([3, 4], using: &g), Tensor.random([2, 4], using: &g),
                    Tensor.random([2], using: &g),
                ],
                op: { Variable.linear($0[0], weight: $0[1], bias: $0[2]) },
                reference: { Ref.linear($0[0], $0[1], $0[2]) }),
            GradientCase(
                "linear with constant bias",
                [Tensor.random([3, 5], using: &g), Tensor.random([4, 5], using: &g), Tensor.random([4], using: &g)],
                trainable: [true, true, false], op: { Variable.linear($0[0], weight: $0[1], bias: $0[2]) },
                reference: { Ref.linear($0[0], $0[1], $0[2]) }),
            GradientCase(
                "linear with constant weight and bias (input only)",
                [Tensor.random([3, 5], using: &g), Tensor.random([4, 5], using: &g), Tensor.random([4], using: &g)],
                trainable: [true, false, false], op: { Variable.linear($0[0], weight: $0[1], bias: $0[2]) },
                reference: { Ref.linear($0[0], $0[1], $0[2]) }),
            GradientCase(
                "linear with constant input (a frozen tower's features)",
                [Tensor.random([3, 5], using: &g), Tensor.random([4, 5], using: &g), Tensor.random([4], using: &g)],
                trainable: [false, true, true], op: { Variable.linear($0[0], weight: $0[1], bias: $0[2]) },
                reference: { Ref.linear($0[0], $0[1], $0[2]) }),
        ]
    }()

    @Test(arguments: cases) func gradient(_ c: GradientCase) { GradientCheck.expect(c) }
}
