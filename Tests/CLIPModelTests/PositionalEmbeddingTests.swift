import CLIPModel
import CLIPTensor
import CLIPTestSupport
import CLIPWeights
import Foundation
import Testing

// open_clip's `vision_cfg.pos_embed_type: "sin_cos_2d"` against the tensors open_clip 2.29.0
// builds (scripts/reference/make_sincos_fixture.py), and the config fields that come with it.

@Suite struct PositionalEmbeddingTests {
    static func configuration() throws -> CLIPConfiguration {
        try JSONDecoder().decode(
            CLIPConfiguration.self, from: Data(contentsOf: ModelFixtures.url("sincos-config.json")))
    }

    @Test func openCLIPConfigWithHeadWidthAndSinCosDecodes() throws {
        let config = try Self.configuration()
        // head_width 8 on width 16: two heads (open_clip: width // head_width).
        #expect(config.vision == .vit(imageSize: 32, patchSize: 8, width: 16, layers: 1, heads: 2))
        #expect(config.visionPositionalEmbedding == .sinCos2D)
        // What swift-clip writes (checkpoint metadata) reads back the same.
        let again = try JSONDecoder().decode(CLIPConfiguration.self, from: JSONEncoder().encode(config))
        #expect(again == config)
        // The default stays out of the JSON, so learnable models' files do not change.
        var learnable = config
        learnable.visionPositionalEmbedding = .learnable
        let json = String(decoding: try JSONEncoder().encode(learnable), as: UTF8.self)
        #expect(!json.contains("pos_embed_type"), "\(json)")
    }

    @Test func initialEmbeddingIsOpenCLIPsAndFrozen() throws {
        let reference = try WeightLoader.load(ModelFixtures.url("sincos-positional-embedding.safetensors")).tensors
        let model = try CLIP(configuration: try Self.configuration(), seed: 3)
        let parameter = try #require(model.namedParameters.first { $0.key == "visual.positional_embedding" }?.variable)
        let expected = try ModelFixtures.floats(try #require(reference["visual.positional_embedding"]))
        let d = Closeness(parameter.value.scalars, expected)
        print("sin-cos positional embedding (17, 16) vs open_clip: \(d)")
        #expect(parameter.shape == [17, 16])
        // Both round the Float64 value once; libm's sin/cos may differ by an ulp of Float64 only.
        #expect(d.within(absolute: 1e-7), "\(d)")
        #expect(!parameter.requiresGrad, "open_clip does not train the sin-cos embedding")
        // Learnable parameters still train.
        #expect(model.namedParameters.first { $0.key == "visual.class_embedding" }?.variable.requiresGrad == true)

        let demoShape = CLIPInitializer.sinCos2DPositionalEmbedding(grid: 8, width: 96)
        let demo = Closeness(demoShape.scalars, try ModelFixtures.floats(try #require(reference["grid8_width96"])))
        print("sin-cos positional embedding (65, 96) vs open_clip: \(demo)")
        #expect(demoShape.shape == [65, 96] && demo.within(absolute: 1e-7), "\(demo)")
    }

    @Test func sinCosTableIsRecognisedInWeightsWithoutMetadata() throws {
        // An open_clip checkpoint carries no swift-clip metadata: the table itself says it is
        // the fixed one (also after fp16 rounding), so fine-tuning keeps it frozen.
        let sinCos = try CLIP(configuration: try Self.configuration(), seed: 1)
        for (dtype, format) in [
            (WeightDType.float32, StorageFormat.float32), (.float16, .float16), (.bfloat16, .bfloat16),
        ] {
            var tensors: [String: WeightTensor] = [:]
            for (key, tensor) in try sinCos.stateTensors() {
                tensors[key] = WeightTensor(
                    dtype: dtype, shape: tensor.shape, bytes: try Tensor(converting: tensor).encoded(as: format))
            }
            let state = StateDict(tensors: tensors, format: .safetensors)
            let inferred = try CLIPConfiguration.infer(from: state, textHeads: 2, visionHeads: 2)
            #expect(inferred.visionPositionalEmbedding == .sinCos2D, "\(dtype)")
            let model = try CLIP(state: state, configuration: inferred, trainable: true)
            #expect(
                model.namedParameters.first { $0.key == "visual.positional_embedding" }?.variable.requiresGrad == false)
        }
        var learnable = try Self.configuration()
        learnable.visionPositionalEmbedding = .learnable
        let random = try CLIP(configuration: learnable, seed: 1)
        let state = StateDict(
            tensors: Dictionary(uniqueKeysWithValues: try random.stateTensors().map { ($0.key, $0.tensor) }),
            format: .safetensors)
        #expect(
            try CLIPConfiguration.infer(from: state, textHeads: 2, visionHeads: 2).visionPositionalEmbedding
                == .learnable)
    }

    @Test func sinCosNeedsAViTWithWidthDivisibleByFour() throws {
        var config = try Self.configuration()
        config.vision = .vit(imageSize: 32, patchSize: 8, width: 18, layers: 1, heads: 2)
        #expect(throws: CLIPModelError.self) { try config.validate() }
        config.vision = .resnet(imageSize: 64, layers: [1, 1, 1, 1], width: 8, heads: 2)
        #expect(throws: CLIPModelError.self) { try config.validate() }
    }
}
