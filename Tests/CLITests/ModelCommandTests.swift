import CLIP
import CLIPTestSupport
import Foundation
import Testing

/// `clip embed`, `clip classify` and `clip info` against the library on the same model file.
@Suite struct ModelCommandTests {
    static let images = [TinyModel.image("chelsea_baseline.jpg"), TinyModel.image("astronaut_rgb.png")]

    struct EmbedOutput: Decodable {
        var image_embeddings: [[Float]]
        var text_embeddings: [[Float]]
    }

    @Test func embedJSONMatchesLibraryAndIsNormalised() throws {
        let texts = ["a photo of a cat", "an astronaut"]
        let result = try CLIRunner.run([
            "embed", "--model", TinyModel.path, "--image", Self.images[0], "--image", Self.images[1],
            "--text", texts[0], "--text", texts[1],
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let out = try JSONDecoder().decode(EmbedOutput.self, from: result.stdoutData)
        #expect(out.image_embeddings.count == 2 && out.text_embeddings.count == 2)
        let model = try CLIP.load(URL(fileURLWithPath: TinyModel.path))
        let images = Tensor.l2Normalized(
            try model.encodeImage(Self.images.map { URL(fileURLWithPath: $0) }))
        let textRows = Tensor.l2Normalized(try model.encodeText(texts))
        let d1 = Closeness(out.image_embeddings.flatMap { $0 }, images.scalars),
            d2 = Closeness(out.text_embeddings.flatMap { $0 }, textRows.scalars)
        #expect(d1.within(absolute: 1e-6) && d2.within(absolute: 1e-6), "images \(d1), texts \(d2)")
        for row in out.image_embeddings + out.text_embeddings {
            #expect(abs(row.map { $0 * $0 }.reduce(0, +) - 1) < 1e-5)
        }
    }

    @Test func embedFormatFollowsTheOutputExtensionUnlessGiven() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clip-embed-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        func embed(_ name: String, _ extra: [String] = []) throws -> Data {
            let file = dir.appendingPathComponent(name)
            let r = try CLIRunner.run(["embed", "--model", TinyModel.path, "--text", "a cat", "-o", file.path] + extra)
            #expect(r.status == 0, "\(r.stderr)")
            return try Data(contentsOf: file)
        }
        let npy = try embed("out.NPY")
        #expect(npy.starts(with: [0x93] + Array("NUMPY".utf8)), "-o out.NPY without --format writes NPY")
        let lines = String(decoding: try embed("out.jsonl"), as: UTF8.self)
        #expect(lines.hasPrefix("{\"") && lines.split(separator: "\n").count == 1, "\(lines)")
        let json = String(decoding: try embed("out.txt"), as: UTF8.self)
        #expect(json.contains("\"text_embeddings\""), "an unknown extension keeps the default, JSON: \(json)")
        let explicit = String(decoding: try embed("given.npy", ["--format", "json"]), as: UTF8.self)
        #expect(explicit.contains("\"text_embeddings\""), "--format wins over the extension")
        let both = try CLIRunner.run([
            "embed", "--model", TinyModel.path, "--text", "a cat", "--image", Self.images[0], "-o",
            dir.appendingPathComponent("both.npy").path,
        ])
        #expect(both.status == 64 && both.stderr.contains("one array"), "\(both.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("both.npy").path))
    }

    @Test func embedRawNPYAndListFiles() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clip-embed-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let list = dir.appendingPathComponent("images.txt"), texts = dir.appendingPathComponent("texts.jsonl")
        try (Self.images.joined(separator: "\n") + "\n").write(to: list, atomically: true, encoding: .utf8)
        try "\"one\"\n\"two \\u00e9\"\n".write(to: texts, atomically: true, encoding: .utf8)
        let npy = dir.appendingPathComponent("out.npy")
        let r = try CLIRunner.run([
            "embed", "--model", TinyModel.path, "--images-from", list.path, "--raw", "--format", "npy", "-o", npy.path,
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let data = try Data(contentsOf: npy)
        let headerLength = Int(data[8]) | Int(data[9]) << 8
        let header = String(decoding: data[10..<(10 + headerLength)], as: UTF8.self)
        #expect(header.contains("'shape': (2, 8)") && header.contains("'<f4'"), "\(header)")
        let values = data[(10 + headerLength)...].withUnsafeBytes { raw in
            (0..<16).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) }
        }
        let model = try CLIP.load(URL(fileURLWithPath: TinyModel.path))
        let expected = try model.encodeImage(Self.images.map { URL(fileURLWithPath: $0) }).scalars
        #expect(Closeness(values, expected).within(absolute: 1e-6))

        let t = try CLIRunner.run(["embed", "--model", TinyModel.path, "--texts-from", texts.path])
        #expect(t.status == 0, "\(t.stderr)")
        let out = try JSONDecoder().decode(EmbedOutput.self, from: t.stdoutData)
        #expect(out.text_embeddings.count == 2 && out.image_embeddings.isEmpty)
    }

