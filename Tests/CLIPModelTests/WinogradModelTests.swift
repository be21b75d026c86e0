import CLIPTensor
import CLIPTestSupport
import CLIPWeights
import Foundation
import Testing

@testable import CLIPModel

/// The ResNet tower with its 3×3 convolutions on the Winograd path, F(2×2, 3×3) and F(4×4, 3×3)
/// (from 64 channels in real models; here forced down to the tiny fixture's 2–16) against
/// clip/model.py's embeddings.
@Suite struct WinogradModelTests {
    @Test(arguments: ["rn.safetensors", "rn-jit.pt"]) func resNetMatchesTheReference(file: String) throws {
        try #require(WinogradWeights.isAvailable, "the packed GEMM runs on this CI machine")
        let state = try WeightLoader.load(ModelFixtures.url(file))
        let config = try CLIPConfiguration.infer(from: state, textHeads: 2, visionHeads: 1)
        let out = try ModelFixtures.outputs("rn-outputs.safetensors")
        let pixels = try Tensor(converting: try #require(out["pixels"]))
        let direct = try ConvNorm.$winogradMinimumChannels.withValue(Int.max) {
            try CLIP(state: state, configuration: config).encodeImage(pixels)
        }
        let prefix = file.hasSuffix(".pt") ? "fp16_" : ""
        let expected = try ModelFixtures.floats(try #require(out[prefix + "image_features"]))
        var results: [[Float]] = []
        for tile in WinogradTile.allCases {
            let winograd = try ConvNorm.$winogradMinimumChannels.withValue(1) {
                try ConvNorm.$winogradTile.withValue(tile) {
                    try CLIP(state: state, configuration: config).encodeImage(pixels)
                }
            }
            let agreement = rowAgreement(winograd.scalars, expected, width: config.embedDim)
            print(
                "\(file) winograd F(\(tile.rawValue)): max diff/norm \(agreement.relative), min cosine \(agreement.cosine)"
            )
            #expect(agreement.relative <= 1e-4 && agreement.cosine >= 0.99999, "F(\(tile.rawValue))")
            // The path really changed: other rounding than the direct convolution's.
            #expect(winograd.scalars != direct.scalars, "F(\(tile.rawValue)): the Winograd path was not taken")
            results.append(winograd.scalars)
        }
        #expect(results[0] != results[1], "F(4×4, 3×3) was not taken")
    }
}
