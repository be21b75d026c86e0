import ArgumentParser
import CLIP
import Foundation

/// `clip-bench train-step`: one contrastive training step of a model config on random inputs,
/// with the time split into forward, backward and optimiser; JSON out (scripts/bench/train_step.py
/// runs PyTorch on the same config beside it).
struct TrainStepBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-step",
        abstract: "Time one training step (forward, backward, AdamW) of a model config; JSON out.")

    @Option(help: "open_clip model-config JSON.")
    var modelConfig: String

    @Option(help: "Batch size.")
    var batchSize = 128

    @Option(help: "Steps to time (after one warm-up step).")
    var steps = 5

    @Option(help: "Threads.")
    var threads = ProcessInfo.processInfo.activeProcessorCount

    func run() throws {
        Parallel.threadCount = threads
        let config = try JSONDecoder().decode(
            CLIPConfiguration.self, from: Data(contentsOf: URL(fileURLWithPath: modelConfig)))
        let model = try CLIP(configuration: config, seed: 0)
        let trainer = try Trainer(
            model: model, options: TrainingOptions(batchSize: batchSize, steps: steps + 1, learningRate: 1e-4))
        var g = SystemRandomNumberGenerator()
        let s = config.vision.imageSize
        let pixels = Tensor(
            shape: [batchSize, 3, s, s],
            scalars: (0..<(batchSize * 3 * s * s)).map { _ in Float.random(in: -2...2, using: &g) })
        let t = config.text.contextLength
        let tokens = (0..<batchSize).map { i -> [Int32] in
            var row = [Int32](repeating: 0, count: t)
            row[0] = 49406
            for j in 1..<min(12, t - 1) { row[j] = Int32.random(in: 1..<49405, using: &g) }
            row[min(12, t - 1)] = 49407
            _ = i
            return row
        }
        var forward = 0.0, backward = 0.0, update = 0.0
        for step in 0...steps {
            let t0 = DispatchTime.now().uptimeNanoseconds
            let loss = ContrastiveLoss.loss(
                imageFeatures: try model.imageFeatures(Variable(pixels)), textFeatures: try model.textFeatures(tokens),
                logitScale: model.logitScaleParameter)
            let t1 = DispatchTime.now().uptimeNanoseconds
            loss.backward()
            let t2 = DispatchTime.now().uptimeNanoseconds
            trainer.optimizer.update(learningRate: 1e-4)
            for (_, p) in model.namedParameters { p.zeroGrad() }
            let t3 = DispatchTime.now().uptimeNanoseconds
            if step > 0 {
                forward += Double(t1 - t0) / 1e9
                backward += Double(t2 - t1) / 1e9
                update += Double(t3 - t2) / 1e9
            }
        }
        let n = Double(steps)
        let result: [String: Any] = [
            "forward_seconds": forward / n, "backward_seconds": backward / n, "optimizer_seconds": update / n,
            "step_seconds": (forward + backward + update) / n,
            "samples_per_second": Double(batchSize) * n / (forward + backward + update),
            "parameters": model.parameterCount, "peak_rss_mb": Bench.peakResidentMegabytes(), "threads": threads,
        ]
        print(
            String(decoding: try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys]), as: UTF8.self))
    }
}
