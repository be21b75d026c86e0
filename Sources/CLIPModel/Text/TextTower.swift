import CLIPTensor

// transformers `models/clip/modeling_clip.py` CLIPTextTransformer (CLIPTextModel,
// CLIPTextModelWithProjection), which is OpenAI's clip/model.py text tower under other names.
// Symbols: N batch, T context length, C text width, E embedding width, V vocabulary.

/// A text tower on its own: what diffusers loads as `text_encoder/` (no projection) or
/// `text_encoder_2/` (with `text_projection`), or the text half of a whole ``CLIP``.
///
/// It shares its parameters with the tower it was made from; nothing is copied.
///
/// ```swift
/// let tower = TextTower(model.text)
/// let states = try tower.hiddenStates(tokens, layer: -2, finalNorm: false)   // (N, 77, C)
/// ```
public struct TextTower: Sendable {
    public var configuration: TextConfiguration
    public var tokenEmbedding: Variable  // (V, C)
    public var positionalEmbedding: Variable  // (T, C)
    public var transformer: Transformer
    public var finalNorm: LayerNorm
    /// `text_projection` (C, E); nil for a `CLIPTextModel`, which has none.
    public var projection: Variable?
    /// The id that ends a prompt (`eos_token_id`); nil: the first position of the largest id,
    /// which is what transformers does for old configs (`eos_token_id` 2) and OpenAI always.
    public var eosTokenID: Int32? = nil

    /// The text tower of a whole CLIP model.
    public init(_ encoder: TextEncoder) {
        configuration = encoder.configuration
        tokenEmbedding = encoder.tokenEmbedding
        positionalEmbedding = encoder.positionalEmbedding
        transformer = encoder.transformer
        finalNorm = encoder.finalNorm
        projection = encoder.projection
    }

    /// Reads a text tower under OpenAI key names; `projectionWidth` nil means no `text_projection`.
    public init(
        _ store: ParameterStore, configuration c: TextConfiguration, projectionWidth: Int?, activation: Activation
    ) throws {
        configuration = c
        tokenEmbedding = try store.parameter(
            "token_embedding.weight", shape: [c.vocabularySize, c.width], checkedByReader: true)
        positionalEmbedding = try store.parameter("positional_embedding", shape: [c.contextLength, c.width])
        transformer = try Transformer(
            store, "transformer", width: c.width, layers: c.layers, heads: c.heads, activation: activation)
        finalNorm = try LayerNorm(store, "ln_final", width: c.width)
        projection = try projectionWidth.map { try store.parameter("text_projection", shape: [c.width, $0]) }
    }

    /// Width of the projected embedding (`text_embeds`), when the tower has a projection.
    public var embeddingWidth: Int? { projection?.shape[1] }
}
