import CLIPModel
import CLIPTensor
import CLIPTestSupport
import CLIPTokenizer
import CLIPWeights
import Foundation
import Testing

// Reference numbers come from scripts/reference/make_hidden_state_fixtures.py: tiny random towers in
// diffusers' layouts (transformers 5 CLIPTextModel, CLIPTextModelWithProjection,
// CLIPVisionModelWithProjection) and open_clip's (ViT-H-like folder, ViT-bigG-like state dict),
// with their hidden_states at every layer option, both paddings, pooled and projected outputs.
// Tolerance: max |diff| ≤ 1e-4 × the reference row's norm, per token row (the criterion).

enum HiddenStateFixtures {
    static let directory = ModelFixtures.directory.appendingPathComponent("hidden-states")
    static func url(_ name: String) -> URL { directory.appendingPathComponent(name) }
}

@Suite struct HiddenStatesTests {
    struct Case: CustomStringConvertible, Sendable {
        var model: String, outputs: String, config: String? = nil, modality: CLIPTowers.Modality? = nil
        var kind: TowerKind
        var description: String { model }
    }

    static let cases: [Case] = [
        Case(model: "sd1-text", outputs: "sd1-text", kind: .textModel),
        Case(model: "sd1-text-prefixed", outputs: "sd1-text", kind: .textModel),
        Case(model: "sdxl-text2", outputs: "sdxl-text2", kind: .textModelWithProjection),
        Case(model: "ip-image", outputs: "ip-image", kind: .visionModelWithProjection),
        Case(model: "openclip-h", outputs: "openclip-h", kind: .clip),
        // ViT-bigG-14's vision MLP ratio 4.9231: MLPs 78 wide for width 16, in both layouts.
        Case(model: "openclip-bigg.bin", outputs: "openclip-bigg", config: "openclip-bigg.json", kind: .clip),
        Case(model: "bigg-image", outputs: "bigg-image", kind: .visionModelWithProjection),
    ]

    static func load(_ c: Case) throws -> CLIPTowers {
        let config = try c.config.map {
            try JSONDecoder().decode(
                CLIPConfiguration.self, from: Data(contentsOf: HiddenStateFixtures.url($0)))
        }
        return try CLIPTowers.load(HiddenStateFixtures.url(c.model), modality: c.modality, configuration: config)
    }

    static func outputs(_ c: Case) throws -> [String: WeightTensor] {
        try WeightLoader.load(HiddenStateFixtures.url("\(c.outputs)-states.safetensors")).tensors
    }

