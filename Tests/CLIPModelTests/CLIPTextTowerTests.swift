import CLIPModel
import CLIPWeights
import Foundation
import Testing

/// The text-only load path gives the full model's text features, and never needs `visual.*`.
@Suite struct CLIPTextTowerTests {
    static let demoModel = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources/clip/Resources/demo/model.safetensors")
    static let texts = ["three small orange crosses on the left", "one large blue triangle in the center", ""]

    @Test func matchesTheFullModel() throws {
        let full = try CLIP.load(Self.demoModel).encodeText(Self.texts)
        let tower = try CLIPTextTower.load(Self.demoModel).encodeText(Self.texts)
        #expect(tower.shape == full.shape)
        let maxDiff = zip(tower.scalars, full.scalars).map { abs($0 - $1) }.max() ?? .nan
        print("text tower vs full model: max difference \(maxDiff) (tolerance 0: the same code on the same weights)")
        #expect(maxDiff == 0)
    }

    @Test func needsNoImageTowerTensors() throws {
        var state = try WeightLoader.load(Self.demoModel)
        let before = try CLIPTextTower(state: state).encodeText(Self.texts)
        // Without any visual.* tensor the full model cannot be built, the text tower can.
        state.tensors = state.tensors.filter { !$0.key.hasPrefix("visual.") }
        #expect(throws: (any Error).self) { try CLIP(state: state) }
        let after = try CLIPTextTower(state: state).encodeText(Self.texts)
        #expect(after.scalars == before.scalars)
    }

    @Test func strictAboutTextKeys() throws {
        var state = try WeightLoader.load(Self.demoModel)
        state.tensors["transformer.stray"] = state.tensors["ln_final.bias"]
        #expect(throws: CLIPModelError.unexpectedKeys(["transformer.stray"])) { try CLIPTextTower(state: state) }
    }
}
