// Architecture hyper-parameters, following OpenAI clip/model.py (CLIP.__init__, build_model)
// at commit dcba3cb (2022) and open_clip's model-config JSON field names.

/// The pointwise non-linearity inside the transformer MLPs.
public enum Activation: String, Codable, Sendable {
    /// x · sigmoid(1.702 x): OpenAI's released models (open_clip `*-quickgelu`).
    case quickGELU = "quick_gelu"
    /// Exact-erf GELU: open_clip's models trained without `quick_gelu`.
    case gelu
}

/// The text tower: a causal transformer over `contextLength` tokens.
public struct TextConfiguration: Codable, Sendable, Equatable {
    public var contextLength: Int
    public var vocabularySize: Int
    public var width: Int
    public var heads: Int
    public var layers: Int

    public init(contextLength: Int = 77, vocabularySize: Int = 49408, width: Int, heads: Int, layers: Int) {
        self.contextLength = contextLength
        self.vocabularySize = vocabularySize
        self.width = width
        self.heads = heads
        self.layers = layers
    }

    enum CodingKeys: String, CodingKey {
        case contextLength = "context_length"
        case vocabularySize = "vocab_size"
        case width, heads, layers
    }
}

/// The image tower: a vision transformer or OpenAI's modified ResNet.
public enum VisionConfiguration: Codable, Sendable, Equatable {
    /// ViT: `patchSize`² patches of an `imageSize`² image.
    case vit(imageSize: Int, patchSize: Int, width: Int, layers: Int, heads: Int)
    /// Modified ResNet: bottleneck counts per stage, stem width, attention-pool heads.
    case resnet(imageSize: Int, layers: [Int], width: Int, heads: Int)

    public var imageSize: Int {
        switch self {
        case .vit(let s, _, _, _, _), .resnet(let s, _, _, _): return s
        }
    }

    /// Encodes as open_clip's `vision_cfg`: `layers` is an int for ViT, a list for ResNet.
    /// Heads come from `heads` (ours) or open_clip's `head_width` (default 64), as open_clip
    /// computes them: width / head_width for ViT, width · 32 / head_width for ResNet.
    enum CodingKeys: String, CodingKey {
        case imageSize = "image_size"
        case patchSize = "patch_size"
        case width, layers, heads
        case headWidth = "head_width"
        case positionalEmbedding = "pos_embed_type"
        case mlpRatio = "mlp_ratio"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let imageSize = try c.decode(Int.self, forKey: .imageSize)
        let width = try c.decode(Int.self, forKey: .width)
        let headWidth = try c.decodeIfPresent(Int.self, forKey: .headWidth) ?? 64
        guard headWidth > 0 else {
            throw DecodingError.dataCorruptedError(
                forKey: .headWidth, in: c, debugDescription: "head_width must be positive")
        }
        if let stages = try? c.decode([Int].self, forKey: .layers) {
            let heads = try c.decodeIfPresent(Int.self, forKey: .heads) ?? width * 32 / headWidth
            self = .resnet(imageSize: imageSize, layers: stages, width: width, heads: heads)
        } else {
            let layers = try c.decode(Int.self, forKey: .layers)
            let patch = try c.decode(Int.self, forKey: .patchSize)
            let heads = try c.decodeIfPresent(Int.self, forKey: .heads) ?? width / headWidth
            self = .vit(imageSize: imageSize, patchSize: patch, width: width, layers: layers, heads: heads)
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try encode(into: &c)
    }

    /// Writes the fields into an open `vision_cfg` container (``CLIPConfiguration`` adds
    /// `pos_embed_type` to the same object).
    func encode(into c: inout KeyedEncodingContainer<CodingKeys>) throws {
        switch self {
        case .vit(let imageSize, let patchSize, let width, let layers, let heads):
            try c.encode(imageSize, forKey: .imageSize)
            try c.encode(patchSize, forKey: .patchSize)
            try c.encode(width, forKey: .width)
            try c.encode(layers, forKey: .layers)
            try c.encode(heads, forKey: .heads)
        case .resnet(let imageSize, let layers, let width, let heads):
            try c.encode(imageSize, forKey: .imageSize)
            try c.encode(width, forKey: .width)
            try c.encode(layers, forKey: .layers)
            try c.encode(heads, forKey: .heads)
        }
    }
}

/// How a ViT image tower gets its positional embedding (open_clip's `vision_cfg.pos_embed_type`).
public enum PositionalEmbeddingType: String, Codable, Sendable {
    /// A trained parameter initialised to C^-½ · N(0, 1): OpenAI's models.
    case learnable
    /// Fixed 2-D sine–cosine features of the patch row and column (MAE's), not trained. Their
    /// magnitude is comparable to the patch embeddings from the first step, which lets small
    /// models learn *where* things are far sooner than from a small random start.
    case sinCos2D = "sin_cos_2d"
}

/// A whole CLIP model's architecture.
///
/// ```swift
/// let config = CLIPConfiguration.preset("ViT-B/32")!
/// print(config.vision.imageSize, config.embedDim)   // 224 512
/// ```
public struct CLIPConfiguration: Codable, Sendable, Equatable {
    /// Width of the joint embedding space.
    public var embedDim: Int
    public var vision: VisionConfiguration
    public var text: TextConfiguration
    public var activation: Activation
    /// The ViT's positional embedding (ResNets only support `.learnable`).
    public var visionPositionalEmbedding: PositionalEmbeddingType
    /// Width of the ViT blocks' MLPs when it is not 4 × width: open_clip's `vision_cfg.mlp_ratio`
    /// (ViT-bigG-14: 4.9231 → 8192 for width 1664, `int(width * mlp_ratio)` as open_clip
    /// computes it), Hugging Face's `vision_config.intermediate_size`. nil: 4 × width.
    public var visionMLPWidth: Int?

