import CLIP
import CLIPTestSupport
import Foundation
import Testing

/// A random full-vocabulary `CLIPTextModelWithProjection` folder in transformers 5's layout (keys
/// without `text_model.`), as diffusers keeps SDXL's `text_encoder_2/`: width 8, 2 blocks, GELU.
/// Numerical agreement with transformers is tested in CLIPModelTests (HiddenStatesTests); here
/// the CLI's output is compared with the library's on the same folder.
enum TinyTextTower {
    static let folder: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(
            "swift-clip-text-tower-\(ProcessInfo.processInfo.processIdentifier)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        var g = SeededGenerator(seed: 12)
        func random(_ shape: [Int], scale: Float = 0.5) -> WeightTensor {
            WeightTensor(
                float32: (0..<shape.reduce(1, *)).map { _ in Float.random(in: -scale...scale, using: &g) }, shape: shape
            )
        }
        var tensors: [(String, WeightTensor)] = [
            ("embeddings.token_embedding.weight", random([49408, 8])),
            ("embeddings.position_embedding.weight", random([77, 8])),
            ("final_layer_norm.weight", random([8])), ("final_layer_norm.bias", random([8])),
            ("text_projection.weight", random([8, 8])),
        ]
        for i in 0..<2 {
            let p = "encoder.layers.\(i)."
            for part in ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.out_proj"] {
                tensors += [(p + part + ".weight", random([8, 8])), (p + part + ".bias", random([8]))]
            }
            tensors += [
                (p + "layer_norm1.weight", random([8])), (p + "layer_norm1.bias", random([8])),
                (p + "layer_norm2.weight", random([8])), (p + "layer_norm2.bias", random([8])),
                (p + "mlp.fc1.weight", random([32, 8])), (p + "mlp.fc1.bias", random([32])),
                (p + "mlp.fc2.weight", random([8, 32])), (p + "mlp.fc2.bias", random([8])),
            ]
        }
        try! SafetensorsWriter.write(
            tensors, metadata: ["format": "pt"], to: url.appendingPathComponent("model.safetensors"))
        let config = """
            {"architectures": ["CLIPTextModelWithProjection"], "model_type": "clip_text_model", "hidden_act": "gelu",
             "hidden_size": 8, "intermediate_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
             "max_position_embeddings": 77, "vocab_size": 49408, "projection_dim": 8, "eos_token_id": 2,
             "bos_token_id": 0, "pad_token_id": 1}
            """
        try! Data(config.utf8).write(to: url.appendingPathComponent("config.json"))
        return url
    }()
}

/// `clip hidden-states` (and `clip embed` on a single tower) run as a user would.
@Suite struct HiddenStatesCommandTests {
    static func temporary(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("clip-hidden-\(UUID().uuidString)-\(name)")
    }

    func run(_ arguments: [String]) throws -> (status: Int32, stderr: String, shape: [Int], values: [Float]) {
        let out = Self.temporary("out.npy")
        defer { try? FileManager.default.removeItem(at: out) }
        let r = try CLIRunner.run(["hidden-states"] + arguments + ["-o", out.path])
        guard r.status == 0 else { return (r.status, r.stderr, [], []) }
        let (shape, values) = try PreprocessCommandTests.readNPY(out)
        return (r.status, r.stderr, shape, values)
    }

    struct Case: CustomStringConvertible, Sendable {
        var arguments: [String], layer: Int, finalNorm: Bool, padding: TextPadding, pooled = false
        var description: String { arguments.joined(separator: " ") }
    }

    static let cases: [Case] = [
        Case(arguments: [], layer: -1, finalNorm: true, padding: .eot),
        Case(arguments: ["--layer", "-2", "--final-norm"], layer: -2, finalNorm: true, padding: .eot),
        Case(
            arguments: ["--layer", "-2", "--no-final-norm", "--pad", "zero"], layer: -2, finalNorm: false,
            padding: .zero),
        Case(arguments: ["--layer", "0", "--no-final-norm"], layer: 0, finalNorm: false, padding: .eot),
        Case(arguments: ["--pooled"], layer: -1, finalNorm: true, padding: .eot, pooled: true),
    ]

    @Test(arguments: cases) func textStatesEqualTheLibrary(c: Case) throws {
        let prompts = ["a photo of a cat", "an astronaut riding a horse"]
        let r = try run(
            ["--model", TinyTextTower.folder.path, "--text", prompts[0], "--text", prompts[1]] + c.arguments)
        #expect(r.status == 0, "\(r.stderr)")
        let tower = try CLIPTowers.load(TinyTextTower.folder).textTower()
        let rows = try PromptTokens(prompts, tokenizer: try Tokenizer.bundled(), padding: c.padding).rows
        let expected =
            c.pooled
            ? try tower.pooledStates(rows, layer: c.layer, finalNorm: c.finalNorm)
            : try tower.hiddenStates(rows, layer: c.layer, finalNorm: c.finalNorm)
        #expect(r.shape == expected.shape)
        #expect(r.values == expected.scalars)
    }

