import CLIPTensor
import CLIPWeights
import Foundation

// Configuration from weights, as OpenAI's `build_model(state_dict)` infers it (clip/model.py).
// A Hugging Face `config.json` is read and written in HuggingFaceConfig.swift.

extension CLIPConfiguration {
    /// Infers the architecture from tensor shapes exactly as OpenAI's `build_model` does:
    /// widths and layer counts from shapes and key names, heads = width / 64 (ResNet
    /// attention pool: width · 32 / 64), patch and image size from the positional embedding.
    /// Pass `heads` overrides for models whose widths are not multiples of 64.
    public static func infer(
        from state: StateDict, activation: Activation = .quickGELU,
        textHeads: Int? = nil, visionHeads: Int? = nil
    ) throws -> CLIPConfiguration {
        func shape(_ key: String) throws -> [Int] {
            guard let t = state.tensors[key] else {
                throw CLIPModelError.missingKey(key, context: "inferring the configuration")
            }
            return t.shape
        }
        func count(prefix: String, component: Int) -> Int {
            Set(
                state.tensors.keys.filter { $0.hasPrefix(prefix) }.compactMap { key -> String? in
                    let parts = key.split(separator: ".")
                    return parts.count > component ? String(parts[component]) : nil
                }
            ).count
        }
        let vision: VisionConfiguration
        if state.tensors["visual.proj"] != nil {
            let conv = try shape("visual.conv1.weight")  // (width, 3, patch, patch)
            let width = conv[0], patch = conv[3]
            let layers = state.tensors.keys.filter { $0.hasPrefix("visual.") && $0.hasSuffix(".attn.in_proj_weight") }
                .count
            let positions = try shape("visual.positional_embedding")[0]
            let grid = Int((Double(positions - 1)).squareRoot().rounded())
            guard grid * grid + 1 == positions else {
                throw CLIPModelError.unsupportedArchitecture(
                    "visual.positional_embedding has \(positions) rows, not a square grid plus a class token")
            }
            vision = .vit(
                imageSize: patch * grid, patchSize: patch, width: width, layers: layers,
                heads: visionHeads ?? width / 64)
        } else if state.tensors["visual.attnpool.positional_embedding"] != nil {
            let stages = (1...4).map { count(prefix: "visual.layer\($0).", component: 2) }
            let width = try shape("visual.layer1.0.conv1.weight")[0]
            let positions = try shape("visual.attnpool.positional_embedding")[0]
            let grid = Int((Double(positions - 1)).squareRoot().rounded())
            guard grid * grid + 1 == positions else {
                throw CLIPModelError.unsupportedArchitecture(
                    "visual.attnpool.positional_embedding has \(positions) rows, not a square grid plus one")
            }
            vision = .resnet(imageSize: grid * 32, layers: stages, width: width, heads: visionHeads ?? width * 32 / 64)
        } else {
            throw CLIPModelError.unsupportedArchitecture(
                "neither visual.proj (ViT) nor visual.attnpool (ResNet) is present")
        }
        let textWidth = try shape("ln_final.weight")[0]
        let text = TextConfiguration(
            contextLength: try shape("positional_embedding")[0],
            vocabularySize: try shape("token_embedding.weight")[0],
            width: textWidth,
            heads: textHeads ?? textWidth / 64,
            layers: count(prefix: "transformer.resblocks.", component: 2))
        var config = CLIPConfiguration(
            embedDim: try shape("text_projection")[1], vision: vision, text: text, activation: activation)
        if case .vit = vision, let fc = state.tensors["visual.transformer.resblocks.0.mlp.c_fc.weight"] {
            config.visionMLPWidth = CLIPConfiguration.mlpWidth(fc.shape[0], vision: vision)  // (M, C)
        }
        if case .vit(_, _, let width, _, _) = vision, let table = state.tensors["visual.positional_embedding"],
            isSinCos2DTable(table, width: width)
        {
            // open_clip's fixed table (pos_embed_type sin_cos_2d) saved without our metadata: keep
            // it fixed when fine-tuning, as open_clip does.
            config.visionPositionalEmbedding = .sinCos2D
        }
        try config.validate()
        return config
    }

    /// Whether a ViT positional embedding (N + 1, C) is open_clip's sine–cosine table, to within
    /// bf16 rounding (2⁻⁸ of values ≤ 1); a learnt embedding is nowhere near it.
    static func isSinCos2DTable(_ w: WeightTensor, width: Int) -> Bool {
        guard width % 4 == 0, w.shape.count == 2, w.shape[1] == width, let t = try? Tensor(converting: w) else {
            return false
        }
        let grid = Int((Double(w.shape[0] - 1)).squareRoot().rounded())
        guard grid * grid + 1 == w.shape[0] else { return false }
        let reference = CLIPInitializer.sinCos2DPositionalEmbedding(grid: grid, width: width).scalars
        return zip(t.scalars, reference).allSatisfy { abs($0 - $1) <= 4e-3 }
    }

    /// Checks the numbers are usable (positive, widths divisible by heads).
    public func validate() throws {
        func check(_ ok: Bool, _ message: String) throws {
            if !ok { throw CLIPModelError.invalidConfiguration(message) }
        }
        try check(embedDim > 0, "embed_dim must be positive")
        try check(
            text.width > 0 && text.layers >= 0 && text.contextLength > 0 && text.vocabularySize > 0,
            "text tower sizes must be positive")
        try check(
            text.heads > 0 && text.width % text.heads == 0,
            "text width \(text.width) is not divisible by \(text.heads) heads (OpenAI infers width/64; pass the head count explicitly for other widths)"
        )
        switch vision {
        case .vit(let size, let patch, let width, _, let heads):
            try check(patch > 0 && size % patch == 0, "image size \(size) is not a multiple of patch size \(patch)")
            try check((visionMLPWidth ?? 1) > 0, "the vision MLP width must be positive")
            try check(heads > 0 && width % heads == 0, "vision width \(width) is not divisible by \(heads) heads")
            try check(
                visionPositionalEmbedding == .learnable || width % 4 == 0,
                "pos_embed_type sin_cos_2d needs a vision width divisible by 4, got \(width)")
        case .resnet(let size, let layers, let width, let heads):
            try check(visionMLPWidth == nil, "a ResNet image tower has no transformer MLP width")
            try check(
                layers.count == 4 && layers.allSatisfy { $0 > 0 },
                "ResNet needs four stages with at least one block, got \(layers)")
            try check(size % 32 == 0, "ResNet image size \(size) must be a multiple of 32")
            try check(
                heads > 0 && (width * 32) % heads == 0,
                "attention-pool width \(width * 32) is not divisible by \(heads) heads")
            try check(
                visionPositionalEmbedding == .learnable,
                "pos_embed_type \(visionPositionalEmbedding.rawValue) needs a ViT image tower")
        }
    }
}
