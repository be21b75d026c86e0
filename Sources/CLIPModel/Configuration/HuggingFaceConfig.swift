import CLIPWeights
import Foundation

// A Hugging Face `CLIPModel` `config.json`, read and written in one place. Follows transformers
// 4.46.3 `CLIPConfig`, `CLIPTextConfig` and `CLIPVisionConfig` (field names and defaults) and
// `convert_clip_original_pytorch_to_hf.py`. The weight key names are CLIPWeights' HuggingFaceKeyMap.

extension CLIPConfiguration {
    /// Reads a Hugging Face `CLIPModel` `config.json` (`text_config`, `vision_config`,
    /// `projection_dim`; `hidden_act` "quick_gelu" or "gelu").
    public static func fromHuggingFace(configJSON: String) throws -> CLIPConfiguration {
        guard let data = configJSON.data(using: .utf8),
            let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else {
            throw CLIPModelError.invalidConfiguration("config.json is not a JSON object")
        }
        let textCfg = root["text_config"] as? [String: Any] ?? [:]
        let visionCfg = root["vision_config"] as? [String: Any] ?? [:]
        // transformers' defaults (CLIPTextConfig / CLIPVisionConfig) for absent fields.
        func int(_ d: [String: Any], _ key: String, _ fallback: Int) -> Int {
            (d[key] as? NSNumber)?.intValue ?? fallback
        }
        let textAct = textCfg["hidden_act"] as? String ?? "quick_gelu"
        let visionAct = visionCfg["hidden_act"] as? String ?? "quick_gelu"
        guard textAct == visionAct, let activation = Activation(huggingFaceName: textAct) else {
            throw CLIPModelError.invalidConfiguration("unsupported hidden_act \(textAct) / \(visionAct)")
        }
        let text = TextConfiguration(
            contextLength: int(textCfg, "max_position_embeddings", 77),
            vocabularySize: int(textCfg, "vocab_size", 49408),
            width: int(textCfg, "hidden_size", 512),
            heads: int(textCfg, "num_attention_heads", 8),
            layers: int(textCfg, "num_hidden_layers", 12))
        let vision = VisionConfiguration.vit(
            imageSize: int(visionCfg, "image_size", 224), patchSize: int(visionCfg, "patch_size", 32),
            width: int(visionCfg, "hidden_size", 768), layers: int(visionCfg, "num_hidden_layers", 12),
            heads: int(visionCfg, "num_attention_heads", 12))
        let textMLP = int(textCfg, "intermediate_size", 4 * text.width)
        guard textMLP == 4 * text.width else {
            throw CLIPModelError.unsupportedArchitecture(
                "text intermediate_size \(textMLP) is not 4 × hidden_size \(text.width) (swift-clip's text MLPs are 4C wide)"
            )
        }
        let config = CLIPConfiguration(
            embedDim: (root["projection_dim"] as? NSNumber)?.intValue ?? 512,
            vision: vision, text: text, activation: activation,
            visionMLPWidth: int(visionCfg, "intermediate_size", 4 * int(visionCfg, "hidden_size", 768)))
        try config.validate()
        return config
    }

    /// A `config.json` for this configuration that transformers' `CLIPModel.from_pretrained` and
    /// ``fromHuggingFace(configJSON:)`` both read; `dtype` becomes `torch_dtype`.
    /// - Throws: ``CLIPModelError/unsupportedArchitecture(_:)`` for a ResNet image tower (Hugging
    ///   Face's `CLIPModel` has none).
    public func huggingFaceConfigJSON(dtype: WeightDType = .float32) throws -> String {
        guard case .vit(let imageSize, let patchSize, let width, let layers, let heads) = vision else {
            throw CLIPModelError.unsupportedArchitecture(
                "Hugging Face CLIPModel folders hold ViT models only; \(architectureName) has a ResNet image tower")
        }
        let act = activation.rawValue
        let object: [String: Any] = [
            "architectures": ["CLIPModel"],
            "model_type": "clip",
            "projection_dim": embedDim,
            "logit_scale_init_value": 2.6592,
            "initializer_factor": 1.0,
            "torch_dtype": ["float16": "float16", "bfloat16": "bfloat16"][dtype.rawValue] ?? "float32",
            "text_config": [
                "model_type": "clip_text_model", "hidden_size": text.width, "intermediate_size": 4 * text.width,
                "num_attention_heads": text.heads, "num_hidden_layers": text.layers,
                "max_position_embeddings": text.contextLength, "vocab_size": text.vocabularySize,
                "hidden_act": act, "projection_dim": embedDim,
                // OpenAI's vocabulary ends with <|startoftext|>, <|endoftext|>; HF pools at eos.
                "bos_token_id": text.vocabularySize - 2, "eos_token_id": text.vocabularySize - 1, "pad_token_id": 1,
            ] as [String: Any],
            "vision_config": [
                "model_type": "clip_vision_model", "hidden_size": width,
                "intermediate_size": visionMLPWidth ?? 4 * width,
                "num_attention_heads": heads, "num_hidden_layers": layers, "image_size": imageSize,
                "patch_size": patchSize, "hidden_act": act, "projection_dim": embedDim,
            ] as [String: Any],
        ]
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}

extension Activation {
    init?(huggingFaceName: String) {
        switch huggingFaceName {
        case "quick_gelu": self = .quickGELU
        case "gelu": self = .gelu
        default: return nil
        }
    }
}
