import Foundation
import Testing

@testable import CLIPWeights

/// `HuggingFaceKeyMap` in both directions on hand-made tensors: each OpenAI key (left) has the
/// Hugging Face names (right) transformers' `convert_clip_original_pytorch_to_hf.py` gives it.
@Suite struct HuggingFaceKeyMapTests {
    static let cases: [(openAI: String, shape: [Int], hf: [String])] = [
        ("token_embedding.weight", [5, 2], ["text_model.embeddings.token_embedding.weight"]),
        ("positional_embedding", [3, 2], ["text_model.embeddings.position_embedding.weight"]),
        ("visual.class_embedding", [2], ["vision_model.embeddings.class_embedding"]),
        ("visual.conv1.weight", [2, 3, 1, 1], ["vision_model.embeddings.patch_embedding.weight"]),
        ("visual.ln_pre.weight", [2], ["vision_model.pre_layrnorm.weight"]),
        ("visual.ln_post.bias", [2], ["vision_model.post_layernorm.bias"]),
        ("ln_final.weight", [2], ["text_model.final_layer_norm.weight"]),
        ("logit_scale", [], ["logit_scale"]),
        ("text_projection", [2, 4], ["text_projection.weight"]),
        ("visual.proj", [2, 4], ["visual_projection.weight"]),
        ("transformer.resblocks.11.ln_1.weight", [2], ["text_model.encoder.layers.11.layer_norm1.weight"]),
        ("transformer.resblocks.0.mlp.c_fc.bias", [8], ["text_model.encoder.layers.0.mlp.fc1.bias"]),
        ("visual.transformer.resblocks.2.mlp.c_proj.weight", [2, 8], ["vision_model.encoder.layers.2.mlp.fc2.weight"]),
        (
            "visual.transformer.resblocks.0.attn.out_proj.weight", [2, 2],
            ["vision_model.encoder.layers.0.self_attn.out_proj.weight"]
        ),
        (
            "transformer.resblocks.1.attn.in_proj_weight", [6, 2],
            ["q", "k", "v"].map { "text_model.encoder.layers.1.self_attn.\($0)_proj.weight" }
        ),
        (
            "visual.transformer.resblocks.0.attn.in_proj_bias", [6],
            ["q", "k", "v"].map { "vision_model.encoder.layers.0.self_attn.\($0)_proj.bias" }
        ),
    ]

    static func tensor(_ shape: [Int], seed: Int) -> WeightTensor {
        let count = shape.reduce(1, *)
        return WeightTensor(float32: (0..<count).map { Float(seed * 100 + $0) }, shape: shape)
    }

    @Test func exportsEveryKeyAndImportsItBack() throws {
        var openAI: [String: WeightTensor] = [:]
        for (i, c) in Self.cases.enumerated() { openAI[c.openAI] = Self.tensor(c.shape, seed: i) }
        let hf = try HuggingFaceKeyMap.fromOpenAI(openAI)
        #expect(
            Set(hf.keys) == Set(Self.cases.flatMap(\.hf)),
            "\(Set(hf.keys).symmetricDifference(Self.cases.flatMap(\.hf)))")
        // q, k, v are the thirds of in_proj in that order; projections are transposed.
        let inProj = try #require(openAI["transformer.resblocks.1.attn.in_proj_weight"])
        let k = try #require(hf["text_model.encoder.layers.1.self_attn.k_proj.weight"])
        #expect(k.shape == [2, 2] && k.bytes == Array(inProj.bytes[16..<32]))
        #expect(hf["visual_projection.weight"]?.shape == [4, 2])
        let back = try HuggingFaceKeyMap.toOpenAI(hf, source: "test")
        #expect(Set(back.keys) == Set(openAI.keys))
        for (key, tensor) in openAI {
            #expect(back[key]?.shape == tensor.shape && back[key]?.bytes == tensor.bytes, "\(key)")
        }
    }

    /// Keys the Hugging Face layout cannot hold (a ResNet tower, stray buffers) are refused by name.
    @Test(arguments: ["visual.layer1.0.conv1.weight", "visual.attnpool.c_proj.weight", "something_else"])
    func refusesKeysWithoutAHuggingFaceName(_ key: String) {
        #expect(throws: HuggingFaceKeyMap.UnmappedKey.self) {
            try HuggingFaceKeyMap.fromOpenAI([key: Self.tensor([2], seed: 0)])
        }
        do { _ = try HuggingFaceKeyMap.fromOpenAI([key: Self.tensor([2], seed: 0)]) } catch {
            #expect(error.localizedDescription.contains(key), "\(error.localizedDescription)")
        }
    }
}
