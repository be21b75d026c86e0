import Foundation

// Follows transformers 4.46.3 `models/clip/modeling_clip.py` (CLIPModel parameter names) and
// `models/clip/convert_clip_original_pytorch_to_hf.py` (the inverse of this table).

/// The one table that maps Hugging Face `CLIPModel` keys to OpenAI `clip/model.py` keys and back:
/// loading (``toOpenAI(_:source:)``) and `clip convert --format hf` (``fromOpenAI(_:)``) both read it.
///
/// Most keys are renamed; `q_proj`/`k_proj`/`v_proj` are concatenated (in that order, along the
/// output dimension) into `in_proj_weight`/`in_proj_bias`; the two projections are transposed
/// because HF stores them as `nn.Linear` weights (out, in) and OpenAI as matrices (in, out).
///
/// ```swift
/// let openAI = try HuggingFaceKeyMap.toOpenAI(hfTensors, source: "model.safetensors")
/// openAI["visual.proj"]  // (width, embed_dim)
/// let hf = try HuggingFaceKeyMap.fromOpenAI(openAI)  // the same keys and bytes as hfTensors, minus position_ids
/// ```
public enum HuggingFaceKeyMap {
    /// Whole-key renames.
    public static let renamedKeys: [String: String] = [
        "text_model.embeddings.token_embedding.weight": "token_embedding.weight",
        "text_model.embeddings.position_embedding.weight": "positional_embedding",
        "vision_model.embeddings.class_embedding": "visual.class_embedding",
        "vision_model.embeddings.patch_embedding.weight": "visual.conv1.weight",
        "vision_model.embeddings.position_embedding.weight": "visual.positional_embedding",
        "logit_scale": "logit_scale",
    ]

    /// Prefix renames, applied once, longest match first.
    public static let renamedPrefixes: [(hf: String, openAI: String)] = [
        ("text_model.encoder.layers.", "transformer.resblocks."),
        ("vision_model.encoder.layers.", "visual.transformer.resblocks."),
        ("text_model.final_layer_norm.", "ln_final."),
        ("vision_model.pre_layrnorm.", "visual.ln_pre."),
        ("vision_model.post_layernorm.", "visual.ln_post."),
    ]

    /// Renames inside a residual block (after the layer index).
    public static let renamedBlockParts: [(hf: String, openAI: String)] = [
        ("self_attn.out_proj.", "attn.out_proj."),
        ("layer_norm1.", "ln_1."),
        ("layer_norm2.", "ln_2."),
        ("mlp.fc1.", "mlp.c_fc."),
        ("mlp.fc2.", "mlp.c_proj."),
    ]

    /// Linear weights stored transposed relative to OpenAI's projection matrices.
    public static let transposedKeys: [String: String] = [
        "text_projection.weight": "text_projection",
        "visual_projection.weight": "visual.proj",
    ]

    /// Keys with no OpenAI counterpart (buffers recomputed by the model).
    public static let droppedKeys: Set<String> = [
        "text_model.embeddings.position_ids",
        "vision_model.embeddings.position_ids",
    ]

    /// Single-tower models by `config.json` `model_type`: the prefix their keys carry inside a
    /// `CLIPModel`. transformers 4.x wrote `CLIPTextModel` keys with it, transformers 5 without.
    public static let towerPrefixes: [String: String] = [
        "clip_text_model": "text_model.",
        "clip_vision_model": "vision_model.",
    ]

    /// Keys of a single-tower model (`config.json` `model_type`) with the tower's prefix put in
    /// front where it is missing, so that the tables above apply; the projections keep their names.
    public static func addingTowerPrefix(_ tensors: [String: WeightTensor], modelType: String) -> [String:
        WeightTensor]
    {
        guard let prefix = towerPrefixes[modelType] else { return tensors }
        var result: [String: WeightTensor] = [:]
        for (key, tensor) in tensors {
            let bare = !key.hasPrefix(prefix) && transposedKeys[key] == nil && renamedKeys[key] == nil
            result[bare ? prefix + key : key] = tensor
        }
        return result
    }

    /// Whether `keys` look like a Hugging Face `CLIPModel` state dict.
    public static func isHuggingFace<S: Sequence>(_ keys: S) -> Bool where S.Element == String {
        keys.contains { $0.hasPrefix("text_model.") || $0.hasPrefix("vision_model.") }
    }