    public init(
        embedDim: Int, vision: VisionConfiguration, text: TextConfiguration, activation: Activation = .quickGELU,
        visionPositionalEmbedding: PositionalEmbeddingType = .learnable, visionMLPWidth: Int? = nil
    ) {
        self.embedDim = embedDim
        self.vision = vision
        self.text = text
        self.activation = activation
        self.visionPositionalEmbedding = visionPositionalEmbedding
        self.visionMLPWidth = CLIPConfiguration.mlpWidth(visionMLPWidth, vision: vision)
    }

    /// nil for the default 4C (so configurations compare equal however they were made).
    static func mlpWidth(_ m: Int?, vision: VisionConfiguration) -> Int? {
        guard let m, case .vit(_, _, let width, _, _) = vision, m != 4 * width else { return nil }
        return m
    }

    enum CodingKeys: String, CodingKey {
        case embedDim = "embed_dim"
        case vision = "vision_cfg"
        case text = "text_cfg"
        case activation
        case quickGELU = "quick_gelu"
    }

    /// Reads open_clip's model-config JSON (`embed_dim`, `vision_cfg`, `text_cfg`, optional
    /// `quick_gelu`) as well as what ``encode(to:)`` writes.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        embedDim = try c.decode(Int.self, forKey: .embedDim)
        vision = try c.decode(VisionConfiguration.self, forKey: .vision)
        let visionContainer = try c.nestedContainer(keyedBy: VisionConfiguration.CodingKeys.self, forKey: .vision)
        visionPositionalEmbedding =
            try visionContainer.decodeIfPresent(PositionalEmbeddingType.self, forKey: .positionalEmbedding)
            ?? .learnable
        visionMLPWidth = nil
        if let ratio = try visionContainer.decodeIfPresent(Double.self, forKey: .mlpRatio),
            case .vit(_, _, let width, _, _) = vision
        {
            // open_clip: mlp_width = int(width * mlp_ratio); the epsilon keeps a ratio written as
            // m / width (by encode(to:)) from truncating to m - 1.
            guard ratio > 0 && ratio < 64 else {
                throw DecodingError.dataCorruptedError(
                    forKey: .mlpRatio, in: visionContainer, debugDescription: "mlp_ratio must be in (0, 64)")
            }
            visionMLPWidth = CLIPConfiguration.mlpWidth(Int(Double(width) * ratio + 1e-6), vision: vision)
        }
        let textContainer = try c.nestedContainer(keyedBy: TextConfiguration.CodingKeys.self, forKey: .text)
        let width = try textContainer.decode(Int.self, forKey: .width)
        text = TextConfiguration(
            contextLength: try textContainer.decodeIfPresent(Int.self, forKey: .contextLength) ?? 77,
            vocabularySize: try textContainer.decodeIfPresent(Int.self, forKey: .vocabularySize) ?? 49408,
            width: width,
            heads: try textContainer.decodeIfPresent(Int.self, forKey: .heads) ?? width / 64,
            layers: try textContainer.decode(Int.self, forKey: .layers))
        if let a = try c.decodeIfPresent(Activation.self, forKey: .activation) {
            activation = a
        } else {
            // open_clip: quick_gelu defaults to false (plain GELU) in model-config JSON.
            activation = (try c.decodeIfPresent(Bool.self, forKey: .quickGELU) ?? false) ? .quickGELU : .gelu
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(embedDim, forKey: .embedDim)
        var v = c.nestedContainer(keyedBy: VisionConfiguration.CodingKeys.self, forKey: .vision)
        try vision.encode(into: &v)
        // Only when not the default, so files of learnable-embedding models stay as they were.
        if visionPositionalEmbedding != .learnable {
            try v.encode(visionPositionalEmbedding, forKey: .positionalEmbedding)
        }
        if let m = visionMLPWidth, case .vit(_, _, let width, _, _) = vision {
            try v.encode(Double(m) / Double(width), forKey: .mlpRatio)
        }
        try c.encode(text, forKey: .text)
        try c.encode(activation == .quickGELU, forKey: .quickGELU)
    }

    /// A short architecture name: "ViT-B/32"-style when it matches a preset, else a description.
    public var architectureName: String {
        if let name = CLIPConfiguration.presetNames.first(where: { CLIPConfiguration.preset($0) == self }) {
            return name
        }
        switch vision {
        case .vit(let size, let patch, let width, let layers, _):
            return "ViT (width \(width), \(layers) layers, patch \(patch), \(size) px)"
        case .resnet(let size, let stages, let width, _): return "ResNet (width \(width), stages \(stages), \(size) px)"
        }
    }
}
