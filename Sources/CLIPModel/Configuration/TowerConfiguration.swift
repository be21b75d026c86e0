import Foundation

// transformers `models/clip/configuration_clip.py` CLIPTextConfig / CLIPVisionConfig, as
// saved at the root of a single tower's config.json (diffusers' text_encoder/, image_encoder/).

/// Which model a folder or file holds.
public enum TowerKind: String, Sendable, CaseIterable {
    case clip = "CLIPModel"
    case textModel = "CLIPTextModel"
    case textModelWithProjection = "CLIPTextModelWithProjection"
    case visionModel = "CLIPVisionModel"
    case visionModelWithProjection = "CLIPVisionModelWithProjection"

    public var hasText: Bool { self == .clip || self == .textModel || self == .textModelWithProjection }
    public var hasVision: Bool { self == .clip || self == .visionModel || self == .visionModelWithProjection }
}

/// The architecture of one tower as a single-tower `config.json` states it.
public struct TowerConfiguration: Sendable, Equatable {
    public var kind: TowerKind
    public var text: TextConfiguration?
    public var vision: VisionConfiguration?
    public var activation: Activation
    /// `eos_token_id`: the id that ends a prompt (2 in old configs, which means "the largest id").
    public var eosTokenID: Int
    /// The image tower's `intermediate_size` when it is not 4 × `hidden_size` (ViT-bigG-14's
    /// 8192 for 1664); nil: 4C.
    public var visionMLPWidth: Int? = nil

    /// Reads a `CLIPTextConfig` or `CLIPVisionConfig` saved at the root of `config.json`; nil when
    /// the file describes something else (a whole `CLIPModel`).
    public static func fromHuggingFace(configJSON: String) throws -> TowerConfiguration? {
        guard let data = configJSON.data(using: .utf8),
            let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else {
            throw CLIPModelError.invalidConfiguration("config.json is not a JSON object")
        }
        let architecture = (root["architectures"] as? [String])?.first.flatMap(TowerKind.init(rawValue:))
        let modelType = root["model_type"] as? String
        func int(_ key: String, _ fallback: Int) -> Int { (root[key] as? NSNumber)?.intValue ?? fallback }
        let act = root["hidden_act"] as? String ?? "quick_gelu"
        func activation() throws -> Activation {
            guard let a = Activation(huggingFaceName: act) else {
                throw CLIPModelError.invalidConfiguration("unsupported hidden_act \(act)")
            }
            return a
        }
        func checkMLP(width: Int) throws {
            let mlp = int("intermediate_size", 4 * width)
            guard mlp == 4 * width else {
                throw CLIPModelError.unsupportedArchitecture(
                    "intermediate_size \(mlp) is not 4 × hidden_size \(width) (swift-clip's text MLPs are 4C wide)")
            }
        }
        if modelType == "clip_text_model" || architecture?.hasText == true && architecture != .clip {
            // transformers' CLIPTextConfig defaults for absent fields.
            let width = int("hidden_size", 512)
            try checkMLP(width: width)
            let text = TextConfiguration(
                contextLength: int("max_position_embeddings", 77), vocabularySize: int("vocab_size", 49408),
                width: width, heads: int("num_attention_heads", 8), layers: int("num_hidden_layers", 12))
            return TowerConfiguration(
                kind: architecture ?? .textModel, text: text, vision: nil, activation: try activation(),
                eosTokenID: int("eos_token_id", 2))
        }
        if modelType == "clip_vision_model" || architecture?.hasVision == true && architecture != .clip {
            let width = int("hidden_size", 768)
            let mlp = int("intermediate_size", 4 * width)
            guard mlp > 0 else { throw CLIPModelError.invalidConfiguration("intermediate_size must be positive") }
            let vision = VisionConfiguration.vit(
                imageSize: int("image_size", 224), patchSize: int("patch_size", 32), width: width,
                layers: int("num_hidden_layers", 12), heads: int("num_attention_heads", 12))
            return TowerConfiguration(
                kind: architecture ?? .visionModel, text: nil, vision: vision, activation: try activation(),
                eosTokenID: 2, visionMLPWidth: mlp == 4 * width ? nil : mlp)
        }
        return nil
    }
}
