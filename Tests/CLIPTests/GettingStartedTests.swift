import CLIP
import Foundation
import Testing

// The README sample through `import CLIP`, in process and as the `getting-started` example
// binary, on the bundled demo model (offline). The demo model has a 64 px image side, a
// 20-token context and 64-wide embeddings, so the sample's 77-id rows are cut to its context.

/// The bundled demo model and images (Sources/clip/Resources/demo).
enum Demo {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Sources/clip/Resources/demo").standardized
    static let model = folder.appendingPathComponent("model.safetensors")
    static let image = folder.appendingPathComponent("images/000000.png")

    /// Where SwiftPM puts built products: the example binary sits beside the test runner.
    static var productsDirectory: URL {
        #if os(macOS)
            let bundle = Bundle.allBundles.first { $0.bundlePath.hasSuffix(".xctest") } ?? Bundle.main
            return bundle.bundleURL.deletingLastPathComponent()
        #else
            return Bundle.main.bundleURL
        #endif
    }
}

struct GettingStartedTests {
    /// The sample's calls, with shapes and the forward pass checked against the features.
    @Test func sampleRunsThroughTheUmbrellaModule() async throws {
        let (model, preprocess) = try await CLIP.load(Demo.model.path)
        let image = try preprocess(Demo.image)
        #expect(image.shape == [1, 3, 64, 64])
        let text = try CLIP.tokenize(["a diagram", "a dog", "a cat"])
        #expect(text.count == 3 && text.allSatisfy { $0.count == 77 })
        let imageFeatures = try model.encodeImage(image)
        let textFeatures = try model.encodeText(text)
        #expect(imageFeatures.shape == [1, 64] && textFeatures.shape == [3, 64])
        let (logitsPerImage, logitsPerText) = try model(image, text)
        #expect(logitsPerImage.shape == [1, 3] && logitsPerText.shape == [3, 1])
        // The forward pass is the scaled cosine similarity of the encoded features.
        let expected = model.logits(imageFeatures: imageFeatures, textFeatures: textFeatures)
        let diff = zip(logitsPerImage.scalars, expected.perImage.scalars).map { abs($0 - $1) }.max() ?? 0
        #expect(diff == 0, "max |difference| \(diff), expected identical")
        #expect(logitsPerText.scalars == logitsPerImage.scalars)  // (3, 1) is the transpose of (1, 3)
        let probs = logitsPerImage.softmax(axis: -1).scalars
        let sum = probs.reduce(0, +)
        #expect(probs.count == 3 && abs(sum - 1) < 1e-5, "probabilities \(probs) sum to \(sum), tolerance 1e-5")
        // The [URL] and [String] overloads give the same features as the explicit steps.
        #expect(try model.encodeImage([Demo.image]).scalars == imageFeatures.scalars)
        #expect(try model.encodeText(["a diagram", "a dog", "a cat"]).scalars == textFeatures.scalars)
        #expect(try preprocess([Demo.image, Demo.image]).shape == [2, 3, 64, 64])
    }

    /// A text whose end lies past the model's context cannot be cut silently.
    @Test func longTextBeyondAShortContextIsATypedError() async throws {
        let (model, _) = try await CLIP.load(Demo.model.path)
        let long = try CLIP.tokenize([Array(repeating: "square", count: 30).joined(separator: " ")])
        #expect(throws: CLIPModelError.self) { _ = try model.encodeText(long) }
        #expect(throws: TokenizerError.self) {
            _ = try CLIP.tokenize([Array(repeating: "square", count: 80).joined(separator: " ")], truncate: false)
        }
    }

    /// An unknown name fails before any download with the hub's hint.
    @Test func unknownNameIsAHubError() async throws {
        await #expect(throws: HubError.modelNotFound("ViT-Q/99", looksLikePath: true)) {
            _ = try await CLIP.load("ViT-Q/99")
        }
    }

    /// The example target prints the sample's line; its probabilities equal the in-process run.
    @Test func exampleBinaryPrintsTheLabelProbabilities() async throws {
        let process = Process()
        process.executableURL = Demo.productsDirectory.appendingPathComponent("getting-started")
        process.environment = ProcessInfo.processInfo.environment.merging(["CLIP_OFFLINE": "1"]) { $1 }
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let printed = String(decoding: data, as: UTF8.self)
        #expect(process.terminationStatus == 0, "\(printed)")
        let (model, preprocess) = try await CLIP.load(Demo.model.path)
        let probs = try model(preprocess(Demo.image), CLIP.tokenize(["a diagram", "a dog", "a cat"]))
            .logitsPerImage.softmax(axis: -1).scalars
        #expect(printed == "Label probs: \(probs)\n")
    }

    @Test func availableModelsAreOpenAIsNamesInOrder() {
        #expect(
            CLIP.availableModels() == [
                "RN50", "RN101", "RN50x4", "RN50x16", "RN50x64", "ViT-B/32", "ViT-B/16", "ViT-L/14", "ViT-L/14@336px",
            ])
    }
}