    /// Maps a Hugging Face `CLIPModel` state dict to OpenAI names. Unknown keys, missing q/k/v
    /// parts and mismatched shapes throw, naming the key; `source` names the file in errors.
    public static func toOpenAI(_ tensors: [String: WeightTensor], source: String) throws -> [String: WeightTensor] {
        func fail(_ detail: String) -> WeightError { .invalidHuggingFaceFolder(folder: source, detail: detail) }
        var result: [String: WeightTensor] = [:]
        func put(_ key: String, _ tensor: WeightTensor) throws {
            guard result[key] == nil else { throw WeightError.duplicateKey(file: source, key: key) }
            result[key] = tensor
        }
        // q/k/v parts grouped by their OpenAI in_proj key.
        var attentionParts: [String: [String: WeightTensor]] = [:]

        for (key, tensor) in tensors {
            if droppedKeys.contains(key) { continue }
            if let target = renamedKeys[key] {
                try put(target, tensor)
                continue
            }
            if let target = transposedKeys[key] {
                guard tensor.shape.count == 2 else { throw fail("\(key) has shape \(tensor.shape), expected a matrix") }
                try put(target, transpose(tensor))
                continue
            }
            guard let (hfPrefix, openAIPrefix) = renamedPrefixes.first(where: { key.hasPrefix($0.hf) }) else {
                throw fail("no OpenAI name for key \(key)")
            }
            var rest = String(key.dropFirst(hfPrefix.count))
            if hfPrefix.hasSuffix("layers.") {
                // "<index>.<part>": rename the part, or collect q/k/v for concatenation.
                guard let dot = rest.firstIndex(of: "."), Int(rest[..<dot]) != nil else {
                    throw fail("no OpenAI name for key \(key)")
                }
                let index = String(rest[..<dot])
                let part = String(rest[rest.index(after: dot)...])
                if let (projection, kind) = attentionPart(part) {
                    let target = "\(openAIPrefix)\(index).\(fusedAttentionPart)\(kind)"
                    attentionParts[target, default: [:]][projection] = tensor
                    continue
                }
                guard let (hfPart, openAIPart) = renamedBlockParts.first(where: { part.hasPrefix($0.hf) }) else {
                    throw fail("no OpenAI name for key \(key)")
                }
                rest = index + "." + openAIPart + part.dropFirst(hfPart.count)
            }
            try put(openAIPrefix + rest, tensor)
        }

        for (target, parts) in attentionParts {
            guard let q = parts["q"], let k = parts["k"], let v = parts["v"] else {
                throw fail("\(target) needs q_proj, k_proj and v_proj; found only \(parts.keys.sorted())")
            }
            guard q.dtype == k.dtype, q.dtype == v.dtype, q.shape == k.shape, q.shape == v.shape, !q.shape.isEmpty
            else {
                throw fail("q/k/v parts of \(target) differ in dtype or shape")
            }
            // One allocation, each part copied once.
            var bytes = [UInt8](repeating: 0, count: 3 * q.byteCount)
            bytes.withUnsafeMutableBytes { out in
                for (i, part) in [q, k, v].enumerated() {
                    part.withUnsafeBytes { source in
                        if let base = source.baseAddress {
                            (out.baseAddress! + i * q.byteCount).copyMemory(from: base, byteCount: q.byteCount)
                        }
                    }
                }
            }
            try put(
                target,
                WeightTensor(dtype: q.dtype, shape: [q.shape[0] * 3] + q.shape.dropFirst(), storage: .owned(bytes)))
        }
        return result
    }

