import CLIPTokenizer
import CLIPWeights
import Foundation

// One entry point from any CLIP weights to the towers a diffusion pipeline uses: whole CLIP
// checkpoints (OpenAI, open_clip, Hugging Face CLIPModel folders), diffusers' single-tower
// folders (text_encoder/, text_encoder_2/, image_encoder/), pipeline roots (model_index.json)
// and open_clip Hugging Face folders (open_clip_config.json beside the weights).
// Symbols: N prompts, B images, T context length, C width, E embedding width.

/// The text and image towers of a model, each present when the weights hold it.
///
/// ```swift
/// let towers = try CLIPTowers.load(URL(fileURLWithPath: "sd15/text_encoder"))
/// let rows = try PromptTokens(["a cat"], tokenizer: towers.tokenizer, padding: .eot).rows
/// let states = try towers.textTower().hiddenStates(rows)    // (1, 77, 768): SD 1.x conditioning
/// ```
public struct CLIPTowers: Sendable {
    /// What the weights are: a whole CLIP or one transformers tower class.
    public var kind: TowerKind
    public var text: TextTower?
    public var vision: VisionTower?
    /// The bundled OpenAI BPE (diffusers' `tokenizer/` folders hold the same vocabulary).
    public var tokenizer: Tokenizer
    /// The folder or file the weights were read from (a pipeline's component folder).
    public var source: URL

    /// Which towers to build from a whole checkpoint (the other tower's keys are skipped).
    public enum Modality: String, Sendable {
        case text, image
    }

    /// The text tower, or an error saying what the weights hold instead.
    public func textTower() throws -> TextTower {
        guard let text else {
            throw HiddenStatesError.missingTower(
                "\(source.lastPathComponent) holds only an image tower (\(kind.rawValue)), no text tower")
        }
        return text
    }

    /// The image tower, or an error saying what the weights hold instead.
    public func visionTower() throws -> VisionTower {
        guard let vision else {
            throw HiddenStatesError.missingTower(
                "\(source.lastPathComponent) holds only a text tower (\(kind.rawValue)), no image tower")
        }
        return vision
    }

    /// Whether `url` is a diffusers pipeline root or a single-tower folder (`config.json` of a
    /// `CLIPTextModel*` / `CLIPVisionModel*`), which ``CLIP/load(_:configuration:activation:)`` cannot load.
    public static func isSingleTower(_ url: URL) -> Bool {
        if DiffusersPipeline.isPipeline(url) { return true }
        guard let data = FileManager.default.contents(atPath: url.appendingPathComponent("config.json").path),
            let tower = try? TowerConfiguration.fromHuggingFace(configJSON: String(decoding: data, as: UTF8.self))
        else { return false }
        return tower.kind != .clip
    }

