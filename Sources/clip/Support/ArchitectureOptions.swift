import ArgumentParser
import CLIP
import Foundation

/// How to read a checkpoint's architecture when the file does not say it all: `--model-config`,
/// `--activation`, `--text-heads`, `--vision-heads`. Part of ``ModelOptions`` (every command that
/// loads a model) and meant for `clip train` too.
struct ArchitectureOptions: ParsableArguments {
    @Option(
        name: .long,
        help:
            "open_clip model-config JSON (embed_dim, vision_cfg, text_cfg) to use instead of inferring the architecture."
    )
    var modelConfig: String?

    @Option(
        name: .long,
        help:
            "MLP activation when the file does not say: quick_gelu (OpenAI) or gelu (open_clip's non-quickgelu models)."
    )
    var activation: String?

    @Option(
        name: .long, help: "Text attention heads, for widths that are not multiples of 64 (OpenAI infers width/64).")
    var textHeads: Int?

    @Option(name: .long, help: "Vision attention heads, for widths that are not multiples of 64.")
    var visionHeads: Int?

    func validate() throws {
        if let activation, Activation(rawValue: activation) == nil {
            throw ValidationError("--activation must be quick_gelu or gelu, got '\(activation)'")
        }
    }

    /// The `--activation` value (validated).
    var activationOverride: Activation? { activation.flatMap(Activation.init(rawValue:)) }

    /// The configuration these options impose on `state`: the `--model-config` file, or the
    /// configuration inferred with the given head counts; nil to let the loader decide.
    func configuration(for state: StateDict) throws -> CLIPConfiguration? {
        if let modelConfig {
            let data = try Data(contentsOf: URL(fileURLWithPath: modelConfig))
            return try JSONDecoder().decode(CLIPConfiguration.self, from: data)
        }
        if textHeads != nil || visionHeads != nil {
            return try CLIPConfiguration.infer(from: state, textHeads: textHeads, visionHeads: visionHeads)
        }
        return nil
    }
}
