import CLIPModel
import CLIPTensor
import Foundation
import Testing

/// A text's or an image's features do not depend on the batch it is encoded in (bit for bit,
/// `Parallel.batchInvariant`, the default): what `clip embed`, `clip serve`'s dynamic batches and a
/// single request compute are the same numbers. On the bundled demo model; tolerance 0.
@Suite struct BatchInvarianceModelTests {
    static let demo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources/clip/Resources/demo")
    static let texts = [
        "three small orange crosses on the left", "a", "one large blue triangle in the center of the picture",
        "two green squares", "", "a photo of a cat", "yellow circles at the bottom right corner, very small",
    ]

    static func rows(_ t: Tensor) -> [[Float]] {
        let e = t.shape[1], s = t.scalars
        return (0..<t.shape[0]).map { Array(s[($0 * e)..<(($0 + 1) * e)]) }
    }

    @Test func textAndImageFeaturesEqualAloneAndInAnyBatch() throws {
        let model = try CLIP.load(Self.demo.appendingPathComponent("model.safetensors"))
        let all = Self.rows(try model.encodeText(Self.texts))
        var mismatches = 0
        for (i, text) in Self.texts.enumerated() where Self.rows(try model.encodeText([text]))[0] != all[i] {
            mismatches += 1
        }
        let reversed = Self.rows(try model.encodeText(Self.texts.reversed()))
        if Array(reversed.reversed()) != all { mismatches += 1 }
        let side = model.imageSize
        let images = try (0..<4).map {
            try model.preprocessor.preprocess(
                contentsOf: Self.demo.appendingPathComponent(String(format: "images/%06d.png", $0)))
        }
        let batch = Self.rows(try model.encodeImage(Tensor(shape: [4, 3, side, side], scalars: images.flatMap { $0 })))
        for (i, pixels) in images.enumerated() {
            let alone = Self.rows(try model.encodeImage(Tensor(shape: [1, 3, side, side], scalars: pixels)))[0]
            if alone != batch[i] { mismatches += 1 }
        }
        print(
            "batch invariance on the demo model: \(mismatches) of \(Self.texts.count + 5) checks differ (tolerance 0)")
        #expect(mismatches == 0)
    }
}
