import CLIPTensor

// OpenAI clip/model.py VisionTransformer.
// Symbols: B batch, S image side, P patch side, G = S / P grid side, N = G² patches,
//          C width, E embedding width.

/// ViT image tower: patchify (`conv1`, no bias), class token, positional embedding, `ln_pre`,
/// transformer, `ln_post` on the class token, `proj`.
public struct VisionTransformer: Sendable {
    public var imageSize: Int, patchSize: Int, width: Int
    public var patchEmbedding: Conv2d  // (C, 3, P, P)
    public var classEmbedding: Variable  // (C)
    public var positionalEmbedding: Variable  // (N + 1, C)
    public var preNorm: LayerNorm
    public var transformer: Transformer
    public var postNorm: LayerNorm
    public var projection: Variable  // (C, E)

    public init(
        _ store: ParameterStore, imageSize: Int, patchSize: Int, width: Int, layers: Int, heads: Int,
        embedDim: Int, activation: Activation
    ) throws {
        self.imageSize = imageSize
        self.patchSize = patchSize
        self.width = width
        let grid = imageSize / patchSize
        patchEmbedding = try Conv2d(
            store, "visual.conv1", input: 3, output: width, kernel: patchSize, stride: patchSize)
        classEmbedding = try store.parameter("visual.class_embedding", shape: [width])
        positionalEmbedding = try store.parameter("visual.positional_embedding", shape: [grid * grid + 1, width])
        preNorm = try LayerNorm(store, "visual.ln_pre", width: width)
        transformer = try Transformer(
            store, "visual.transformer", width: width, layers: layers, heads: heads, activation: activation)
        postNorm = try LayerNorm(store, "visual.ln_post", width: width)
        projection = try store.parameter("visual.proj", shape: [width, embedDim])
    }

    /// Pixels (B, 3, S, S) → unnormalised features (B, E).
    public func callAsFunction(_ pixels: Variable) -> Variable {
        let b = pixels.shape[0]
        let patches = patchEmbedding(pixels)  // (B, C, G, G)
        let n = patches.shape[2] * patches.shape[3]
        let tokens = Variable.transpose(Variable.reshape(patches, [b, width, n]), 1, 2)  // (B, N, C)
        let cls = Variable.broadcast(Variable.reshape(classEmbedding, [1, 1, width]), to: [b, 1, width])
        var x = Variable.concatenate([cls, tokens], dim: 1)  // (B, N + 1, C)
        x = preNorm(x + positionalEmbedding)
        x = transformer(x, causal: false)
        let classToken = Variable.select(x, dim: 1, index: 0)  // (B, C)
        return Variable.rowwiseMatmul(postNorm(classToken), projection)  // (B, E), batch-invariant
    }
}
