import CLIPModel
import CLIPTensor
import CLIPWeights
import Foundation
import Testing

// ViT-bigG-14's image tower has MLPs 8192 wide for width 1664 (open_clip mlp_ratio 4.9231, HF
// intermediate_size 8192), not 4C. Fixtures: scripts/reference/make_hidden_state_fixtures.py
// (openclip-bigg: open_clip state dict + model-config JSON, width 16 → MLP 78; bigg-image: the
// same ratio as a transformers CLIPVisionModelWithProjection). Tolerance 1e-4 of each row's norm.

@Suite struct VisionMLPWidthTests {
    static let bigG = HiddenStateFixtures.url("openclip-bigg.bin")

    static func openCLIPConfig() throws -> CLIPConfiguration {
        try JSONDecoder().decode(
            CLIPConfiguration.self, from: Data(contentsOf: HiddenStateFixtures.url("openclip-bigg.json")))
    }

    @Test func mlpRatioIsReadAsOpenCLIPComputesIt() throws {
        let config = try Self.openCLIPConfig()
        #expect(config.visionMLPWidth == 78, "int(16 * 4.9231)")
        // Written as 78 / 16 and read back to the same width; the default 4C stays implicit.
        let again = try JSONDecoder().decode(CLIPConfiguration.self, from: JSONEncoder().encode(config))
        #expect(again == config)
        let full = CLIPConfiguration(
            embedDim: 1280, vision: .vit(imageSize: 224, patchSize: 14, width: 1664, layers: 48, heads: 16),
            text: TextConfiguration(width: 1280, heads: 20, layers: 32), activation: .gelu, visionMLPWidth: 8192)
        let json = String(decoding: try JSONEncoder().encode(full), as: UTF8.self)
        #expect(json.contains("\"mlp_ratio\""))
        #expect(try JSONDecoder().decode(CLIPConfiguration.self, from: Data(json.utf8)).visionMLPWidth == 8192)
        let bigGRatio =
            #"{"embed_dim": 1280, "vision_cfg": {"image_size": 224, "layers": 48, "width": 1664, "head_width": 104, "mlp_ratio": 4.9231, "patch_size": 14}, "text_cfg": {"width": 1280, "heads": 20, "layers": 32}}"#
        #expect(try JSONDecoder().decode(CLIPConfiguration.self, from: Data(bigGRatio.utf8)).visionMLPWidth == 8192)
        #expect(CLIPConfiguration.preset("ViT-L/14")?.visionMLPWidth == nil)
    }

    @Test func inferredFromTheWeights() throws {
        let state = try WeightLoader.load(Self.bigG)
        let inferred = try CLIPConfiguration.infer(from: state, activation: .gelu, textHeads: 2, visionHeads: 2)
        #expect(inferred.visionMLPWidth == 78)
        #expect(inferred == (try Self.openCLIPConfig()))
    }

    /// The whole model (CLIP.encodeImage / encodeText) against open_clip's encode_image / encode_text.
    @Test func wholeModelEmbeddingsMatchOpenCLIP() throws {
        let out = try WeightLoader.load(HiddenStateFixtures.url("openclip-bigg-states.safetensors")).tensors
        for config in [try Self.openCLIPConfig(), nil] {
            let state = try WeightLoader.load(Self.bigG)
            let model = try CLIP(
                state: state,
                configuration: try config
                    ?? CLIPConfiguration.infer(from: state, activation: .gelu, textHeads: 2, visionHeads: 2))
            let pixels = try Tensor(converting: try #require(out["pixels"]))
            let image = rowAgreement(
                try model.encodeImage(pixels).scalars, try ModelFixtures.floats(try #require(out["image.embeds"])),
                width: 8)
            let tokens = ModelFixtures.tokens(try #require(out["tokens.zero"]))
            let text = rowAgreement(
                try model.encodeText(tokens).scalars, try ModelFixtures.floats(try #require(out["text.zero.embeds"])),
                width: 8)
            print("bigG-like CLIP (\(config == nil ? "inferred" : "model-config JSON")): image \(image), text \(text)")
            #expect(image.relative <= 1e-4 && text.relative <= 1e-4)
        }
    }

    /// A transformers config.json with intermediate_size ≠ 4 × hidden_size loads; a whole
    /// CLIPModel config.json carries it into the configuration and back out.
    @Test func huggingFaceIntermediateSize() throws {
        let towers = try CLIPTowers.load(HiddenStateFixtures.url("bigg-image"))
        #expect(try towers.visionTower().transformer.blocks[0].fc.weight.shape == [78, 16])
        var config = try Self.openCLIPConfig()
        let json = try config.huggingFaceConfigJSON()
        #expect(try CLIPConfiguration.fromHuggingFace(configJSON: json).visionMLPWidth == 78)
        config.visionMLPWidth = nil
        #expect(try CLIPConfiguration.fromHuggingFace(configJSON: config.huggingFaceConfigJSON()).visionMLPWidth == nil)
    }
}
