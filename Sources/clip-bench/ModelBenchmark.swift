import ArgumentParser
import CLIP
import Foundation

/// `clip-bench model`: image- and text-tower throughput of one checkpoint at several batch
/// sizes, printed as JSON for scripts/bench/models.py, which runs PyTorch on the same weights
/// and inputs and prints the side-by-side table.
struct ModelBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Time encodeImage/encodeText of a checkpoint (JSON out; see scripts/bench/models.py).")

    @Option(help: "Checkpoint to load.")
    var weights: String

    @Option(help: "safetensors file with 'pixels' (B, 3, S, S) and 'tokens' (B, T) int64 inputs.")
    var inputs: String

    @Option(help: "Comma-separated batch sizes.")
    var batches: String = "1,16"

    @Option(help: "Threads for the engine and BLAS.")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Seconds to spend per measurement.")
    var budget: Double = 3

    @Option(help: "Arithmetic of the linear layers: fp32 or int8 (quantised at load).")
    var precision: String = "fp32"

    func validate() throws {
        guard Precision(rawValue: precision) != nil else {
            throw ValidationError("--precision must be fp32 or int8, got '\(precision)'")
        }
    }

    @Flag(help: "Measure the process's CPU time (median of 5 after a warm-up) instead of wall time.")
    var cpuTime = false

    func run() throws {
        Parallel.threadCount = threads
        let loadStart = Date()
        let model = try CLIP.load(URL(fileURLWithPath: weights), precision: Precision(rawValue: precision) ?? .fp32)
        let loadSeconds = Date().timeIntervalSince(loadStart)
        let tensors = try WeightLoader.load(URL(fileURLWithPath: inputs)).tensors
        guard let pixelsW = tensors["pixels"], let tokensW = tensors["tokens"] else {
            throw ValidationError("\(inputs) needs 'pixels' and 'tokens'")
        }
        let pixels = try Tensor(converting: pixelsW)
        let ids: [Int64] = tokensW.withUnsafeBytes { raw in
            (0..<tokensW.elementCount).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self) }
        }
        let t = tokensW.shape[1]
        let tokens = (0..<tokensW.shape[0]).map { r in ids[(r * t)..<((r + 1) * t)].map { Int32($0) } }
        var results: [String: Any] = ["load_seconds": loadSeconds, "threads": threads, "precision": precision]
        if model.precision == .int8 { results["int8_kernel"] = "\(Int8KernelPath.best)" }
        for b in batches.split(separator: ",").compactMap({ Int($0) }) {
            let p = pixels.sliced(dim: 0, range: 0..<min(b, pixels.shape[0])).contiguous()
            let toks = Array(tokens.prefix(b))
            let image = { _ = try? model.encodeImage(p, maxBatch: b) }
            let text = { _ = try? model.encodeText(toks, maxBatch: b) }
            let imageSeconds =
                cpuTime ? HiddenStatesBenchmark.cpuMedian(image) : Bench.median(minRuns: 3, budget: budget, image)
            let textSeconds =
                cpuTime ? HiddenStatesBenchmark.cpuMedian(text) : Bench.median(minRuns: 3, budget: budget, text)
            results["image_b\(b)_seconds"] = imageSeconds
            results["text_b\(b)_seconds"] = textSeconds
        }
        // Embeddings for the agreement check against PyTorch.
        results["image_features"] = try model.encodeImage(pixels).scalars.map(Double.init)
        results["text_features"] = try model.encodeText(tokens).scalars.map(Double.init)
        results["peak_rss_mb"] = Bench.peakResidentMegabytes()
        let data = try JSONSerialization.data(withJSONObject: results, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }
}