    /// Every reference tensor of the fixture, recomputed: "text.<pad>.<layer>.<norm|raw>",
    /// "text.<pad>.pooled", "text.<pad>.embeds", "image.<layer>.<norm|raw>", "image.pooled", "image.embeds".
    @Test(arguments: cases) func statesMatchTransformersAndOpenCLIP(c: Case) throws {
        let towers = try Self.load(c)
        #expect(towers.kind == c.kind)
        let out = try Self.outputs(c)
        var checked = 0, worst = 0.0
        for key in out.keys.sorted() where key.hasPrefix("text.") || key.hasPrefix("image.") {
            let parts = key.split(separator: ".").map(String.init)
            let actual: Tensor
            if parts[0] == "text" {
                let tower = try towers.textTower()
                let tokens = ModelFixtures.tokens(try #require(out["tokens.\(parts[1])"]))
                switch parts[2] {
                case "pooled": actual = try tower.pooledStates(tokens)
                case "embeds": actual = try #require(try tower.projectedFeatures(tokens))
                default:
                    actual = try tower.hiddenStates(
                        tokens, layer: try #require(Int(parts[2])), finalNorm: parts[3] == "norm")
                }
            } else {
                let tower = try towers.visionTower()
                let pixels = try Tensor(converting: try #require(out["pixels"]))
                switch parts[1] {
                case "pooled": actual = try tower.pooledStates(pixels)
                case "embeds": actual = try #require(try tower.projectedFeatures(pixels))
                default:
                    actual = try tower.hiddenStates(
                        pixels, layer: try #require(Int(parts[1])), finalNorm: parts[2] == "norm")
                }
            }
            let expected = try #require(out[key])
            #expect(actual.shape == expected.shape, "\(c) \(key): shape \(actual.shape) vs \(expected.shape)")
            let width = expected.shape.last ?? 1
            let agreement = rowAgreement(actual.scalars, try ModelFixtures.floats(expected), width: width)
            #expect(agreement.relative <= 1e-4, "\(c) \(key): max diff / row norm \(agreement.relative)")
            checked += 1
            worst = max(worst, agreement.relative)
        }
        print("\(c): \(checked) reference tensors, largest difference \(worst) of a row's norm (tolerance 1e-4)")
        #expect(checked >= 6)
    }

    /// The mask is causal, so what follows the EOT cannot change the rows up to it.
    @Test(arguments: cases.filter { $0.kind != .visionModelWithProjection })
    func rowsUpToTheEOTDoNotDependOnPadding(c: Case) throws {
        let tower = try Self.load(c).textTower()
        let out = try Self.outputs(c)
        let eot = ModelFixtures.tokens(try #require(out["tokens.eot"]))
        let zero = ModelFixtures.tokens(try #require(out["tokens.zero"]))
        let width = tower.configuration.width, t = tower.configuration.contextLength
        for layer in [0, -2, -1] {
            let a = try tower.hiddenStates(eot, layer: layer).scalars
            let b = try tower.hiddenStates(zero, layer: layer).scalars
            for (row, ids) in eot.enumerated() {
                let end = try #require(ids.firstIndex(of: ids.max()!))
                let range = (row * t * width)..<((row * t + end + 1) * width)
                let d = Closeness(a[range], b[range])
                #expect(d.maxAbsoluteDifference == 0, "\(c) layer \(layer) prompt \(row): \(d)")
            }
        }
        #expect(
            try tower.pooledStates(eot).scalars == tower.pooledStates(zero).scalars, "pooled rows must be identical")
    }

    /// Layer k runs blocks 1 ... k only: poisoning the later blocks changes nothing before them.
    @Test func laterBlocksAreNotRun() throws {
        var tower = try Self.load(Self.cases[0]).textTower()
        let tokens = ModelFixtures.tokens(try #require(try Self.outputs(Self.cases[0])["tokens.eot"]))
        let before = try tower.hiddenStates(tokens, layer: 2, finalNorm: false)
        let nan = Tensor(shape: [32, 8], scalars: [Float](repeating: .nan, count: 32 * 8))
        tower.transformer.blocks[2].fc = Linear(weight: Variable(nan), bias: nil)
        let after = try tower.hiddenStates(tokens, layer: 2, finalNorm: false)
        #expect(after.scalars == before.scalars)
        #expect(try tower.hiddenStates(tokens, layer: -1).scalars.contains { $0.isNaN })
    }

    @Test(arguments: [(4, true), (-5, true), (3, false), (-4, false), (0, false)])
    func layersOutsideTheRangeAreRejected(layer: Int, rejected: Bool) throws {
        let tower = try Self.load(Self.cases[0]).textTower()
        let tokens = [[Int32](repeating: 0, count: 77)]
        if rejected {
            #expect(throws: HiddenStatesError.layerOutOfRange(layer: layer, layers: 3)) {
                _ = try tower.hiddenStates(tokens, layer: layer)
            }
            #expect(HiddenStatesError.layerOutOfRange(layer: layer, layers: 3).errorDescription!.contains("-4 ... 3"))
        } else {
            #expect(try tower.hiddenStates(tokens, layer: layer).shape == [1, 77, 8])
        }
    }

    @Test func singleTowerFoldersSayWhatTheyHold() throws {
        let text = try CLIPTowers.load(HiddenStateFixtures.url("sd1-text"))
        #expect(text.vision == nil && text.text?.projection == nil)
        #expect(throws: HiddenStatesError.self) { _ = try text.visionTower() }
        do {
            _ = try text.visionTower()
        } catch {
            #expect(error.localizedDescription.contains("holds only a text tower (CLIPTextModel)"))
        }
        let image = try CLIPTowers.load(HiddenStateFixtures.url("ip-image"))
        #expect(throws: HiddenStatesError.self) { _ = try image.textTower() }
        #expect(CLIPTowers.isSingleTower(HiddenStateFixtures.url("sdxl-text2")))
        #expect(!CLIPTowers.isSingleTower(ModelFixtures.url("hf")))
    }

    @Test func pipelineRootsTakeAComponent() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent(
            "swift-clip-pipeline-\(ProcessInfo.processInfo.processIdentifier)")
        try? FileManager.default.removeItem(at: root)
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let index = """
            {"_class_name": "StableDiffusionXLPipeline", "_diffusers_version": "0.35.0",
             "text_encoder": ["transformers", "CLIPTextModel"], "text_encoder_2": ["transformers", "CLIPTextModelWithProjection"],
             "image_encoder": ["transformers", "CLIPVisionModelWithProjection"], "unet": ["diffusers", "UNet2DConditionModel"]}
            """
        try Data(index.utf8).write(to: root.appendingPathComponent("model_index.json"))
        for (name, source) in [
            ("text_encoder", "sd1-text"), ("text_encoder_2", "sdxl-text2"), ("image_encoder", "ip-image"),
        ] {
            try FileManager.default.createSymbolicLink(
                at: root.appendingPathComponent(name), withDestinationURL: HiddenStateFixtures.url(source))
        }
        #expect(try CLIPTowers.load(root, component: "text_encoder_2").kind == .textModelWithProjection)
        #expect(try CLIPTowers.load(root, component: "image_encoder").kind == .visionModelWithProjection)
        #expect(throws: WeightError.self) { _ = try CLIPTowers.load(root) }
        #expect(throws: WeightError.self) { _ = try CLIPTowers.load(root, component: "unet") }
    }

    @Test func configThatDisagreesWithTheWeightsNamesTheTensor() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "swift-clip-bad-config-\(ProcessInfo.processInfo.processIdentifier)")
        try? FileManager.default.removeItem(at: folder)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let source = HiddenStateFixtures.url("sd1-text")
        try FileManager.default.copyItem(
            at: source.appendingPathComponent("model.safetensors"),
            to: folder.appendingPathComponent("model.safetensors"))
        var config = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: source.appendingPathComponent("config.json")))
                as? [String: Any])
        config["max_position_embeddings"] = 76
        try JSONSerialization.data(withJSONObject: config).write(to: folder.appendingPathComponent("config.json"))
        #expect(throws: CLIPModelError.shapeMismatch(key: "positional_embedding", expected: [76, 8], found: [77, 8])) {
            _ = try CLIPTowers.load(folder)
        }
    }
}

