import CLIPModel
import CLIPTensor
import CLIPTestSupport
import CLIPTraining
import CLIPWeights
import Foundation
import Testing

/// Tiny models trained on fixed random batches: the loss falls, resume is bit-exact,
/// non-finite values stop or skip a step, locked towers stay fixed.
@Suite struct TrainerTests {
    static let vit = CLIPConfiguration(
        embedDim: 8, vision: .vit(imageSize: 16, patchSize: 8, width: 16, layers: 1, heads: 2),
        text: TextConfiguration(contextLength: 8, vocabularySize: 32, width: 16, heads: 2, layers: 1))
    static let resnet = CLIPConfiguration(
        embedDim: 8, vision: .resnet(imageSize: 32, layers: [1, 1, 1, 1], width: 2, heads: 1),
        text: TextConfiguration(contextLength: 8, vocabularySize: 32, width: 16, heads: 2, layers: 1))

    /// Batch `i`: 4 random images and 4 distinct token rows (SOT 30, EOT 31).
    static func batch(_ i: Int, size: Int) -> (Tensor, [[Int32]]) {
        var g = SeededGenerator(seed: UInt64(100 + i))
        let pixels = Tensor.random([4, 3, size, size], using: &g)
        let tokens = (0..<4).map { r -> [Int32] in
            [30, Int32(1 + (i * 4 + r) % 29), Int32(1 + r), 31] + [Int32](repeating: 0, count: 4)
        }
        return (pixels, tokens)
    }

    static func allParameters(_ model: CLIP) -> [Float] { model.namedParameters.flatMap { $0.variable.value.scalars } }

    @Test(arguments: [vit, resnet]) func lossFallsOnARepeatedBatch(config: CLIPConfiguration) throws {
        let model = try CLIP(configuration: config, seed: 1)
        var options = TrainingOptions(batchSize: 4, steps: 30, learningRate: 5e-3)
        options.weightDecay = 0
        let trainer = try Trainer(model: model, options: options)
        let (pixels, tokens) = Self.batch(0, size: config.vision.imageSize)
        let first = try trainer.train(pixels: pixels, tokens: tokens)
        var last = first
        for _ in 1..<30 { last = try trainer.train(pixels: pixels, tokens: tokens) }
        #expect(last.loss < first.loss * 0.7, "loss \(first.loss) → \(last.loss)")
        #expect(last.step == 30 && last.logitScale >= 0 && last.logitScale <= Float(log(100.0)))
    }

    @Test(arguments: [vit, resnet]) func resumedRunMatchesUninterruptedRunBitForBit(config: CLIPConfiguration) throws {
        var options = TrainingOptions(batchSize: 4, steps: 6, learningRate: 1e-3)
        options.warmup = 2
        options.gradientClipNorm = 1
        let size = config.vision.imageSize
        let straight = try Trainer(model: try CLIP(configuration: config, seed: 7), options: options)
        for i in 0..<6 {
            let (p, t) = Self.batch(i, size: size)
            _ = try straight.train(pixels: p, tokens: t)
        }

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clip-resume-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let first = try Trainer(model: try CLIP(configuration: config, seed: 7), options: options)
        for i in 0..<3 {
            let (p, t) = Self.batch(i, size: size)
            _ = try first.train(pixels: p, tokens: t)
        }
        try Checkpoint.save(first, to: dir)
        let resumed = try Checkpoint.resume(from: try Checkpoint.latest(in: dir))
        #expect(resumed.step == 3 && resumed.runDescription == first.runDescription)
        for i in 3..<6 {
            let (p, t) = Self.batch(i, size: size)
            _ = try resumed.train(pixels: p, tokens: t)
        }

        let a = Self.allParameters(straight.model), b = Self.allParameters(resumed.model)
        #expect(a.count == b.count)
        let differing = zip(a, b).filter { $0.bitPattern != $1.bitPattern }.count
        #expect(differing == 0, "\(differing) of \(a.count) parameter values differ after resume")
        // BatchNorm running statistics resume too.
        let sa = straight.model.runningStatistics.flatMap {
            $0.statistics.mean.scalars + $0.statistics.variance.scalars
        }
        let sb = resumed.model.runningStatistics.flatMap { $0.statistics.mean.scalars + $0.statistics.variance.scalars }
        #expect(sa.map(\.bitPattern) == sb.map(\.bitPattern))
        // latest.safetensors loads for inference with the stored configuration.
        let latest = try CLIP.load(dir.appendingPathComponent("latest.safetensors"))
        #expect(latest.configuration == config)
    }

