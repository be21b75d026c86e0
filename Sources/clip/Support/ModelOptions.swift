import ArgumentParser
import CLIP
import Foundation

/// Options shared by every subcommand that loads a model.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: "Checkpoint: OpenAI .pt (TorchScript), PyTorch state dict, safetensors, or a Hugging Face CLIPModel folder.")
    var model: String

    @Option(name: .long, help: "open_clip model-config JSON (embed_dim, vision_cfg, text_cfg) to use instead of inferring the architecture.")
    var modelConfig: String?

    @Option(name: .long, help: "MLP activation when the file does not say: quick_gelu (OpenAI) or gelu (open_clip's non-quickgelu models).")
    var activation: String?

    @Option(name: .long, help: "Text attention heads, for widths that are not multiples of 64 (OpenAI infers width/64).")
    var textHeads: Int?

    @Option(name: .long, help: "Vision attention heads, for widths that are not multiples of 64.")
    var visionHeads: Int?

    func validate() throws {
        if let activation, Activation(rawValue: activation) == nil {
            throw ValidationError("--activation must be quick_gelu or gelu, got '\(activation)'")
        }
    }

    /// Loads the model, mapping failures to one `error:` line and the model exit code.
    func load() throws -> CLIP {
        let url = URL(fileURLWithPath: model)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw fail("model file not found: \(model)", hint: "Pass a checkpoint path; `clip --help` lists the formats.", .model)
        }
        do {
            let state = try WeightLoader.load(url)
            var config: CLIPConfiguration?
            if let modelConfig {
                let data = try Data(contentsOf: URL(fileURLWithPath: modelConfig))
                config = try JSONDecoder().decode(CLIPConfiguration.self, from: data)
            } else if textHeads != nil || visionHeads != nil {
                config = try CLIPConfiguration.infer(from: state, textHeads: textHeads, visionHeads: visionHeads)
            }
            return try CLIP(state: state, configuration: config, activation: activation.flatMap(Activation.init(rawValue:)))
        } catch {
            throw fail(error, .model)
        }
    }
}
