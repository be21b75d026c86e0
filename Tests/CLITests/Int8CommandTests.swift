import CLIP
import Foundation
import Testing

/// `--precision int8` on `clip embed`, `classify` and `eval`, and `clip convert --dtype int8`,
/// on the bundled demo model (trained, so its int8 agreement is the one that matters) and the
/// tiny random fixtures of CLIPModelTests.
@Suite struct Int8CommandTests {
    static let demo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources/clip/Resources/demo")
    static let model = demo.appendingPathComponent("model.safetensors").path
    static var images: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: demo.appendingPathComponent("images").path)) ?? [])
            .sorted().map { demo.appendingPathComponent("images/\($0)").path }
    }
    static var captions: [String] {
        ((try? String(contentsOf: demo.appendingPathComponent("captions.txt"), encoding: .utf8)) ?? "")
            .split(separator: "\n").map(String.init)
    }

    struct Embeddings: Decodable {
        var image_embeddings: [[Float]]?
        var text_embeddings: [[Float]]?
    }

    func embed(_ arguments: [String]) throws -> Embeddings {
        let r = try CLIRunner.run(["embed", "--raw"] + arguments)
        #expect(r.status == 0, "\(arguments): \(r.stderr)")
        return try JSONDecoder().decode(Embeddings.self, from: r.stdoutData)
    }

    static func cosines(_ a: [[Float]], _ b: [[Float]]) -> [Float] {
        zip(a, b).map { x, y in
            let dot = zip(x, y).map(*).reduce(0, +)
            return dot / (x.map { $0 * $0 }.reduce(0, +).squareRoot() * y.map { $0 * $0 }.reduce(0, +).squareRoot())
        }
    }

    @Test func demoModelInt8EmbeddingsStayWithinCosine0995() throws {
        let images = Self.images, captions = Self.captions
        #expect(images.count == 6 && captions.count == 10)
        let inputs = images.flatMap { ["--image", $0] } + captions.flatMap { ["--text", $0] }
        let fp32 = try embed(["--model", Self.model] + inputs)
        let int8 = try embed(["--model", Self.model, "--precision", "int8"] + inputs)
        let image = Self.cosines(fp32.image_embeddings ?? [], int8.image_embeddings ?? [])
        let text = Self.cosines(fp32.text_embeddings ?? [], int8.text_embeddings ?? [])
        print("demo int8: min cosine image \(image.min() ?? 0), text \(text.min() ?? 0)")
        #expect(image.count == 6 && image.allSatisfy { $0 >= 0.995 }, "image cosines \(image)")
        #expect(text.count == 10 && text.allSatisfy { $0 >= 0.995 }, "text cosines \(text)")
        #expect(fp32.image_embeddings != int8.image_embeddings, "int8 gave the fp32 bits: the flag did nothing")
    }

    @Test func classifyAndEvalTakeThePrecision() throws {
        let labels = Self.captions.joined(separator: ",")
        var top: [String: [String]] = [:]
        for precision in ["fp32", "int8"] {
            let r = try CLIRunner.run(
                [
                    "classify", "--model", Self.model, "--labels", labels, "--json", "--top", "1", "--precision",
                    precision,
                ]
                    + Self.images)
            #expect(r.status == 0, "\(r.stderr)")
            let parsed = try #require(try JSONSerialization.jsonObject(with: r.stdoutData) as? [[String: Any]])
            top[precision] = parsed.compactMap { ($0["predictions"] as? [[String: Any]])?.first?["label"] as? String }
        }
        #expect(top["fp32"]?.count == 6 && top["fp32"] == top["int8"], "\(top)")

        let bad = try CLIRunner.run(["embed", "--model", Self.model, "--text", "x", "--precision", "int4"])
        #expect(bad.status == 64 && bad.stderr.contains("--precision must be fp32 or int8"), "\(bad.stderr)")
        let help = try CLIRunner.run(["eval", "--help"])
        #expect(help.stdout.contains("--precision"))
    }

    /// convert --dtype int8 → embed at int8 gives the bits of quantising at load; at fp32 the
    /// file is dequantised; `clip info` reads it; Hugging Face output is refused.
    @Test func convertToInt8RoundTrips() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clip-int8-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let output = dir.appendingPathComponent("demo-int8.safetensors").path
        let r = try CLIRunner.run(["convert", "--model", Self.model, "-o", output, "--dtype", "int8"])
        #expect(r.status == 0, "\(r.stderr)")
        let inputs = Self.images.flatMap { ["--image", $0] } + ["--text", Self.captions[0]]
        let direct = try embed(["--model", Self.model, "--precision", "int8"] + inputs)
        let stored = try embed(["--model", output, "--precision", "int8"] + inputs)
        #expect(direct.image_embeddings == stored.image_embeddings && direct.text_embeddings == stored.text_embeddings)
        let fp32 = try embed(["--model", Self.model] + inputs)
        let dequantized = try embed(["--model", output] + inputs)
        let cosines = Self.cosines(fp32.image_embeddings ?? [], dequantized.image_embeddings ?? [])
        #expect(cosines.count == 6 && cosines.allSatisfy { $0 >= 0.995 }, "\(cosines)")
        // The demo model is mostly token embedding (float32 in the int8 file), so `clip info`
        // names float32 as its main type; it must still read the file.
        let info = try CLIRunner.run(["info", "--model", output])
        #expect(info.status == 0 && info.stdout.contains("\"weight_dtype\""), "\(info.stderr)")

        let hf = try CLIRunner.run(
            [
                "convert", "--model", Self.model, "-o", dir.appendingPathComponent("hf").path, "--dtype", "int8",
                "--format", "hf",
            ])
        #expect(hf.status == 64 && hf.stderr.contains("--format openai"), "\(hf.stderr)")
    }
}
