import CLIPTensor
import CLIPTestSupport
import Testing

// Gradients of batch norm (training mode with batch statistics, and inference mode with
// running statistics), layer norm and L2 normalisation against finite differences
// (Autodiff/Variable+Normalization.swift, Kernels/Normalization.swift).

@Suite struct GradientNormalizationTests {
    static func batchNormTraining(_ name: String, _ x: Tensor, using g: inout SeededGenerator) -> GradientCase {
        let c = x.shape[1]
        return GradientCase(
            name, [x, Tensor.random([c], in: 0.5...1.5, using: &g), Tensor.random([c], using: &g)],
            op: { v in Variable.batchNormTraining(v[0], weight: v[1], bias: v[2]) { _, _ in } },
            reference: { d in Ref.batchNormTraining(d[0], weight: d[1], bias: d[2]) })
    }

    static func batchNormInference(_ name: String, _ x: Tensor, using g: inout SeededGenerator) -> GradientCase {
        let c = x.shape[1]
        let mean = Tensor.random([c], using: &g), variance = Tensor.random([c], in: 0.2...2, using: &g)
        return GradientCase(
            name, [x, Tensor.random([c], in: 0.5...1.5, using: &g), Tensor.random([c], using: &g)],
            op: { v in
                Variable.batchNormInference(v[0], runningMean: mean, runningVar: variance, weight: v[1], bias: v[2])
            },
            reference: { d in
                Ref.batchNorm(
                    d[0], mean: Naive.values(mean), variance: Naive.values(variance), weight: d[1], bias: d[2])
            })
    }

    static func layerNorm(_ name: String, _ x: Tensor, trainable: [Bool]? = nil, using g: inout SeededGenerator)
        -> GradientCase
    {
        let n = x.shape.last ?? 1
        return GradientCase(
            name, [x, Tensor.random([n], in: 0.5...1.5, using: &g), Tensor.random([n], using: &g)],
            trainable: trainable,
            op: { v in Variable.layerNorm(v[0], weight: v[1], bias: v[2]) },
            reference: { d in Ref.layerNorm(d[0], weight: d[1], bias: d[2]) })
    }

    static let cases: [GradientCase] = {
        var g = SeededGenerator(seed: 404)
        return [
            batchNormTraining("batchNorm training (3, 4, 3, 5)", Tensor.random([3, 4, 3, 5], using: &g), using: &g),
            batchNormTraining(
                "batchNorm training B=1 (1, 3, 3, 3)", Tensor.random([1, 3, 3, 3], using: &g), using: &g),
            batchNormTraining("batchNorm training (5, 3) features", Tensor.random([5, 3], using: &g), using: &g),
            batchNormTraining(
                "batchNorm training transposed view (2, 3, 4, 3)",
                Tensor.randomTransposedView([2, 3, 4, 3], using: &g), using: &g),
            batchNormInference("batchNorm inference (2, 3, 3, 5)", Tensor.random([2, 3, 3, 5], using: &g), using: &g),
            batchNormInference(
                "batchNorm inference B=1 (1, 4, 2, 3)", Tensor.random([1, 4, 2, 3], using: &g), using: &g),
            layerNorm("layerNorm (3, 7)", Tensor.random([3, 7], using: &g), using: &g),
            layerNorm("layerNorm (2, 5, 9) B=2", Tensor.random([2, 5, 9], in: -3...3, using: &g), using: &g),
            layerNorm(
                "layerNorm (1, 4, 6) B=1 transposed view", Tensor.randomTransposedView([1, 4, 6], using: &g), using: &g),
            layerNorm(
                "layerNorm sliced view, constant weight and bias", Tensor.randomSlicedView([3, 5], using: &g),
                trainable: [true, false, false], using: &g),
            layerNorm(
                "layerNorm constant input (ln_post on frozen features)", Tensor.random([4, 5], using: &g),
                trainable: [false, true, true], using: &g),
            GradientCase(
                "l2Normalized (4, 6)", [Tensor.random([4, 6], using: &g)],
                op: { Variable.l2Normalized($0[0]) }, reference: { Ref.l2Normalized($0[0]) }),
            GradientCase(
                "l2Normalized (2, 3, 5) transposed view", [Tensor.randomTransposedView([2, 3, 5], using: &g)],
                op: { Variable.l2Normalized($0[0]) }, reference: { Ref.l2Normalized($0[0]) }),
            GradientCase(
                "l2Normalized (1, 9) B=1, large norm", [Tensor.random([1, 9], in: -30...30, using: &g)],
                op: { Variable.l2Normalized($0[0]) }, reference: { Ref.l2Normalized($0[0]) }),
        ]
    }()

    @Test(arguments: cases) func gradient(_ c: GradientCase) { GradientCheck.expect(c) }

    /// The statistics handed to `update` are the batch mean and the biased variance (the
    /// caller turns the latter into PyTorch's unbiased running_var).
    @Test(arguments: [[3, 4, 3, 5], [1, 3, 2, 2], [6, 2]])
    func batchNormTrainingReportsBatchStatistics(shape: [Int]) {
        var g = SeededGenerator(seed: 405)
        let x = Tensor.random(shape, in: -2...3, using: &g)
        let c = shape[1]
        var reported: ([Float], [Float])?
        _ = Variable.batchNormTraining(
            Variable(x), weight: Variable(Tensor(repeating: 1, shape: [c])),
            bias: Variable(Tensor(zeros: [c]))
        ) { reported = ($0, $1) }
        let expected = Ref.batchStatistics(DTensor(x))
        let mean = Closeness(reported?.0 ?? [], expected.mean),
            variance = Closeness(reported?.1 ?? [], expected.variance)
        #expect(mean.within(absolute: 1e-6), "batch mean \(shape): \(mean)")
        #expect(variance.within(absolute: 1e-6), "batch variance \(shape): \(variance)")
    }
}
