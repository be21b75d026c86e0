import CLIPModel
import CLIPTensor
import CLIPTestSupport
import CLIPTraining
import CLIPWeights
import Foundation
import Testing

// One training step of tiny OpenAI-architecture CLIPs (ViT and modified ResNet) against PyTorch:
// the contrastive loss, every parameter's gradient and the BatchNorm running statistics after
// a train-mode forward. Reference numbers: scripts/reference/make_gradient_fixtures.py (float64
// torch on the same float32 weights and batch), Fixtures/gradients/README.md describes them.

/// The gradient fixtures: weights, reference tensors and the manifest.
enum GradientFixture {
    struct Manifest: Decodable {
        struct Tower: Decodable { let heads: Int }
        struct Model: Decodable {
            let architecture: String
            let weights: String
            let reference: String
            let loss: Double
            let vision: Tower
            let text: Tower
            let parameters: [String]
            let running_statistics: [String]
            let gradient_norm_floor: Double
        }
        let models: [String: Model]
    }

    static func url(_ name: String) throws -> URL {
        try #require(
            Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures/gradients"),
            "Fixtures/gradients/\(name) missing: run scripts/reference/make_gradient_fixtures.py")
    }

    static func manifest() throws -> Manifest {
        try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: url("gradients.json")))
    }

    /// Int64 values of a reference tensor.
    static func int64s(_ w: WeightTensor) -> [Int64] {
        w.withUnsafeBytes { raw in
            (0..<w.elementCount).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self) }
        }
    }

    /// Token rows of an int64 (N, T) tensor.
    static func tokens(_ w: WeightTensor) -> [[Int32]] {
        let values = int64s(w), t = w.shape[1]
        return (0..<w.shape[0]).map { r in values[(r * t)..<((r + 1) * t)].map { Int32($0) } }
    }

    /// A trainable model from the fixture's weights, the reference tensors and the batch.
    static func load(_ kind: String, frozenPrefixes: [String] = [], trainable: Bool = true) throws
        -> (model: CLIP, entry: Manifest.Model, reference: [String: WeightTensor], pixels: Tensor, tokens: [[Int32]])
    {
        let entry = try #require(try manifest().models[kind])
        let state = try WeightLoader.load(url(entry.weights))
        // Widths of 16 make OpenAI's heads = width / 64 rule give 0: heads come from the manifest
        // (the ResNet's attention-pool heads infer correctly).
        let config = try CLIPConfiguration.infer(
            from: state, textHeads: entry.text.heads,
            visionHeads: entry.architecture == "vit" ? entry.vision.heads : nil)
        let model = try CLIP(state: state, configuration: config, trainable: trainable, frozenPrefixes: frozenPrefixes)
        let reference = try WeightLoader.load(url(entry.reference)).tensors
        let pixels = try Tensor(converting: try #require(reference["pixels"]), key: "pixels")
        let tokens = tokens(try #require(reference["tokens"]))
        return (model, entry, reference, pixels, tokens)
    }
}

/// ‖actual − expected‖ / max(‖expected‖, floor) with L2 norms, in Float64.
func relativeGap(_ actual: [Float], _ expected: [Float], floor: Double) -> Double {
    precondition(actual.count == expected.count, "relativeGap: \(actual.count) vs \(expected.count) values")
    var diff = 0.0, norm = 0.0
    for (a, e) in zip(actual, expected) {
        let d = Double(a) - Double(e)
        diff += d * d
        norm += Double(e) * Double(e)
    }
    let gap = diff.squareRoot() / max(norm.squareRoot(), floor)
    return gap.isNaN ? .infinity : gap
}

@Suite struct ModelGradientTests {
    /// The issue's bound: every parameter gradient within 1e-4 of PyTorch's, relative to the
    /// gradient's norm. torch's own float32 run is within 3e-6 of the float64 reference.
    static let gradientTolerance = 1e-4

    @Test(arguments: ["vit", "rn"])
    func everyParameterGradientMatchesPyTorch(kind: String) throws {
        let (model, entry, reference, pixels, tokens) = try GradientFixture.load(kind)
        let image = try model.imageFeatures(Variable(pixels), training: true)
        let text = try model.textFeatures(tokens)
        let loss = ContrastiveLoss.loss(imageFeatures: image, textFeatures: text, logitScale: model.logitScaleParameter)

        // Forward first: features (train-mode BatchNorm for the ResNet) and the loss.
        for (name, features) in [("image_features", image), ("text_features", text)] {
            let expected = try GradientFixture.floatsOf(reference, name)
            let gap = relativeGap(features.value.scalars, expected, floor: 1e-6)
            #expect(gap <= 1e-5, "\(kind) \(name): ‖Δ‖/‖ref‖ = \(gap)")
        }
        let lossGap = abs(Double(loss.value.item) - entry.loss)
        print("\(kind): loss \(loss.value.item), PyTorch \(entry.loss), |Δ| \(lossGap)")
        #expect(lossGap <= 1e-5 * max(1, abs(entry.loss)), "\(kind) loss \(loss.value.item) vs PyTorch \(entry.loss)")

        loss.backward()

        // Every parameter the model has is one PyTorch has, and the other way round.
        let keys = model.namedParameters.map(\.key)
        #expect(
            Set(keys) == Set(entry.parameters),
            "\(kind) parameters: only in Swift \(Set(keys).subtracting(entry.parameters).sorted()), only in PyTorch \(Set(entry.parameters).subtracting(keys).sorted())"
        )

        var worst = (key: "", gap: 0.0)
        var failures: [String] = []
        for (key, variable) in model.namedParameters {
            guard let expectedW = reference["grad." + key] else { continue }
            let expected = try Tensor(converting: expectedW, key: key).scalars
            let actual = variable.grad?.scalars ?? [Float](repeating: 0, count: expected.count)
            guard actual.count == expected.count else {
                failures.append("\(key): gradient has \(actual.count) elements, PyTorch \(expected.count)")
                continue
            }
            let gap = relativeGap(actual, expected, floor: entry.gradient_norm_floor)
            if variable.grad == nil { failures.append("\(key): no gradient") }
            if gap > worst.gap || worst.key.isEmpty { worst = (key, gap) }
            if gap > Self.gradientTolerance { failures.append("\(key): ‖Δ‖/‖g‖ = \(gap)") }
        }
        print("\(kind): \(keys.count) parameter gradients, worst \(worst.key) ‖Δ‖/‖g‖ = \(worst.gap)")
        #expect(
            failures.isEmpty,
            "\(kind) gradients off (worst \(worst.key) \(worst.gap)): \(failures.prefix(8).joined(separator: "; "))")
    }

    @Test func batchNormRunningStatisticsMatchPyTorchAfterOneStep() throws {
        let (model, entry, reference, pixels, _) = try GradientFixture.load("rn")
        _ = try model.imageFeatures(Variable(pixels), training: true)
        let prefixes = model.runningStatistics.map(\.prefix)
        let expectedPrefixes = Set(
            entry.running_statistics.filter { $0.hasSuffix(".running_mean") }.map {
                String($0.dropLast(".running_mean".count))
            })
        #expect(
            Set(prefixes) == expectedPrefixes,
            "BatchNorm layers: Swift \(prefixes.sorted()), PyTorch \(expectedPrefixes.sorted())")
        var worst = (key: "", difference: 0.0)
        for (prefix, statistics) in model.runningStatistics {
            for (name, tensor) in [("running_mean", statistics.mean), ("running_var", statistics.variance)] {
                let key = "\(prefix).\(name)"
                let expected = try GradientFixture.floatsOf(reference, "running." + key)
                let d = Closeness(tensor.scalars, expected)
                if d.maxAbsoluteDifference >= worst.difference { worst = (key, d.maxAbsoluteDifference) }
                #expect(d.within(absolute: 1e-5), "\(key): \(d)")
            }
            let tracked = GradientFixture.int64s(try #require(reference["running.\(prefix).num_batches_tracked"]))
            #expect(
                tracked == [Int64(statistics.batchesTracked)],
                "\(prefix).num_batches_tracked: \(statistics.batchesTracked), PyTorch \(tracked)")
        }
        print(
            "rn: \(prefixes.count) BatchNorm layers, worst running statistic \(worst.key) max |Δ| \(worst.difference)")
    }

    @Test func lockedImageTowerLeavesTextGradientsUnchanged() throws {
        // LiT-style: the image tower is constant, so it gets no gradients, while the text tower
        // and the logit scale get exactly PyTorch's full-model gradients.
        let (model, entry, reference, pixels, tokens) = try GradientFixture.load("vit", frozenPrefixes: ["visual."])
        let loss = ContrastiveLoss.loss(
            imageFeatures: try model.imageFeatures(Variable(pixels), training: true),
            textFeatures: try model.textFeatures(tokens), logitScale: model.logitScaleParameter)
        loss.backward()
        for (key, variable) in model.namedParameters {
            if key.hasPrefix("visual.") {
                #expect(variable.grad == nil && !variable.requiresGrad, "\(key) is locked but has a gradient")
                continue
            }
            let expected = try GradientFixture.floatsOf(reference, "grad." + key)
            guard let grad = variable.grad, grad.count == expected.count else {
                Issue.record("\(key): no gradient of \(expected.count) elements with the image tower locked")
                continue
            }
            let gap = relativeGap(grad.scalars, expected, floor: entry.gradient_norm_floor)
            #expect(gap <= Self.gradientTolerance, "\(key): ‖Δ‖/‖g‖ = \(gap)")
        }
    }

    @Test func featureCachedAccumulationReproducesFullBatchGradients() throws {
        // open_clip's feature caching with 2 micro-batches of 2 must give PyTorch's whole-batch
        // gradients (ViT: no BatchNorm, so micro-batches see the same statistics).
        let (model, entry, reference, pixels, tokens) = try GradientFixture.load("vit")
        var options = TrainingOptions(batchSize: 4, steps: 1, learningRate: 1e-3)
        options.accumulationSteps = 2
        let trainer = try Trainer(model: model, options: options)
        let loss = try trainer.computeGradients(pixels: pixels, tokens: tokens)
        #expect(
            abs(Double(loss) - entry.loss) <= 1e-5 * max(1, abs(entry.loss)), "loss \(loss) vs PyTorch \(entry.loss)")
        var worst = (key: "", gap: 0.0)
        for (key, variable) in model.namedParameters {
            let expected = try GradientFixture.floatsOf(reference, "grad." + key)
            guard let grad = variable.grad, grad.count == expected.count else {
                Issue.record("\(key): no gradient of \(expected.count) elements after accumulation")
                continue
            }
            let gap = relativeGap(grad.scalars, expected, floor: entry.gradient_norm_floor)
            if gap >= worst.gap { worst = (key, gap) }
            #expect(gap <= Self.gradientTolerance, "\(key): ‖Δ‖/‖g‖ = \(gap)")
        }
        print("vit, 2 micro-batches: worst \(worst.key) ‖Δ‖/‖g‖ = \(worst.gap)")
    }

    @Test func inferenceModelRecordsNoGraph() throws {
        let (model, _, _, pixels, tokens) = try GradientFixture.load("rn", trainable: false)
        let loss = ContrastiveLoss.loss(
            imageFeatures: try model.imageFeatures(Variable(pixels), training: false),
            textFeatures: try model.textFeatures(tokens), logitScale: model.logitScaleParameter)
        #expect(!loss.requiresGrad, "a model loaded without trainable: true recorded a graph")
        #expect(model.namedParameters.allSatisfy { !$0.variable.requiresGrad })
        #expect(
            model.runningStatistics.allSatisfy { $0.statistics.batchesTracked == 0 },
            "evaluation mode updated running statistics")
    }
}

extension GradientFixture {
    /// Float32 values of a reference tensor, which must exist.
    static func floatsOf(_ reference: [String: WeightTensor], _ name: String) throws -> [Float] {
        try Tensor(converting: try #require(reference[name], "reference tensor \(name) missing"), key: name).scalars
    }
}
