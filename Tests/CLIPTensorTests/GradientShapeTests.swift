import CLIPTensor
import CLIPTestSupport
import Testing

// Gradients of the layout ops and lookups: reshape, transpose, slice, select, concatenate,
// broadcast, mean, embedding and gatherRows (EOT pooling) against finite differences
// (Autodiff/Variable+Views.swift, Autodiff/Variable+Reductions.swift, Kernels/Reductions.swift).

@Suite struct GradientShapeTests {
    static let cases: [GradientCase] = {
        var g = SeededGenerator(seed: 606)
        return [
            GradientCase(
                "reshape (2, 3, 4) → (6, 4)", [Tensor.random([2, 3, 4], using: &g)],
                op: { Variable.reshape($0[0], [6, 4]) }, reference: { Ref.reshape($0[0], [6, 4]) }),
            GradientCase(
                "reshape transposed view (3, 5) → (5, 3) (copies)", [Tensor.randomTransposedView([3, 5], using: &g)],
                op: { Variable.reshape($0[0], [5, 3]) }, reference: { Ref.reshape($0[0], [5, 3]) }),
            GradientCase(
                "transpose (2, 3, 4) dims 1, 2", [Tensor.random([2, 3, 4], using: &g)],
                op: { Variable.transpose($0[0], 1, 2) }, reference: { Ref.transpose($0[0], 1, 2) }),
            GradientCase(
                "transpose (2, 3, 5) dims 0, 2 then softmax (non-contiguous result)",
                [Tensor.random([2, 3, 5], using: &g)],
                op: { Variable.softmax(Variable.transpose($0[0], 0, 2)) },
                reference: { Ref.softmax(Ref.transpose($0[0], 0, 2)) }),
            GradientCase(
                "slice dim 1 of (2, 5, 3)", [Tensor.random([2, 5, 3], using: &g)],
                op: { Variable.slice($0[0], dim: 1, range: 1..<4) },
                reference: { Ref.slice($0[0], dim: 1, range: 1..<4) }),
            GradientCase(
                "slice last dim of a transposed view", [Tensor.randomTransposedView([3, 6], using: &g)],
                op: { Variable.slice($0[0], dim: 1, range: 2..<6) },
                reference: { Ref.slice($0[0], dim: 1, range: 2..<6) }),
            GradientCase(
                "select token 0 of (2, 4, 3) (class token)", [Tensor.random([2, 4, 3], using: &g)],
                op: { Variable.select($0[0], dim: 1, index: 0) }, reference: { Ref.select($0[0], dim: 1, index: 0) }),
            GradientCase(
                "select batch 1 of (3, 2, 5)", [Tensor.random([3, 2, 5], using: &g)],
                op: { Variable.select($0[0], dim: 0, index: 1) }, reference: { Ref.select($0[0], dim: 0, index: 1) }),
            GradientCase(
                "concatenate three parts along dim 1 (class token + patches)",
                [
                    Tensor.random([2, 1, 3], using: &g), Tensor.random([2, 4, 3], using: &g),
                    Tensor.random([2, 2, 3], using: &g),
                ],
                op: { Variable.concatenate($0, dim: 1) }, reference: { Ref.concatenate($0, dim: 1) }),
            GradientCase(
                "concatenate along dim −1 with a constant part",
                [Tensor.random([3, 2], using: &g), Tensor.random([3, 4], using: &g)], trainable: [false, true],
                op: { Variable.concatenate($0, dim: -1) }, reference: { Ref.concatenate($0, dim: 1) }),
            GradientCase(
                "broadcast (1, 3) → (4, 3)", [Tensor.random([1, 3], using: &g)],
                op: { Variable.broadcast($0[0], to: [4, 3]) }, reference: { Ref.broadcast($0[0], to: [4, 3]) }),
            GradientCase(
                "broadcast (3, 1) → (2, 3, 5) (class embedding over the batch)", [Tensor.random([3, 1], using: &g)],
                op: { Variable.broadcast($0[0], to: [2, 3, 5]) }, reference: { Ref.broadcast($0[0], to: [2, 3, 5]) }),
            GradientCase(
                "mean dim 0 of (4, 3)", [Tensor.random([4, 3], using: &g)],
                op: { Variable.mean($0[0], dim: 0) }, reference: { Ref.mean($0[0], dim: 0) }),
            GradientCase(
                "mean dim 1 of (2, 5, 3) (token mean pooling)", [Tensor.random([2, 5, 3], using: &g)],
                op: { Variable.mean($0[0], dim: 1) }, reference: { Ref.mean($0[0], dim: 1) }),
            GradientCase(
                "mean dim −1 of a transposed view", [Tensor.randomTransposedView([2, 3, 4], using: &g)],
                op: { Variable.mean($0[0], dim: -1) }, reference: { Ref.mean($0[0], dim: 2) }),
            GradientCase(
                "embedding (7, 3) with repeated ids, shape (2, 4)", [Tensor.random([7, 3], using: &g)],
                op: { Variable.embedding($0[0], ids: [3, 0, 6, 3, 3, 1, 0, 5], idsShape: [2, 4]) },
                reference: { Ref.embedding($0[0], ids: [3, 0, 6, 3, 3, 1, 0, 5], idsShape: [2, 4]) }),
            GradientCase(
                "embedding batch 1, one id", [Tensor.random([4, 5], using: &g)],
                op: { Variable.embedding($0[0], ids: [2], idsShape: [1, 1]) },
                reference: { Ref.embedding($0[0], ids: [2], idsShape: [1, 1]) }),
            GradientCase(
                "gatherRows (3, 5, 4) at EOT positions [4, 0, 2]", [Tensor.random([3, 5, 4], using: &g)],
                op: { Variable.gatherRows($0[0], indices: [4, 0, 2]) },
                reference: { Ref.gatherRows($0[0], indices: [4, 0, 2]) }),
            GradientCase(
                "gatherRows of a transposed view, batch 1", [Tensor.randomTransposedView([1, 4, 3], using: &g)],
                op: { Variable.gatherRows($0[0], indices: [3]) }, reference: { Ref.gatherRows($0[0], indices: [3]) }),
        ]
    }()

    @Test(arguments: cases) func gradient(_ c: GradientCase) { GradientCheck.expect(c) }
}
