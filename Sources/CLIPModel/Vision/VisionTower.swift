import CLIPTensor

// transformers `models/clip/modeling_clip.py` CLIPVisionTransformer (CLIPVisionModel,
// CLIPVisionModelWithProjection), which is OpenAI's clip/model.py VisionTransformer renamed.
// Symbols: B batch, S image side, P patches, C width, E embedding width.

/// A ViT image tower on its own: diffusers' `image_encoder/` (IP-Adapter), or the image half
/// of a whole ``CLIP`` with a ViT. Shares its parameters with the tower it was made from.
///
/// ```swift
/// let tower = try VisionTower(model.visual)
/// let states = try tower.hiddenStates(pixels, layer: -2, finalNorm: false)   // (B, 1 + P, C)
/// ```
public struct VisionTower: Sendable {
    public var imageSize: Int, patchSize: Int, width: Int
    public var patchEmbedding: Conv2d  // (C, 3, p, p)
    public var classEmbedding: Variable  // (C)
    public var positionalEmbedding: Variable  // (1 + P, C)
    public var preNorm: LayerNorm
    public var transformer: Transformer
    public var postNorm: LayerNorm
    /// `visual.proj` (C, E); nil for a `CLIPVisionModel`, which has none.
    public var projection: Variable?
    /// The last block's Wk regrouped per head (``ClassTokenKeys``) for pooled outputs at the
    /// last layer.
    var lastKeys: ClassTokenKeys?

    /// The image tower of a whole ViT CLIP model.
    public init(_ vit: VisionTransformer) {
        imageSize = vit.imageSize
        patchSize = vit.patchSize
        width = vit.width
        patchEmbedding = vit.patchEmbedding
        classEmbedding = vit.classEmbedding
        positionalEmbedding = vit.positionalEmbedding
        preNorm = vit.preNorm
        transformer = vit.transformer
        postNorm = vit.postNorm
        projection = vit.projection
        lastKeys = vit.lastKeys
    }

    /// The image tower of a whole CLIP model; ResNet towers have no per-token states.
    public init(_ encoder: ImageEncoder) throws {
        guard case .vit(let vit) = encoder else {
            throw HiddenStatesError.unsupportedTower(
                "a modified-ResNet image tower has no per-token hidden states (it ends in an attention pool)")
        }
        self.init(vit)
    }

    /// Reads a ViT tower under OpenAI key names (`visual.*`); `projectionWidth` nil: no `visual.proj`;
    /// `mlpWidth` nil: MLPs 4C wide.
    public init(
        _ store: ParameterStore, configuration: VisionConfiguration, projectionWidth: Int?, activation: Activation,
        mlpWidth: Int? = nil
    ) throws {
        guard case .vit(let size, let patch, let width, let layers, let heads) = configuration else {
            throw HiddenStatesError.unsupportedTower("a single image tower must be a ViT")
        }
        imageSize = size
        patchSize = patch
        self.width = width
        let grid = size / patch
        patchEmbedding = try Conv2d(store, "visual.conv1", input: 3, output: width, kernel: patch, stride: patch)
        classEmbedding = try store.parameter("visual.class_embedding", shape: [width])
        positionalEmbedding = try store.parameter("visual.positional_embedding", shape: [grid * grid + 1, width])
        preNorm = try LayerNorm(store, "visual.ln_pre", width: width)
        transformer = try Transformer(
            store, "visual.transformer", width: width, layers: layers, heads: heads, activation: activation,
            mlpWidth: mlpWidth)
        postNorm = try LayerNorm(store, "visual.ln_post", width: width)
        projection = try projectionWidth.map { try store.parameter("visual.proj", shape: [width, $0]) }
        lastKeys = ClassTokenKeys(transformer, width: width, heads: heads, trainable: store.trainable)
    }

    /// Width of the projected embedding (`image_embeds`), when the tower has a projection.
    public var embeddingWidth: Int? { projection?.shape[1] }
}