@Suite struct PromptTokenTests {
    static let tokenizer = try! Tokenizer.bundled()

    @Test(arguments: TextPadding.allCases) func paddingFollowsTheEOT(padding: TextPadding) throws {
        let p = try PromptTokens(["a photo of a cat"], tokenizer: Self.tokenizer, padding: padding)
        let ids = Self.tokenizer.encode("a photo of a cat").map(Int32.init)
        #expect(p.rows.count == 1 && p.rows[0].count == 77 && p.chunksPerPrompt == 1 && p.truncated.isEmpty)
        #expect(Array(p.rows[0].prefix(ids.count + 2)) == [49406] + ids + [49407])
        #expect(p.rows[0].dropFirst(ids.count + 2).allSatisfy { $0 == (padding == .eot ? 49407 : 0) })
        // Zero padding is exactly clip.tokenize.
        if padding == .zero { #expect(p.rows == (try Self.tokenizer.tokenize(["a photo of a cat"], truncate: true))) }
    }

    @Test func longPromptsAreTruncatedOrChunked() throws {
        let long = Array(repeating: "cat", count: 160).joined(separator: " ")  // 160 tokens
        let ids = Self.tokenizer.encode(long).map(Int32.init)
        #expect(ids.count == 160)
        let cut = try PromptTokens(["short", long], tokenizer: Self.tokenizer, padding: .eot)
        #expect(cut.truncated == [1])
        #expect(cut.rows[1] == (try Self.tokenizer.tokenize([long], truncate: true))[0])
        let chunked = try PromptTokens(["short", long], tokenizer: Self.tokenizer, padding: .zero, chunks: true)
        #expect(chunked.truncated.isEmpty && chunked.chunksPerPrompt == 3 && chunked.rows.count == 6)
        for (c, range) in [0..<75, 75..<150, 150..<160].enumerated() {
            let row = chunked.rows[3 + c]
            #expect(Array(row.prefix(range.count + 2)) == [49406] + ids[range] + [49407])
            #expect(row.dropFirst(range.count + 2).allSatisfy { $0 == 0 })
        }
        // The short prompt gets empty chunks after its own, as AUTOMATIC1111 pads a batch.
        #expect(Array(chunked.rows[2].prefix(3)) == [49406, 49407, 0])
    }
}
