import ArgumentParser
import CLIP
import CLISupport
import Foundation

/// Options shared by every subcommand that loads a model.
///
/// `--model` takes a path or a name: a path that exists is loaded as it is; otherwise a known
/// name (`ViT-B/32`, `ViT-B-32`, `RN50x4`, `ViT-B-32/openai`, `hf:owner/name`; `clip models`
/// lists them) resolves to the cache, downloading the file first unless `--offline` or
/// `CLIP_OFFLINE=1`.
struct ModelOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "A checkpoint path (OpenAI .pt, PyTorch state dict, safetensors, Hugging Face CLIPModel folder) or a model name (`clip models`; hf:owner/name).",
            valueName: "path-or-name"))
    var model: String

    @OptionGroup var loading: ModelLoadingOptions

    /// The file or folder `--model` names, fetching a named model into the cache if needed.
    func resolve() throws -> URL {
        try Self.resolve(model, offline: loading.offline)
    }

    /// Resolves a path or model name (``ModelResolution/resolve(_:offline:)``: the library's rule,
    /// a progress bar for downloads, one `error:` line and exit 66 on failure).
    static func resolve(_ model: String, offline: Bool) throws -> URL {
        try ModelResolution.resolve(model, offline: offline)
    }

    /// Downloads with a progress bar; failures become one `error:` line and exit 66.
    static func fetch(_ reference: ModelReference, from store: ModelStore) throws -> URL {
        try ModelResolution.fetch(reference, from: store)
    }

    /// Loads the model (its linear layers in `precision`), mapping failures to one `error:`
    /// line and the model exit code. Only `towers` are converted now; the other is converted
    /// if and when it is used. `weightCheck: .whenRead` (one-off embeddings) checks fp16 weights
    /// for NaN and infinity as the first embedding reads them instead of by a scan at load.
    func load(
        towers: Set<CLIP.Tower> = [.image, .text], precision: Precision = .fp32, weightCheck: WeightCheck = .atLoad
    ) throws -> CLIP {
        try loading.load(model, towers: towers, precision: precision, weightCheck: weightCheck).model
    }

    /// The model together with its state dict and the file it came from (for `clip convert`).
    func loadWithState() throws -> (model: CLIP, state: StateDict, url: URL) {
        try loading.load(model)
    }
}

/// How `--model` is loaded: the options every command that loads a model shares, also where
/// `--model` itself is optional (`clip train`, which builds a fresh model without it).
struct ModelLoadingOptions: ParsableArguments {
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

    @Flag(name: .long, help: "Never download: a named model must already be in the cache (also CLIP_OFFLINE=1).")
    var offline = false

    func validate() throws {
        // Heads must divide the tower's width; widths beyond 16384 do not exist in CLIP.
        try OptionRange.check("--text-heads", textHeads, 1...16384)
        try OptionRange.check("--vision-heads", visionHeads, 1...16384)
        if let activation, Activation(rawValue: activation) == nil {
            throw ValidationError("--activation must be quick_gelu or gelu, got '\(activation)'")
        }
    }

    /// The configuration `--model-config` names, if any (exit 66 when unreadable).
    func configurationFile() throws -> CLIPConfiguration? {
        guard let modelConfig else { return nil }
        return try ModelConfigFile.read(modelConfig)
    }

    /// Resolves `model` (a path or name, see ``ModelOptions``) and loads it, mapping failures
    /// to one `error:` line and the model exit code. `configuration` (a preset) takes the
    /// place of `--model-config`. `trainable` models are private copies whose parameters
    /// require gradients, except those of `lockedTowers`. Only `towers` are converted now
    /// (`clip embed --text` needs no image tower); the other one on first use.
    func load(
        _ model: String, configuration: CLIPConfiguration? = nil, trainable: Bool = false,
        lockedTowers: Set<CLIP.Tower> = [], towers: Set<CLIP.Tower> = [.image, .text],
        precision: Precision = .fp32, weightCheck: WeightCheck = .atLoad
    ) throws -> (model: CLIP, state: StateDict, url: URL) {
        let url = try ModelOptions.resolve(model, offline: offline)
        let started = Date()
        var config = try configuration ?? configurationFile()
        do {
            let state = try WeightLoader.load(url)
            if config == nil, textHeads != nil || visionHeads != nil {
                config = try CLIPConfiguration.infer(from: state, textHeads: textHeads, visionHeads: visionHeads)
            }
            let act = activation.flatMap(Activation.init(rawValue:))
            let model =
                trainable
                ? try CLIP(
                    state: state, configuration: config, activation: act, trainable: true, lockedTowers: lockedTowers)
                : towers == Set(CLIP.Tower.allCases) && precision == .fp32
                    ? try CLIP(state: state, configuration: config, activation: act, weightCheck: weightCheck)
                    : try CLIP(
                        state: state, configuration: config, activation: act, towers: towers, precision: precision,
                        weightCheck: weightCheck)
            let int8 = model.precision == .int8 ? " (int8, \(Int8KernelPath.best) kernels)" : ""
            note(
                "loaded \(model.configuration.architectureName)\(int8) from \(url.path) in \(String(format: "%.2f", Date().timeIntervalSince(started))) s"
            )
            return (model, state, url)
        } catch {
            throw fail(error, .model)
        }
    }
}