    /// Loads towers from `url`.
    /// - Parameters:
    ///   - component: for a diffusers pipeline root, the component folder (`text_encoder_2`).
    ///   - modality: for whole checkpoints, build only this tower (strict for its keys); the text
    ///     tower's configuration is then read from its own keys only.
    ///   - configuration: open_clip model-config JSON, instead of what the file says or infers.
    ///   - activation: overrides the MLP activation when the file does not say.
    public static func load(
        _ url: URL, component: String? = nil, modality: Modality? = nil, configuration: CLIPConfiguration? = nil,
        activation: Activation? = nil, textHeads: Int? = nil, visionHeads: Int? = nil
    ) throws -> CLIPTowers {
        var url = url
        if DiffusersPipeline.isPipeline(url) {
            url = try DiffusersPipeline.component(url, named: component)
        } else if let component {
            let folder = url.appendingPathComponent(component)
            guard FileManager.default.fileExists(atPath: folder.path) else {
                throw WeightError.invalidHuggingFaceFolder(
                    folder: url.path, detail: "no \(DiffusersPipeline.indexName) and no component folder '\(component)'"
                )
            }
            url = folder
        }
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory)
        var openCLIPConfiguration: CLIPConfiguration?
        var weightsURL = url
        if exists && isDirectory.boolValue, let (file, config) = try openCLIPFolder(url) {
            weightsURL = file
            openCLIPConfiguration = config
        }
        let state = try WeightLoader.load(weightsURL)
        let tokenizer = try Tokenizer.bundled()
        // A single tower's config.json describes it completely; open_clip model configs are for whole models.
        if let json = state.metadata[StateDict.configJSONKey],
            let tower = try TowerConfiguration.fromHuggingFace(configJSON: json)
        {
            return try single(state, tower, activation: activation, tokenizer: tokenizer, source: url)
        }
        return try whole(
            state, configuration: configuration ?? openCLIPConfiguration, modality: modality, activation: activation,
            textHeads: textHeads, visionHeads: visionHeads, tokenizer: tokenizer, source: url)
    }

    /// A diffusers single-tower folder.
    private static func single(
        _ state: StateDict, _ config: TowerConfiguration, activation: Activation?, tokenizer: Tokenizer, source: URL
    ) throws -> CLIPTowers {
        let store = ParameterStore(state)
        let act = activation ?? config.activation
        var result = CLIPTowers(kind: config.kind, text: nil, vision: nil, tokenizer: tokenizer, source: source)
        if let text = config.text {
            let projection = state.tensors["text_projection"]?.shape.last
            if config.kind == .textModelWithProjection && projection == nil {
                throw CLIPModelError.missingKey("text_projection", context: "a CLIPTextModelWithProjection")
            }
            result.text = try TextTower(store, configuration: text, projectionWidth: projection, activation: act)
            result.text?.eosTokenID = config.eosTokenID == 2 ? nil : Int32(config.eosTokenID)
            result.kind = projection == nil ? .textModel : .textModelWithProjection
        } else if let vision = config.vision {
            let projection = state.tensors["visual.proj"]?.shape.last
            if config.kind == .visionModelWithProjection && projection == nil {
                throw CLIPModelError.missingKey("visual.proj", context: "a CLIPVisionModelWithProjection")
            }
            result.vision = try VisionTower(
                store, configuration: vision, projectionWidth: projection, activation: act,
                mlpWidth: config.visionMLPWidth)
            result.kind = projection == nil ? .visionModel : .visionModelWithProjection
        }
        try store.checkAllUsed()
        return result
    }

    /// A whole CLIP checkpoint: each requested tower from its own keys.
    private static func whole(
        _ state: StateDict, configuration: CLIPConfiguration?, modality: Modality?, activation: Activation?,
        textHeads: Int?, visionHeads: Int?, tokenizer: Tokenizer, source: URL
    ) throws -> CLIPTowers {
        var config: CLIPConfiguration?
        var textOnly: TextConfiguration?
        if let configuration {
            config = configuration
        } else if let stored = try CLIP.storedConfiguration(state) {
            config = stored
        } else if modality == .text {
            // Only the text tower's keys need to make sense (the image tower may be one we cannot build).
            let width = try shape(state, "ln_final.weight")[0]
            let blocks = state.tensors.keys.filter { $0.hasPrefix("transformer.resblocks.") }
            textOnly = TextConfiguration(
                contextLength: try shape(state, "positional_embedding")[0],
                vocabularySize: try shape(state, "token_embedding.weight")[0], width: width,
                heads: textHeads ?? width / 64, layers: Set(blocks.map { $0.split(separator: ".")[2] }).count)
        } else {
            config = try CLIPConfiguration.infer(from: state, textHeads: textHeads, visionHeads: visionHeads)
        }
        let act = activation ?? config?.activation ?? .quickGELU
        var result = CLIPTowers(kind: .clip, text: nil, vision: nil, tokenizer: tokenizer, source: source)
        let stray = CLIP.strayKeys(state)
        if !stray.isEmpty { throw CLIPModelError.unexpectedKeys(stray) }
        if modality != .image {
            let text = try textOnly ?? config?.text ?? shapeless()
            let embedDim = try shape(state, "text_projection").last ?? 0
            result.text = TextTower(
                try CLIP.loadTextEncoder(state, configuration: text, embedDim: embedDim, activation: act).encoder)
        }
        if modality != .text {
            guard let config, case .vit = config.vision else {
                throw HiddenStatesError.unsupportedTower(
                    "a modified-ResNet image tower has no per-token hidden states (it ends in an attention pool)")
            }
            let store = ParameterStore(subset(state) { $0.hasPrefix("visual.") })
            result.vision = try VisionTower(
                store, configuration: config.vision, projectionWidth: config.embedDim, activation: act,
                mlpWidth: config.visionMLPWidth)
            try store.checkAllUsed()
        }
        return result
    }

    /// The open_clip weights file and `model_cfg` of a Hugging Face open_clip folder
    /// (`open_clip_config.json` beside `open_clip_model.safetensors` or `open_clip_pytorch_model.bin`).
    static func openCLIPFolder(_ folder: URL) throws -> (URL, CLIPConfiguration)? {
        let configURL = folder.appendingPathComponent("open_clip_config.json")
        guard let data = FileManager.default.contents(atPath: configURL.path) else { return nil }
        guard
            let file = ["open_clip_model.safetensors", "open_clip_pytorch_model.bin"].map({
                folder.appendingPathComponent($0)
            }).first(where: { FileManager.default.fileExists(atPath: $0.path) })
        else { return nil }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let modelConfig = object["model_cfg"]
        else {
            throw CLIPModelError.invalidConfiguration("\(configURL.path) has no \"model_cfg\" object")
        }
        let json = try JSONSerialization.data(withJSONObject: modelConfig)
        do {
            return (file, try JSONDecoder().decode(CLIPConfiguration.self, from: json))
        } catch {
            throw CLIPModelError.invalidConfiguration("\(configURL.path) model_cfg: \(error)")
        }
    }

    private static func shapeless() throws -> TextConfiguration {
        throw CLIPModelError.invalidConfiguration("no text tower configuration")
    }

    private static func shape(_ state: StateDict, _ key: String) throws -> [Int] {
        guard let t = state.tensors[key] else {
            throw CLIPModelError.missingKey(key, context: "inferring the text tower")
        }
        return t.shape
    }

    private static func subset(_ state: StateDict, _ keep: (String) -> Bool) -> StateDict {
        StateDict(tensors: state.tensors.filter { keep($0.key) }, format: state.format, metadata: state.metadata)
    }
}