    /// Maps OpenAI-named tensors to Hugging Face `CLIPModel` names, inverting the same tables:
    /// `attn.in_proj_{weight,bias}` (3W, ...) is split into q, k, v (W, ...) in that order and the
    /// projections are transposed. Throws ``UnmappedKey`` for a key the layout has no name for
    /// (a ResNet image tower, for one) and for two keys that would share a name.
    public static func fromOpenAI(_ tensors: [String: WeightTensor]) throws -> [String: WeightTensor] {
        let renamed = Dictionary(uniqueKeysWithValues: renamedKeys.map { ($1, $0) })
        let transposed = Dictionary(uniqueKeysWithValues: transposedKeys.map { ($1, $0) })
        // Longest OpenAI prefix first so "visual.transformer.resblocks." wins over shorter ones.
        let prefixes = renamedPrefixes.sorted { $0.openAI.count > $1.openAI.count }
        var result: [String: WeightTensor] = [:]
        func put(_ key: String, _ tensor: WeightTensor, from source: String) throws {
            guard result.updateValue(tensor, forKey: key) == nil else {
                throw UnmappedKey(key: source, detail: "two weights map to the Hugging Face key \(key)")
            }
        }
        for (key, tensor) in tensors {
            if let target = renamed[key] {
                try put(target, tensor, from: key)
                continue
            }
            if let target = transposed[key] {
                guard tensor.shape.count == 2 else {
                    throw UnmappedKey(key: key, detail: "\(key) has shape \(tensor.shape), expected a matrix")
                }
                try put(target, transpose(tensor), from: key)
                continue
            }
            guard let (hfPrefix, openAIPrefix) = prefixes.first(where: { key.hasPrefix($0.openAI) }) else {
                throw UnmappedKey(
                    key: key, detail: "no Hugging Face name for \(key) (Hugging Face CLIPModel holds ViT models only)")
            }
            let rest = String(key.dropFirst(openAIPrefix.count))
            guard hfPrefix.hasSuffix("layers."), let dot = rest.firstIndex(of: ".") else {
                try put(hfPrefix + rest, tensor, from: key)
                continue
            }
            let index = rest[..<dot], part = String(rest[rest.index(after: dot)...])
            let kind = part.hasPrefix(fusedAttentionPart) ? String(part.dropFirst(fusedAttentionPart.count)) : ""
            if kind == "weight" || kind == "bias" {
                guard let rows = tensor.shape.first, rows % 3 == 0 else {
                    throw UnmappedKey(key: key, detail: "\(key) has shape \(tensor.shape), expected (3·width, ...)")
                }
                // (3W, ...) → three (W, ...) slices in q, k, v order.
                let sliceBytes = tensor.byteCount / 3
                let bytes = tensor.bytes
                for (n, projection) in attentionProjections.enumerated() {
                    try put(
                        "\(hfPrefix)\(index).\(attentionPartName(projection, kind))",
                        WeightTensor(
                            dtype: tensor.dtype, shape: [rows / 3] + tensor.shape.dropFirst(),
                            bytes: Array(bytes[(n * sliceBytes)..<((n + 1) * sliceBytes)])), from: key)
                }
                continue
            }
            guard let (hfPart, openAIPart) = renamedBlockParts.first(where: { part.hasPrefix($0.openAI) }) else {
                throw UnmappedKey(key: key, detail: "no Hugging Face name for \(key)")
            }
            try put("\(hfPrefix)\(index).\(hfPart)\(part.dropFirst(openAIPart.count))", tensor, from: key)
        }
        return result
    }

    /// An OpenAI key with no Hugging Face `CLIPModel` name (see ``fromOpenAI(_:)``).
    public struct UnmappedKey: LocalizedError, Sendable, Equatable {
        /// The OpenAI key.
        public var key: String
        /// What is wrong, naming the key.
        public var detail: String

        public var errorDescription: String? { detail }
        public var recoverySuggestion: String? {
            "Hugging Face CLIPModel folders hold ViT models with OpenAI's key names; keep other checkpoints as safetensors."
        }
    }

    /// OpenAI's fused attention projection inside a residual block, before `weight`/`bias`.
    static let fusedAttentionPart = "attn.in_proj_"
    /// Hugging Face's separate projections, in the order they are stacked in `in_proj_*`.
    static let attentionProjections = ["q", "k", "v"]

    /// `self_attn.q_proj.weight` for ("q", "weight").
    static func attentionPartName(_ projection: String, _ kind: String) -> String {
        "self_attn.\(projection)_proj.\(kind)"
    }

    /// `self_attn.{q,k,v}_proj.{weight,bias}` as ("q", "weight"), ...; `nil` for anything else.
    static func attentionPart(_ part: String) -> (projection: String, kind: String)? {
        for projection in attentionProjections {
            for kind in ["weight", "bias"] where part == attentionPartName(projection, kind) {
                return (projection, kind)
            }
        }
        return nil
    }

    /// A (rows, cols) matrix as (cols, rows), any element type.
    static func transpose(_ tensor: WeightTensor) -> WeightTensor {
        let rows = tensor.shape[0], cols = tensor.shape[1], size = tensor.dtype.elementSize
        var out = [UInt8](repeating: 0, count: tensor.byteCount)
        tensor.withUnsafeBytes { source in
            out.withUnsafeMutableBytes { destination in
                for r in 0..<rows {
                    for c in 0..<cols {
                        (destination.baseAddress! + (c * rows + r) * size)
                            .copyMemory(from: source.baseAddress! + (r * cols + c) * size, byteCount: size)
                    }
                }
            }
        }
        return WeightTensor(dtype: tensor.dtype, shape: [cols, rows], storage: .owned(out))
    }
}