    @Test func embedWarnsOnTruncationAndFailsCleanly() throws {
        let long = String(repeating: "word ", count: 100)
        let r = try CLIRunner.run(["embed", "--model", TinyModel.path, "--text", long])
        #expect(r.status == 0 && r.stderr.contains("warning: text 0 is longer than 77 tokens"), "\(r.stderr)")

        let missing = try CLIRunner.run(["embed", "--model", "/nonexistent/model.pt", "--text", "x"])
        #expect(missing.status == 66 && missing.stderr.hasPrefix("error: model file not found"), "\(missing.stderr)")
        let badImage = try CLIRunner.run(["embed", "--model", TinyModel.path, "--image", "/nonexistent.jpg"])
        #expect(badImage.status == 65 && badImage.stderr.hasPrefix("error: "), "\(badImage.status) \(badImage.stderr)")
        let both = try CLIRunner.run([
            "embed", "--model", TinyModel.path, "--image", Self.images[0], "--text", "x", "--format", "npy",
        ])
        #expect(both.status == 64)
        let nothing = try CLIRunner.run(["embed", "--model", TinyModel.path])
        #expect(nothing.status == 64 && nothing.stderr.contains("nothing to embed"))
    }

    @Test func classifyTableAndJSON() throws {
        let r = try CLIRunner.run([
            "classify", "--model", TinyModel.path, Self.images[0], "--labels", "cat,dog,rocket", "--json", "--top", "2",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let parsed = try #require(try JSONSerialization.jsonObject(with: r.stdoutData) as? [[String: Any]])
        let predictions = try #require(parsed.first?["predictions"] as? [[String: Any]])
        #expect(predictions.count == 2)
        let model = try CLIP.load(URL(fileURLWithPath: TinyModel.path))
        let classifier = try ZeroShotClassifier(model: model, classNames: ["cat", "dog", "rocket"])
        let expected = classifier.classify(
            imageFeatures: try model.encodeImage([URL(fileURLWithPath: Self.images[0])]))[0]
        #expect(predictions.map { $0["label"] as? String } == expected.prefix(2).map(\.label))
        let p0 = try #require(predictions[0]["probability"] as? Double)
        #expect(abs(p0 - Double(expected[0].probability)) < 1e-6)

        let table = try CLIRunner.run([
            "classify", "--model", TinyModel.path, Self.images[0], Self.images[1], "--labels", "cat,dog", "--templates",
            "openai-imagenet",
        ])
        #expect(table.status == 0, "\(table.stderr)")
        let lines = table.stdout.split(separator: "\n")
        #expect(lines.count == 6 && lines[0] == Self.images[0] && lines[1].hasPrefix("  1. "), "\(table.stdout)")
        let noLabels = try CLIRunner.run(["classify", "--model", TinyModel.path, Self.images[0]])
        #expect(noLabels.status == 64 && noLabels.stderr.contains("no labels"))
    }

    @Test func infoPrintsConfiguration() throws {
        let r = try CLIRunner.run(["info", "--model", TinyModel.path])
        #expect(r.status == 0, "\(r.stderr)")
        let info = try #require(try JSONSerialization.jsonObject(with: r.stdoutData) as? [String: Any])
        #expect(
            info["embed_dim"] as? Int == 8 && info["image_size"] as? Int == 32 && info["context_length"] as? Int == 77)
        #expect(info["vocab_size"] as? Int == 49408 && info["weight_dtype"] as? String == "float32")
        let model = try CLIP.load(URL(fileURLWithPath: TinyModel.path))
        #expect(info["parameters"] as? Int == model.parameterCount)
        // Every parameter tensor above: 8·3·16·16 + 8 + 5·8 + 4·8 + 8·8 + 2 blocks + 49408·8 + 77·8 + 2·8 + 8·8 + 1
        let blockParams = 3 * 64 + 24 + 64 + 8 + 16 + 256 + 32 + 256 + 8 + 16
        #expect(model.parameterCount == 6144 + 8 + 40 + 32 + 64 + 2 * blockParams + 395_264 + 616 + 16 + 64 + 1)
    }
}
