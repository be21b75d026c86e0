import CLIPModel
import CLIPTensor
import CLIPTestSupport
import CLIPWeights
import Foundation
import Testing

// Reference numbers come from scripts/reference/make_weight_fixtures.py: tiny random-initialised
// OpenAI-architecture CLIPs (clip-anytorch's clip/model.py) and a transformers CLIPModel, saved
// in every weight format, with their embeddings and logits on fixed pixels and token ids.

enum ModelFixtures {
    static let directory = Bundle.module.resourceURL!.appendingPathComponent("Fixtures")

    static func url(_ name: String) -> URL { directory.appendingPathComponent(name) }

    /// Named Float32 tensors of an outputs file.
    static func outputs(_ name: String) throws -> [String: WeightTensor] { try WeightLoader.load(url(name)).tensors }

    static func floats(_ w: WeightTensor) throws -> [Float] { try Tensor(converting: w).scalars }

    static func tokens(_ w: WeightTensor) -> [[Int32]] {
        let values: [Int64] = w.withUnsafeBytes { raw in
            (0..<w.elementCount).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self) }
        }
        let t = w.shape[1]
        return (0..<w.shape[0]).map { r in values[(r * t)..<((r + 1) * t)].map { Int32($0) } }
    }

    /// The tiny models' head counts (widths of 32 make OpenAI's width/64 inference give 0).
    static let heads: [String: (text: Int, vision: Int)] = ["vit": (2, 2), "rn": (2, 1)]
}

/// Max |a − b| / ‖b‖ per row, and the smallest cosine similarity between matching rows.
func rowAgreement(_ a: [Float], _ b: [Float], width: Int) -> (relative: Double, cosine: Double) {
    var worst = 0.0, minCos = 1.0
    for r in 0..<(b.count / width) {
        let x = a[(r * width)..<((r + 1) * width)].map(Double.init),
            y = b[(r * width)..<((r + 1) * width)].map(Double.init)
        let norm = y.map { $0 * $0 }.reduce(0, +).squareRoot()
        worst = max(worst, zip(x, y).map { abs($0 - $1) }.max()! / norm)
        let dot = zip(x, y).map(*).reduce(0, +)
        minCos = min(minCos, dot / (x.map { $0 * $0 }.reduce(0, +).squareRoot() * norm))
    }
    return (worst, minCos)
}

@Suite struct ModelFixtureTests {
    struct Case: CustomStringConvertible, Sendable {
        var file: String, model: String, outputs: String, prefix: String
        var relativeTolerance = 1e-4, cosine = 0.99999
        var description: String { file }
    }

    static let cases: [Case] = [
        Case(file: "vit.safetensors", model: "vit", outputs: "vit-outputs.safetensors", prefix: ""),
        Case(file: "vit-fp16.pt", model: "vit", outputs: "vit-outputs.safetensors", prefix: "fp16_"),
        Case(file: "vit-nested.pt", model: "vit", outputs: "vit-outputs.safetensors", prefix: "fp16_"),
        Case(file: "rn.safetensors", model: "rn", outputs: "rn-outputs.safetensors", prefix: ""),
        Case(file: "rn-jit.pt", model: "rn", outputs: "rn-outputs.safetensors", prefix: "fp16_"),
        Case(file: "rn-bf16.safetensors", model: "rn", outputs: "rn-outputs.safetensors", prefix: "bf16_"),
        Case(file: "hf", model: "hf", outputs: "hf-outputs.safetensors", prefix: ""),
        Case(file: "hf-bin", model: "hf", outputs: "hf-outputs.safetensors", prefix: ""),
        // fp16 shards against the fp32 reference: only weight rounding separates them.
        Case(
            file: "hf-sharded", model: "hf", outputs: "hf-outputs.safetensors", prefix: "", relativeTolerance: 2e-2,
            cosine: 0.999),
    ]

    func load(_ c: Case) throws -> CLIP {
        let state = try WeightLoader.load(ModelFixtures.url(c.file))
        guard let heads = ModelFixtures.heads[c.model] else { return try CLIP(state: state) }  // HF: config.json
        let config = try CLIPConfiguration.infer(from: state, textHeads: heads.text, visionHeads: heads.vision)
        return try CLIP(state: state, configuration: config)
    }

