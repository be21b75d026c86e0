import ArgumentParser
import CLIP
import CLISupport
import Foundation

/// `clip demo`: the offline main job on the bundled default model — a small CLIP trained here
/// from scratch on synthetic shapes (scripts/demo/train-demo-model.sh) — ranking the bundled
/// images against captions, both ways.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Rank the bundled sample images against captions with the bundled model (offline).",
        discussion: """
            The bundled model is a small CLIP trained from scratch by swift-clip on synthetic
            images of coloured shapes (see the README). It knows colours, shapes, sizes, counts and
            positions, and nothing else.

            Examples:
              clip demo
              clip demo --caption "two large green squares at the top" --caption "one small red circle"
            """)

    @Option(name: .customLong("caption"), help: "Captions to rank (repeatable; default: the bundled captions).")
    var captions: [String] = []

    @Option(help: "Best captions shown per image.")
    var top = 3

    func validate() throws {
        try OptionRange.check("--top", top, 1...1_000_000)
    }

    func run() throws {
        guard let demo = Bundle.module.url(forResource: "demo", withExtension: nil) else {
            throw fail("the bundled demo files are missing from this build", .model)
        }
        let model: CLIP
        do { model = try CLIP.load(demo.appendingPathComponent("model.safetensors")) } catch {
            throw fail(error, .model)
        }
        let imageDirectory = demo.appendingPathComponent("images")
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: imageDirectory.path)) ?? []).filter(
            ImageFormat.isImageFile
        ).sorted()
        var texts = captions
        if texts.isEmpty {
            let list = (try? String(contentsOf: demo.appendingPathComponent("captions.txt"), encoding: .utf8)) ?? ""
            texts = list.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
        }
        guard !names.isEmpty, !texts.isEmpty else { throw fail("no bundled images or captions", .input) }
        try Output.print(
            "swift-clip demo: \(model.configuration.architectureName), \(model.parameterCount) parameters, trained from scratch on synthetic shapes"
        )
        try Output.print("\(names.count) images × \(texts.count) captions, \(Parallel.threadCount) threads\n")
        let images: Tensor, textFeatures: Tensor
        do {
            images = try model.encodeImage(names.map { imageDirectory.appendingPathComponent($0) })
            textFeatures = try model.encodeText(texts)
        } catch { throw fail(error, .input) }
        let (perImage, perText) = model.logits(imageFeatures: images, textFeatures: textFeatures)
        let p = Tensor.softmax(perImage).scalars
        for (i, name) in names.enumerated() {
            try Output.print("\(name)")
            let ranked = (0..<texts.count).sorted { p[i * texts.count + $0] > p[i * texts.count + $1] }.prefix(top)
            for (rank, j) in ranked.enumerated() {
                try Output.print(
                    "  \(rank + 1). \(String(format: "%5.1f%%", 100 * p[i * texts.count + j]))  \(texts[j])")
            }
        }
        try Output.print("\nbest image for each caption:")
        let q = Tensor.softmax(perText).scalars
        for (j, text) in texts.enumerated() {
            let best = (0..<names.count).max { q[j * names.count + $0] < q[j * names.count + $1] } ?? 0
            try Output.print(
                "  \(String(format: "%5.1f%%", 100 * q[j * names.count + best]))  \(names[best])  ←  \(text)")
        }
    }
}