    @Test func nonFiniteLossStopsOrSkips() throws {
        let model = try CLIP(configuration: Self.vit, seed: 3)
        let (pixels, tokens) = Self.batch(0, size: 16)
        var bad = pixels.scalars
        bad[5] = .nan
        let nanPixels = Tensor(shape: pixels.shape, scalars: bad)
        let before = Self.allParameters(model)
        var options = TrainingOptions(batchSize: 4, steps: 3, learningRate: 1e-3)
        let trainer = try Trainer(model: model, options: options)
        #expect(throws: TrainingError.nonFinite(step: 1, what: "loss")) {
            _ = try trainer.train(pixels: nanPixels, tokens: tokens)
        }
        #expect(Self.allParameters(model).map(\.bitPattern) == before.map(\.bitPattern))
        options.skipNonFinite = true
        let skipping = try Trainer(model: model, options: options)
        let report = try skipping.train(pixels: nanPixels, tokens: tokens)
        #expect(report.skipped && report.step == 1)
        #expect(Self.allParameters(model).map(\.bitPattern) == before.map(\.bitPattern))
    }

    @Test func lockedImageTowerStaysFixedAndAccumulationKeepsTheBatchWhole() throws {
        let model = try CLIP(configuration: Self.vit, seed: 4, lockedTowers: [.image])
        #expect(model.lockedTowers == [.image])
        let visualBefore = model.namedParameters.filter { $0.key.hasPrefix("visual.") }.flatMap {
            $0.variable.value.scalars
        }
        let options = TrainingOptions(batchSize: 4, steps: 2, learningRate: 1e-2)
        let trainer = try Trainer(model: model, options: options)
        #expect(trainer.runDescription.lockedTowers == [.image])
        let (p, t) = Self.batch(0, size: 16)
        _ = try trainer.train(pixels: p, tokens: t)
        let visualAfter = model.namedParameters.filter { $0.key.hasPrefix("visual.") }.flatMap {
            $0.variable.value.scalars
        }
        #expect(visualBefore == visualAfter)
        #expect(trainer.optimizer.parameters.allSatisfy { !$0.key.hasPrefix("visual.") })

        // Two micro-batches with feature caching give the gradients of the whole batch.
        var one = TrainingOptions(batchSize: 4, steps: 1, learningRate: 1e-3)
        one.weightDecay = 0
        var two = one
        two.accumulationSteps = 2
        let a = try Trainer(model: try CLIP(configuration: Self.vit, seed: 5), options: one)
        let b = try Trainer(model: try CLIP(configuration: Self.vit, seed: 5), options: two)
        let la = try a.computeGradients(pixels: p, tokens: t), lb = try b.computeGradients(pixels: p, tokens: t)
        #expect(abs(la - lb) < 1e-5)
        for ((key, pa), (_, pb)) in zip(a.model.namedParameters, b.model.namedParameters) {
            let ga = pa.grad?.scalars ?? [], gb = pb.grad?.scalars ?? []
            let norm = ga.map { Double($0) * Double($0) }.reduce(0, +).squareRoot()
            let diff = Closeness(gb, ga)
            #expect(diff.maxAbsoluteDifference <= 1e-4 * max(norm, 1e-3), "\(key): \(diff), gradient norm \(norm)")
        }
    }
}