    @Test func wholeModelsImagesChunksAndSafetensors() throws {
        // Images from a whole CLIP file: (B, 1 + P, C), no final norm by default.
        let image = TinyModel.image("chelsea_lossy.webp")
        let i = try run(["--model", TinyModel.path, "--image", image, "--layer", "-2"])
        #expect(i.status == 0, "\(i.stderr)")
        #expect(i.shape == [1, 5, 8])
        let vision = try CLIPTowers.load(URL(fileURLWithPath: TinyModel.path)).visionTower()
        let pixels = try CLIPPreprocessor(size: 32).preprocessBatch(contentsOf: [URL(fileURLWithPath: image)])
        let expected = try vision.hiddenStates(Tensor(shape: [1, 3, 32, 32], scalars: pixels), layer: -2)
        #expect(i.values == expected.scalars)

        // A long prompt: truncated with a warning naming it, or kept whole in chunks.
        let long = Array(repeating: "cat", count: 100).joined(separator: " ")
        let cut = try run(["--model", TinyModel.path, "--text", "short", "--text", long])
        #expect(cut.status == 0 && cut.shape == [2, 77, 8])
        #expect(cut.stderr.contains("warning: prompt 2 (\"cat cat") && cut.stderr.contains("--chunks"), "\(cut.stderr)")
        let chunked = try run(["--model", TinyModel.path, "--text", "short", "--text", long, "--chunks"])
        #expect(chunked.status == 0 && chunked.shape == [2, 154, 8] && !chunked.stderr.contains("warning"))
        // The first chunk of the long prompt is its truncated row (batches of other sizes: 1e-5).
        let first = Closeness(chunked.values[(154 * 8)..<(154 * 8 + 77 * 8)], cut.values[(77 * 8)...])
        #expect(first.within(absolute: 1e-5), "\(first)")

        let st = Self.temporary("out.safetensors")
        defer { try? FileManager.default.removeItem(at: st) }
        let s = try CLIRunner.run([
            "hidden-states", "--model", TinyModel.path, "--text", "short", "--format", "safetensors", "-o", st.path,
        ])
        #expect(s.status == 0, "\(s.stderr)")
        #expect(try WeightLoader.load(st).tensors["hidden_states"]?.shape == [1, 77, 8])
        // Without --format the file's extension chooses safetensors.
        let byName = Self.temporary("by-name.safetensors")
        defer { try? FileManager.default.removeItem(at: byName) }
        let n = try CLIRunner.run(["hidden-states", "--model", TinyModel.path, "--text", "short", "-o", byName.path])
        #expect(n.status == 0, "\(n.stderr)")
        #expect(try WeightLoader.load(byName).tensors["hidden_states"]?.shape == [1, 77, 8])
    }

    @Test func badInputHasTheDocumentedExitCodes() throws {
        let folder = TinyTextTower.folder.path
        let layer = try CLIRunner.run(["hidden-states", "--model", folder, "--text", "a", "--layer", "3"])
        #expect(layer.status == 64 && layer.stderr.contains("-3 ... 2"), "\(layer.stderr)")
        let chunks = try CLIRunner.run([
            "hidden-states", "--model", TinyModel.path, "--image", TinyModel.image("chelsea_lossy.webp"), "--chunks",
        ])
        #expect(chunks.status == 64, "\(chunks.stderr)")
        let missing = try CLIRunner.run([
            "hidden-states", "--model", folder, "--image", TinyModel.image("chelsea_lossy.webp"),
        ])
        #expect(
            missing.status == 66 && missing.stderr.contains("holds only a text tower (CLIPTextModelWithProjection)"),
            "\(missing.stderr)")
        let embedImage = try CLIRunner.run([
            "embed", "--model", folder, "--image", TinyModel.image("chelsea_lossy.webp"),
        ])
        #expect(
            embedImage.status == 66 && embedImage.stderr.contains("holds only a text tower"), "\(embedImage.stderr)")
    }

    @Test func embedRawOnATextTowerIsItsProjection() throws {
        let out = Self.temporary("embed.npy")
        defer { try? FileManager.default.removeItem(at: out) }
        let r = try CLIRunner.run([
            "embed", "--model", TinyTextTower.folder.path, "--text", "a photo of a cat", "--raw", "--format", "npy",
            "-o", out.path,
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let (shape, values) = try PreprocessCommandTests.readNPY(out)
        let tower = try CLIPTowers.load(TinyTextTower.folder).textTower()
        let rows = try PromptTokens(["a photo of a cat"], tokenizer: try Tokenizer.bundled(), padding: .zero).rows
        let expected = try #require(try tower.projectedFeatures(rows))
        #expect(shape == [1, 8] && values == expected.scalars)
    }
}
