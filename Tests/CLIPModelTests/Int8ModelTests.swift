import CLIPModel
import CLIPTensor
import CLIPTestSupport
import CLIPWeights
import Foundation
import Testing

// int8 models against their float32 selves on the reference fixtures (tiny random-weight models
// from scripts/reference/make_weight_fixtures.py): the bar is a cosine ≥ 0.995 between the
// int8 and float32 embedding of every fixture image and text. Random weights are a harsh case
// for quantisation (no outlier structure, widths of 32); the trained demo model is measured in
// CLITests and the README.

@Suite struct Int8ModelTests {
    static let files = ["vit.safetensors", "vit-fp16.pt", "rn.safetensors", "rn-bf16.safetensors", "hf"]

    static func load(_ file: String, precision: Precision) throws -> CLIP {
        try load(WeightLoader.load(ModelFixtures.url(file)), file: file, precision: precision)
    }

    static func load(_ state: StateDict, file: String, precision: Precision) throws -> CLIP {
        let model = file.hasPrefix("rn") ? "rn" : (file.hasPrefix("vit") ? "vit" : "hf")
        guard let heads = ModelFixtures.heads[model] else { return try CLIP(state: state, precision: precision) }
        let config = try CLIPConfiguration.infer(from: state, textHeads: heads.text, visionHeads: heads.vision)
        return try CLIP(state: state, configuration: config, precision: precision)
    }

    /// Image and text features of the fixture inputs.
    static func features(_ model: CLIP, outputs: String) throws -> (image: [Float], text: [Float]) {
        let out = try ModelFixtures.outputs(outputs)
        let pixels = try Tensor(converting: try #require(out["pixels"]))
        let tokens = ModelFixtures.tokens(try #require(out["tokens"]))
        return (try model.encodeImage(pixels).scalars, try model.encodeText(tokens).scalars)
    }

    static func outputs(_ file: String) -> String {
        file.hasPrefix("rn")
            ? "rn-outputs.safetensors" : (file.hasPrefix("vit") ? "vit-outputs.safetensors" : "hf-outputs.safetensors")
    }

    @Test(arguments: files) func int8EmbeddingsStayWithinCosine0995OfFloat32(file: String) throws {
        let fp32 = try Self.load(file, precision: .fp32)
        let int8 = try Self.load(file, precision: .int8)
        #expect(fp32.precision == .fp32 && int8.precision == .int8)
        let a = try Self.features(fp32, outputs: Self.outputs(file))
        let b = try Self.features(int8, outputs: Self.outputs(file))
        let e = fp32.configuration.embedDim
        let image = rowAgreement(b.image, a.image, width: e)
        let text = rowAgreement(b.text, a.text, width: e)
        print("int8 \(file): min cosine image \(image.cosine), text \(text.cosine)")
        #expect(image.cosine >= 0.995, "\(file) image: min cosine \(image.cosine)")
        #expect(text.cosine >= 0.995, "\(file) text: min cosine \(text.cosine)")
        // Not trivially equal: the int8 path really ran.
        #expect(a.image != b.image, "\(file): int8 features are bit-identical to float32")
    }

    @Test func int8ModelQuantisesTheTransformerLinearsOnly() throws {
        let model = try Self.load("vit.safetensors", precision: .int8)
        guard case .vit(let vision) = try model.visual else {
            Issue.record("not a ViT")
            return
        }
        for block in try vision.transformer.blocks + model.text.transformer.blocks {
            let linears = [block.attention.inProjection, block.attention.outProjection, block.fc, block.projection]
            #expect(linears.allSatisfy { $0.int8 != nil })
        }
        let fp32 = try Self.load("vit.safetensors", precision: .fp32)
        #expect(try fp32.text.transformer.blocks.allSatisfy { $0.fc.int8 == nil })
        // Training never computes in int8.
        let state = try WeightLoader.load(ModelFixtures.url("vit.safetensors"))
        let config = try CLIPConfiguration.infer(from: state, textHeads: 2, visionHeads: 2)
        let trainable = try CLIP(state: state, configuration: config, trainable: true, precision: .int8)
        let trainableBlocks = try trainable.text.transformer.blocks
        #expect(trainable.precision == .fp32 && trainableBlocks.allSatisfy { $0.fc.int8 == nil })
    }

    /// `Int8Checkpoint` (what `clip convert --dtype int8` writes) → safetensors → load: at int8
    /// the stored values give exactly the features of quantising at load; at fp32 they are
    /// dequantised and stay within the int8 bar of the original.
    @Test(arguments: ["vit.safetensors", "rn.safetensors"]) func convertedInt8FileRoundTrips(file: String) throws {
        let state = try WeightLoader.load(ModelFixtures.url(file))
        let quantized = try Int8Checkpoint.quantize(state.tensors)
        let int8Keys = quantized.filter { $0.value.dtype == .int8 }.keys.sorted()
        #expect(!int8Keys.isEmpty && int8Keys.allSatisfy { quantized[$0 + Int8Checkpoint.scaleSuffix] != nil })
        #expect(int8Keys.allSatisfy(Int8Checkpoint.isQuantized))
        #expect(!int8Keys.contains("visual.proj") && !int8Keys.contains("text_projection"))
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("int8-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try SafetensorsWriter.write(
            quantized.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, metadata: [:], to: url)
        let reloaded = try WeightLoader.load(url)
        #expect(reloaded.tensors.count == state.tensors.count + int8Keys.count)

        let direct = try Self.features(try Self.load(file, precision: .int8), outputs: Self.outputs(file))
        let stored = try Self.features(
            try Self.load(reloaded, file: file, precision: .int8), outputs: Self.outputs(file))
        let diff = zip(direct.image + direct.text, stored.image + stored.text).map { abs($0 - $1) }.max() ?? .infinity
        print("int8 \(file): stored int8 vs quantised at load, max |diff| \(diff)")
        #expect(diff == 0, "\(file): stored int8 file differs from quantising at load by \(diff)")

        let original = try Self.features(try Self.load(file, precision: .fp32), outputs: Self.outputs(file))
        let dequantized = try Self.features(
            try Self.load(reloaded, file: file, precision: .fp32), outputs: Self.outputs(file))
        let e = 16
        let image = rowAgreement(dequantized.image, original.image, width: e)
        let text = rowAgreement(dequantized.text, original.text, width: e)
        print("int8 \(file): dequantised fp32 min cosine image \(image.cosine), text \(text.cosine)")
        #expect(image.cosine >= 0.995 && text.cosine >= 0.995)
    }

    @Test func badScalesAreRefusedWithTheKey() throws {
        let state = try WeightLoader.load(ModelFixtures.url("vit.safetensors"))
        var quantized = try Int8Checkpoint.quantize(state.tensors)
        let key = "transformer.resblocks.0.mlp.c_fc.weight"
        quantized[key + Int8Checkpoint.scaleSuffix] = WeightTensor(float32: [1, 2], shape: [2])
        var broken = state
        broken.tensors = quantized
        #expect(throws: CLIPModelError.shapeMismatch(key: key + ".scale", expected: [128], found: [2])) {
            _ = try Self.load(broken, file: "vit.safetensors", precision: .int8)
        }
        quantized[key + Int8Checkpoint.scaleSuffix] = WeightTensor(
            float32: [Float](repeating: .nan, count: 128), shape: [128])
        broken.tensors = quantized
        #expect(throws: CLIPModelError.nonFiniteWeight(key: key + ".scale")) {
            _ = try Self.load(broken, file: "vit.safetensors", precision: .fp32)
        }
    }
}
