import CLIPTensor
import CLIPTestSupport
import Testing

// Gradients of conv2d (im2col/col2im; stride, padding, rectangular kernels, ViT patch
// embedding, 1×1, constant input or bias) and avgPool2d (disjoint and overlapping windows,
// floor mode) against finite differences (Autodiff/Variable+Convolution.swift,
// Autodiff/Variable+Pooling.swift, Kernels/Convolution.swift, Kernels/Pooling.swift).

@Suite struct GradientConvolutionTests {
    static func conv(
        _ name: String, x: Tensor, weight: Tensor, bias: Tensor?, stride: (Int, Int), padding: (Int, Int),
        trainable: [Bool]? = nil
    ) -> GradientCase {
        let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
        return GradientCase(
            name, inputs, trainable: trainable,
            op: { v in
                Variable.conv2d(v[0], weight: v[1], bias: v.count > 2 ? v[2] : nil, stride: stride, padding: padding)
            },
            reference: { d in Ref.conv2d(d[0], d[1], d.count > 2 ? d[2] : nil, stride: stride, padding: padding) })
    }

    static func pool(_ name: String, x: Tensor, kernel: (Int, Int), stride: (Int, Int)?) -> GradientCase {
        GradientCase(
            name, [x], op: { Variable.avgPool2d($0[0], kernel: kernel, stride: stride) },
            reference: { Ref.avgPool2d($0[0], kernel: kernel, stride: stride ?? kernel) })
    }

    static let cases: [GradientCase] = {
        var g = SeededGenerator(seed: 303)
        return [
            conv(
                "conv 3×3 pad 1, B=1, bias", x: Tensor.random([1, 3, 7, 6], using: &g),
                weight: Tensor.random([4, 3, 3, 3], using: &g),
                bias: Tensor.random([4], using: &g), stride: (1, 1), padding: (1, 1)),
            conv(
                "conv 3×2 stride (2, 1) pad (0, 2), B=2, no bias", x: Tensor.random([2, 2, 7, 5], using: &g),
                weight: Tensor.random([3, 2, 3, 2], using: &g),
                bias: nil, stride: (2, 1), padding: (0, 2)),
            conv(
                "conv 1×1 pointwise, B=3", x: Tensor.random([3, 4, 3, 5], using: &g),
                weight: Tensor.random([2, 4, 1, 1], using: &g),
                bias: Tensor.random([2], using: &g), stride: (1, 1), padding: (0, 0)),
            conv(
                "conv ViT patches 3×3 stride 3, B=2, 9×9", x: Tensor.random([2, 3, 9, 9], using: &g),
                weight: Tensor.random([5, 3, 3, 3], using: &g),
                bias: nil, stride: (3, 3), padding: (0, 0)),
            conv(
                "conv 3×3 stride 2 pad 1 on 5×5, B=2", x: Tensor.random([2, 3, 5, 5], using: &g),
                weight: Tensor.random([2, 3, 3, 3], using: &g),
                bias: Tensor.random([2], using: &g), stride: (2, 2), padding: (1, 1)),
            conv(
                "conv on a transposed-view input", x: Tensor.randomTransposedView([2, 2, 5, 4], using: &g),
                weight: Tensor.random([3, 2, 3, 3], using: &g),
                bias: Tensor.random([3], using: &g), stride: (1, 1), padding: (1, 1)),
            conv(
                "conv with constant input (stem: weights only)", x: Tensor.random([2, 3, 6, 5], using: &g),
                weight: Tensor.random([2, 3, 3, 3], using: &g),
                bias: Tensor.random([2], using: &g), stride: (2, 2), padding: (1, 1), trainable: [false, true, true]),
            conv(
                "conv with constant bias", x: Tensor.random([1, 2, 4, 4], using: &g),
                weight: Tensor.random([3, 2, 2, 2], using: &g),
                bias: Tensor.random([3], using: &g), stride: (1, 1), padding: (0, 0), trainable: [true, true, false]),
            conv(
                "conv with constant weight", x: Tensor.random([2, 2, 5, 3], using: &g),
                weight: Tensor.random([3, 2, 3, 3], using: &g),
                bias: nil, stride: (1, 1), padding: (1, 1), trainable: [true, false]),
            pool(
                "avgPool 2×2 on 7×6 (floor), B=2", x: Tensor.random([2, 3, 7, 6], using: &g), kernel: (2, 2),
                stride: nil),
            pool(
                "avgPool 3×2 stride (1, 2) overlapping, B=1", x: Tensor.random([1, 2, 5, 7], using: &g), kernel: (3, 2),
                stride: (1, 2)),
            pool(
                "avgPool 3×3 on a transposed view", x: Tensor.randomTransposedView([2, 2, 6, 7], using: &g),
                kernel: (3, 3), stride: nil),
        ]
    }()

    @Test(arguments: cases) func gradient(_ c: GradientCase) { GradientCheck.expect(c) }
}
