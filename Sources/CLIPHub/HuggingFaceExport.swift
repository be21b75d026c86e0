import CLIPModel
import CLIPWeights
import Foundation

// The inverse of CLIPWeights' `HuggingFaceKeyMap` (built from its tables, so the two cannot
// drift) and of `CLIPConfiguration.fromHuggingFace`, following transformers 4.46.3
// `convert_clip_original_pytorch_to_hf.py` and `CLIPConfig`.

/// Writes OpenAI-named ViT CLIP weights as a Hugging Face `CLIPModel`.
///
/// ```swift
/// let hf = try HuggingFaceExport.tensors(fromOpenAI: state.tensors)     // "vision_model.encoder.layers.0.self_attn.q_proj.weight", ...
/// let json = try HuggingFaceExport.configJSON(model.configuration)
/// ```
public enum HuggingFaceExport {
    /// HF names for OpenAI `tensors`: q/k/v split out of `in_proj_*`, projections transposed.
    public static func tensors(fromOpenAI tensors: [String: WeightTensor]) throws -> [String: WeightTensor] {
        let renamed = Dictionary(uniqueKeysWithValues: HuggingFaceKeyMap.renamedKeys.map { ($1, $0) })
        let transposed = Dictionary(uniqueKeysWithValues: HuggingFaceKeyMap.transposedKeys.map { ($1, $0) })
        // Longest OpenAI prefix first so "visual.transformer.resblocks." wins over shorter ones.
        let prefixes = HuggingFaceKeyMap.renamedPrefixes.sorted { $0.openAI.count > $1.openAI.count }
        var result: [String: WeightTensor] = [:]
        func put(_ key: String, _ tensor: WeightTensor) throws {
            guard result.updateValue(tensor, forKey: key) == nil else {
                throw HubError.unsupportedConversion("two weights map to the Hugging Face key \(key)")
            }
        }
        for (key, tensor) in tensors {
            if let target = renamed[key] {
                try put(target, tensor)
                continue
            }
            if let target = transposed[key] {
                guard tensor.shape.count == 2 else {
                    throw HubError.unsupportedConversion("\(key) has shape \(tensor.shape), expected a matrix")
                }
                try put(target, transpose(tensor))
                continue
            }
            guard
                let (hfPrefix, openAIPrefix) = prefixes.first(where: { key.hasPrefix($0.openAI) }).map({
                    ($0.hf, $0.openAI)
                })
            else {
                throw HubError.unsupportedConversion(
                    "no Hugging Face name for \(key) (Hugging Face CLIPModel holds ViT models only)")
            }
            let rest = String(key.dropFirst(openAIPrefix.count))
            guard hfPrefix.hasSuffix("layers."), let dot = rest.firstIndex(of: ".") else {
                try put(hfPrefix + rest, tensor)
                continue
            }
            let index = rest[..<dot], part = String(rest[rest.index(after: dot)...])
            if let kind = part.wholeMatch(of: /attn\.in_proj_(weight|bias)/)?.1 {
                // (3W, ...) → three (W, ...) slices in q, k, v order.
                let rows = tensor.shape[0] / 3, sliceBytes = tensor.byteCount / 3
                let bytes = tensor.bytes
                for (n, name) in ["q", "k", "v"].enumerated() {
                    try put(
                        "\(hfPrefix)\(index).self_attn.\(name)_proj.\(kind)",
                        WeightTensor(
                            dtype: tensor.dtype, shape: [rows] + tensor.shape.dropFirst(),
                            bytes: Array(bytes[(n * sliceBytes)..<((n + 1) * sliceBytes)])))
                }
                continue
            }
            guard
                let (hfPart, openAIPart) = HuggingFaceKeyMap.renamedBlockParts.first(where: {
                    part.hasPrefix($0.openAI)
                }).map({ ($0.hf, $0.openAI) })
            else {
                throw HubError.unsupportedConversion("no Hugging Face name for \(key)")
            }
            try put("\(hfPrefix)\(index).\(hfPart)\(part.dropFirst(openAIPart.count))", tensor)
        }
        return result
    }

    /// A `config.json` for `configuration` that transformers' `CLIPModel.from_pretrained` and
    /// `CLIPConfiguration.fromHuggingFace` both read.
    public static func configJSON(_ configuration: CLIPConfiguration, dtype: WeightDType = .float32) throws -> String {
        guard case .vit(let imageSize, let patchSize, let width, let layers, let heads) = configuration.vision else {
            throw HubError.unsupportedConversion(
                "Hugging Face CLIPModel folders hold ViT models only; \(configuration.architectureName) has a ResNet image tower"
            )
        }
        let act = configuration.activation.rawValue
        let text = configuration.text
        let object: [String: Any] = [
            "architectures": ["CLIPModel"],
            "model_type": "clip",
            "projection_dim": configuration.embedDim,
            "logit_scale_init_value": 2.6592,
            "initializer_factor": 1.0,
            "torch_dtype": ["float16": "float16", "bfloat16": "bfloat16"][dtype.rawValue] ?? "float32",
            "text_config": [
                "model_type": "clip_text_model", "hidden_size": text.width, "intermediate_size": 4 * text.width,
                "num_attention_heads": text.heads, "num_hidden_layers": text.layers,
                "max_position_embeddings": text.contextLength, "vocab_size": text.vocabularySize,
                "hidden_act": act, "projection_dim": configuration.embedDim,
                // OpenAI's vocabulary ends with <|startoftext|>, <|endoftext|>; HF pools at eos.
                "bos_token_id": text.vocabularySize - 2, "eos_token_id": text.vocabularySize - 1, "pad_token_id": 1,
            ] as [String: Any],
            "vision_config": [
                "model_type": "clip_vision_model", "hidden_size": width, "intermediate_size": 4 * width,
                "num_attention_heads": heads, "num_hidden_layers": layers, "image_size": imageSize,
                "patch_size": patchSize, "hidden_act": act, "projection_dim": configuration.embedDim,
            ] as [String: Any],
        ]
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    static func transpose(_ tensor: WeightTensor) -> WeightTensor {
        let rows = tensor.shape[0], cols = tensor.shape[1], size = tensor.dtype.elementSize
        let source = tensor.bytes
        var out = [UInt8](repeating: 0, count: source.count)
        for r in 0..<rows {
            for c in 0..<cols {
                for b in 0..<size { out[(c * rows + r) * size + b] = source[(r * cols + c) * size + b] }
            }
        }
        return WeightTensor(dtype: tensor.dtype, shape: [cols, rows], bytes: out)
    }
}
