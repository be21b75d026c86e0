import ArgumentParser
import CLIP
import Foundation

/// `clip-bench startup`: time to the first embedding from a checkpoint in this fresh process
/// (load, convert the tower that is needed, tokenize or decode, encode) and its peak RSS, as a
/// JSON line for scripts/bench/startup.py, which runs PyTorch's `torch.jit.load` + `encode_text`
/// on the same file.
struct StartupBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "startup",
        abstract:
            "Time to the first text or image embedding from a checkpoint (JSON out; see scripts/bench/startup.py).")

    @Option(help: "Checkpoint to load (an OpenAI .pt, safetensors, a Hugging Face folder...).")
    var weights: String

    @Option(help: "text or image.")
    var modality: String = "text"

    @Option(help: "The text to embed.")
    var text: String = "a photo of a cat."

    @Option(help: "The image file to embed.")
    var image: String?

    @Option(help: "Threads for the engine and BLAS.")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Flag(help: "Convert both towers at load, as before lazy loading (for comparison).")
    var eager = false

    @Flag(
        help:
            "Scan fp16 weights for NaN/Inf at load instead of as the first embedding reads them (as `clip embed` did before)."
    )
    var scanAtLoad = false

    func validate() throws {
        guard ["text", "image"].contains(modality) else { throw ValidationError("--modality must be text or image") }
        if modality == "image" && image == nil { throw ValidationError("--modality image needs --image") }
    }

    func run() throws {
        let start = DispatchTime.now().uptimeNanoseconds
        func since(_ t: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - t) / 1e9 }
        Parallel.threadCount = threads
        let tower: CLIP.Tower = modality == "text" ? .text : .image
        // As `clip embed` loads: one tower, weights checked as they are read.
        let model = try CLIP.load(
            URL(fileURLWithPath: weights), towers: eager ? [.image, .text] : [tower],
            weightCheck: scanAtLoad ? .atLoad : .whenRead)
        let loaded = since(start)
        let features =
            modality == "text"
            ? try model.encodeText([text])
            : try model.encodeImage([URL(fileURLWithPath: image ?? "")])
        let seconds = since(start)
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let cpu = [usage.ru_utime, usage.ru_stime].reduce(0.0) { $0 + Double($1.tv_sec) + Double($1.tv_usec) / 1e6 }
        let result: [String: Any] = [
            "cpu_seconds": cpu,
            "engine": "swift-clip", "modality": modality, "seconds": seconds, "load_seconds": loaded,
            "peak_rss_mb": Bench.peakResidentMegabytes(), "features": features.scalars.prefix(4).map(Double.init),
            "built_towers": model.builtTowers.map(\.rawValue).sorted(), "threads": threads,
        ]
        let data = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }
}
