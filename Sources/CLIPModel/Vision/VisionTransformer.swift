import CLIPTensor
import Foundation

// OpenAI clip/model.py VisionTransformer.
// Symbols: B batch, S image side, P patch side, G = S / P grid side, N = G² patches,
//          C width, E embedding width.

/// ViT image tower: patchify (`conv1`, no bias), class token, positional embedding, `ln_pre`,
/// transformer (MLP width `mlpWidth`, nil for 4C), `ln_post` on the class token, `proj`.
public struct VisionTransformer: Sendable {
    public var imageSize: Int, patchSize: Int, width: Int
    public var patchEmbedding: Conv2d  // (C, 3, P, P)
    public var classEmbedding: Variable  // (C)
    public var positionalEmbedding: Variable  // (N + 1, C)
    public var preNorm: LayerNorm
    public var transformer: Transformer
    public var postNorm: LayerNorm
    public var projection: Variable  // (C, E)
    /// The last block's Wk regrouped per head for ``SingleQueryAttention`` (frozen float
    /// models on the packed GEMM): the class token's query then never forms keys or values.
    var lastKeysByHead: Tensor?

    /// Whether inference runs the last block on the class token only (nothing else of it
    /// reaches the features): on unless `CLIP_CLASS_TOKEN_ONLY=0` is in the environment; tests
    /// set it per task to compare with the full block.
    @TaskLocal static var lastBlockOnClassToken =
        ProcessInfo.processInfo.environment["CLIP_CLASS_TOKEN_ONLY"] != "0"

    public init(
        _ store: ParameterStore, imageSize: Int, patchSize: Int, width: Int, layers: Int, heads: Int,
        embedDim: Int, activation: Activation, mlpWidth: Int? = nil
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
            store, "visual.transformer", width: width, layers: layers, heads: heads, activation: activation,
            mlpWidth: mlpWidth)
        postNorm = try LayerNorm(store, "visual.ln_post", width: width)
        projection = try store.parameter("visual.proj", shape: [width, embedDim])
        lastKeysByHead = Self.classTokenKeys(transformer, width: width, heads: heads, trainable: store.trainable)
    }

    /// The last block's Wk regrouped per head for its class-token-only run, where that run
    /// folds the keys away: frozen float weights on the packed GEMM; nil otherwise.
    static func classTokenKeys(_ transformer: Transformer, width: Int, heads: Int, trainable: Bool) -> Tensor? {
        guard !trainable && lastBlockOnClassToken && SingleQueryAttention.isAvailable,
            let input = transformer.blocks.last?.attention.inProjection, input.int8 == nil
        else { return nil }
        return SingleQueryAttention.keysByHead(
            input.weight.value.sliced(dim: 0, range: width..<(2 * width)), heads: heads)
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
        let classToken: Variable  // (B, C)
        if let last = transformer.blocks.last, Self.lastBlockOnClassToken, !x.requiresGrad, !transformer.requiresGrad {
            // Only the class token is pooled: the last block needs no other row's output.
            for block in transformer.blocks.dropLast() { x = block(x, causal: false) }
            classToken = last.firstRowOutput(x, keysByHead: lastKeysByHead)
        } else {
            classToken = Variable.select(transformer(x, causal: false), dim: 1, index: 0)
        }
        return Variable.rowwiseMatmul(postNorm(classToken), projection)  // (B, E), batch-invariant
    }
}
