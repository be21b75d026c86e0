// The README's "Use it as a library" sample, runnable: `swift run getting-started [MODEL [IMAGE]]`.
// MODEL is a name (`ViT-B/32`, downloaded on first use), a checkpoint file or a folder; IMAGE a
// picture. Without arguments it runs offline on the bundled demo model and a demo image (that
// model knows coloured shapes, not diagrams, dogs or cats).
import CLIP
import Foundation

let demo = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("../../Sources/clip/Resources/demo").standardized
let arguments = CommandLine.arguments.dropFirst()
let modelName = arguments.first ?? demo.appendingPathComponent("model.safetensors").path
let imagePath = arguments.dropFirst().first ?? demo.appendingPathComponent("images/000000.png").path

let (model, preprocess) = try await CLIP.load(modelName)
let image = try preprocess(URL(fileURLWithPath: imagePath))  // Tensor (1, 3, 224, 224)
let text = try CLIP.tokenize(["a diagram", "a dog", "a cat"])  // [[Int32]], 3 × 77
let imageFeatures = try model.encodeImage(image)  // Tensor (1, 512), unnormalised
let textFeatures = try model.encodeText(text)  // Tensor (3, 512), unnormalised
let (logitsPerImage, logitsPerText) = try model(image, text)  // (1, 3) and (3, 1), scaled by exp(logit_scale)
let probs = logitsPerImage.softmax(axis: -1)
print("Label probs:", probs.scalars)  // [Float], row-major
