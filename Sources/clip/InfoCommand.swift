import ArgumentParser
import CLIP
import CLISupport
import Foundation

/// `clip info`: what a checkpoint holds, as JSON.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Print a model's configuration (inferred or read from the file) as JSON.",
        discussion: "Example: clip info --model ViT-B-32.pt")

    @OptionGroup var modelOptions: ModelOptions

    func run() throws {
        let model = try modelOptions.load()
        let c = model.configuration
        var vision: [String: Any] = ["image_size": c.vision.imageSize]
        switch c.vision {
        case .vit(_, let patch, let width, let layers, let heads):
            vision.merge(["type": "vit", "patch_size": patch, "width": width, "layers": layers, "heads": heads]) { $1 }
        case .resnet(_, let layers, let width, let heads):
            vision.merge(["type": "resnet", "width": width, "layers": layers, "heads": heads]) { $1 }
        }
        let info: [String: Any] = [
            "architecture": c.architectureName,
            "embed_dim": c.embedDim,
            "image_size": c.vision.imageSize,
            "context_length": c.text.contextLength,
            "vocab_size": c.text.vocabularySize,
            "parameters": model.parameterCount,
            "weight_dtype": model.weightDType.rawValue,
            "format": model.format.rawValue,
            "activation": c.activation.rawValue,
            "vision": vision,
            "text": ["width": c.text.width, "layers": c.text.layers, "heads": c.text.heads],
        ]
        let data = try JSONSerialization.data(withJSONObject: info, options: [.prettyPrinted, .sortedKeys])
        try Output.print(String(decoding: data, as: UTF8.self))
    }
}
