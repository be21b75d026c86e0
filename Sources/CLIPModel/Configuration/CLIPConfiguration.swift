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
        case contextLength = "context_length", vocabularySize = "vocab_size", width, heads, layers
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
    enum CodingKeys: String, CodingKey {
        case imageSize = "image_size", patchSize = "patch_size", width, layers, heads
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let imageSize = try c.decode(Int.self, forKey: .imageSize)
        let width = try c.decode(Int.self, forKey: .width)
        if let stages = try? c.decode([Int].self, forKey: .layers) {
            let heads = try c.decodeIfPresent(Int.self, forKey: .heads) ?? width * 32 / 64
            self = .resnet(imageSize: imageSize, layers: stages, width: width, heads: heads)
        } else {
            let layers = try c.decode(Int.self, forKey: .layers)
            let patch = try c.decode(Int.self, forKey: .patchSize)
            let heads = try c.decodeIfPresent(Int.self, forKey: .heads) ?? width / 64
            self = .vit(imageSize: imageSize, patchSize: patch, width: width, layers: layers, heads: heads)
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case let .vit(imageSize, patchSize, width, layers, heads):
            try c.encode(imageSize, forKey: .imageSize)
            try c.encode(patchSize, forKey: .patchSize)
            try c.encode(width, forKey: .width)
            try c.encode(layers, forKey: .layers)
            try c.encode(heads, forKey: .heads)
        case let .resnet(imageSize, layers, width, heads):
            try c.encode(imageSize, forKey: .imageSize)
            try c.encode(width, forKey: .width)
            try c.encode(layers, forKey: .layers)
            try c.encode(heads, forKey: .heads)
        }
    }
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

    public init(embedDim: Int, vision: VisionConfiguration, text: TextConfiguration, activation: Activation = .quickGELU) {
        self.embedDim = embedDim
        self.vision = vision
        self.text = text
        self.activation = activation
    }

    enum CodingKeys: String, CodingKey {
        case embedDim = "embed_dim", vision = "vision_cfg", text = "text_cfg", activation, quickGELU = "quick_gelu"
    }

    /// Reads open_clip's model-config JSON (`embed_dim`, `vision_cfg`, `text_cfg`, optional
    /// `quick_gelu`) as well as what ``encode(to:)`` writes.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        embedDim = try c.decode(Int.self, forKey: .embedDim)
        vision = try c.decode(VisionConfiguration.self, forKey: .vision)
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
        try c.encode(vision, forKey: .vision)
        try c.encode(text, forKey: .text)
        try c.encode(activation == .quickGELU, forKey: .quickGELU)
    }

    /// A short architecture name: "ViT-B/32"-style when it matches a preset, else a description.
    public var architectureName: String {
        if let name = CLIPConfiguration.presetNames.first(where: { CLIPConfiguration.preset($0) == self }) { return name }
        switch vision {
        case let .vit(size, patch, width, layers, _): return "ViT (width \(width), \(layers) layers, patch \(patch), \(size) px)"
        case let .resnet(size, stages, width, _): return "ResNet (width \(width), stages \(stages), \(size) px)"
        }
    }
}