    @Test(arguments: cases) func embeddingsAndLogitsMatchReference(c: Case) throws {
        let model = try load(c)
        let out = try ModelFixtures.outputs(c.outputs)
        let pixelsW = try #require(out["pixels"])
        let pixels = try Tensor(converting: pixelsW)
        let tokens = ModelFixtures.tokens(try #require(out["tokens"]))
        let image = try model.encodeImage(pixels)
        let text = try model.encodeText(tokens)
        let e = model.configuration.embedDim
        let img = rowAgreement(
            image.scalars, try ModelFixtures.floats(try #require(out[c.prefix + "image_features"])), width: e)
        let txt = rowAgreement(
            text.scalars, try ModelFixtures.floats(try #require(out[c.prefix + "text_features"])), width: e)
        #expect(
            img.relative <= c.relativeTolerance && img.cosine >= c.cosine,
            "\(c.file) image: max diff/norm \(img.relative), min cosine \(img.cosine)")
        #expect(
            txt.relative <= c.relativeTolerance && txt.cosine >= c.cosine,
            "\(c.file) text: max diff/norm \(txt.relative), min cosine \(txt.cosine)")
        let logits = model.logits(imageFeatures: image, textFeatures: text)
        let expected = try ModelFixtures.floats(try #require(out[c.prefix + "logits_per_image"]))
        let d = Closeness(logits.perImage.scalars, expected)
        #expect(d.within(absolute: 1e-3, relative: c.relativeTolerance * 10), "\(c.file) logits: \(d)")
        #expect(logits.perText.shape == [tokens.count, pixels.shape[0]])
    }

    @Test func inferredConfigurationsMatchTheGenerator() throws {
        let vit = try CLIPConfiguration.infer(
            from: WeightLoader.load(ModelFixtures.url("vit.safetensors")), textHeads: 2, visionHeads: 2)
        #expect(
            vit
                == CLIPConfiguration(
                    embedDim: 16, vision: .vit(imageSize: 32, patchSize: 8, width: 32, layers: 2, heads: 2),
                    text: TextConfiguration(contextLength: 77, vocabularySize: 100, width: 32, heads: 2, layers: 2)))
        let rn = try CLIPConfiguration.infer(from: WeightLoader.load(ModelFixtures.url("rn-jit.pt")), textHeads: 2)
        #expect(
            rn
                == CLIPConfiguration(
                    embedDim: 16, vision: .resnet(imageSize: 64, layers: [1, 1, 1, 1], width: 2, heads: 1),
                    text: TextConfiguration(contextLength: 77, vocabularySize: 100, width: 32, heads: 2, layers: 1)))
        let hf = try CLIP.load(ModelFixtures.url("hf")).configuration
        #expect(
            hf.activation == .gelu && hf.vision == .vit(imageSize: 32, patchSize: 8, width: 32, layers: 1, heads: 2))
        // OpenAI's rule without overrides: width 32 / 64 = 0 heads is rejected with a hint.
        #expect(throws: CLIPModelError.self) { _ = try CLIP.load(ModelFixtures.url("vit.safetensors")) }
    }

    @Test func strictLoadingNamesTheOffendingKey() throws {
        var state = try WeightLoader.load(ModelFixtures.url("vit.safetensors"))
        let config = try CLIPConfiguration.infer(from: state, textHeads: 2, visionHeads: 2)
        var extra = state
        extra.tensors["visual.extra.weight"] = WeightTensor(float32: [1], shape: [1])
        #expect(throws: CLIPModelError.unexpectedKeys(["visual.extra.weight"])) {
            _ = try CLIP(state: extra, configuration: config)
        }
        var missing = state
        missing.tensors["ln_final.bias"] = nil
        #expect(throws: CLIPModelError.missingKey("ln_final.bias", context: "loading weights")) {
            _ = try CLIP(state: missing, configuration: config)
        }
        state.tensors["visual.proj"] = WeightTensor(float32: [Float](repeating: 0, count: 32 * 15), shape: [32, 15])
        #expect(throws: CLIPModelError.shapeMismatch(key: "visual.proj", expected: [32, 16], found: [32, 15])) {
            _ = try CLIP(state: state, configuration: config)
        }
    }

    @Test func invalidInputsAreTypedErrors() throws {
        let model = try load(Self.cases[0])
        #expect(throws: CLIPModelError.self) { _ = try model.encodeText([[Int32](repeating: 0, count: 5)]) }
        #expect(throws: CLIPModelError.self) { _ = try model.encodeText([[Int32](repeating: 100, count: 77)]) }
        #expect(throws: CLIPModelError.self) { _ = try model.encodeImage(Tensor(zeros: [1, 3, 31, 31])) }
        // Chunked batches equal one big batch.
        var g = SeededGenerator(seed: 3)
        let pixels = Tensor.random([5, 3, 32, 32], using: &g)
        let whole = try model.encodeImage(pixels), chunked = try model.encodeImage(pixels, maxBatch: 2)
        #expect(Closeness(chunked.scalars, whole.scalars).within(absolute: 1e-5))
    }
}
