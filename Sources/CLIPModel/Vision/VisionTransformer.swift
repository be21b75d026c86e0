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
    var lastKeys: ClassTokenKeys?

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
        lastKeys = ClassTokenKeys(transformer, width: width, heads: heads, trainable: store.trainable)
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
        if !transformer.blocks.isEmpty, Self.lastBlockOnClassToken, !x.requiresGrad, !transformer.requiresGrad {
            // Only the class token is pooled: the last block needs no other row's output.
            classToken = transformer.firstRowOutput(x, blocks: transformer.blocks.count, keys: lastKeys)
        } else {
            classToken = Variable.select(transformer(x, causal: false), dim: 1, index: 0)
        }
        return Variable.rowwiseMatmul(postNorm(classToken), projection)  // (B, E), batch-invariant
    }
}

/// A ViT's last block's Wk regrouped per head (``SingleQueryAttention/keysByHead(_:heads:)``)
/// for its class-token-only run, and the weight it was made from: a block whose `in_proj`
/// weight was replaced since (the struct's fields are public) forms its keys instead of
/// folding stale ones.
struct ClassTokenKeys: Sendable {
    let byHead: Tensor
    private let weightStorage: TensorStorage, weightOffset: Int

    /// Frozen float weights on the packed GEMM, with the class-token-only block switched on;
    /// nil otherwise.
    init?(_ transformer: Transformer, width: Int, heads: Int, trainable: Bool) {
        guard !trainable && VisionTransformer.lastBlockOnClassToken && SingleQueryAttention.isAvailable,
            let input = transformer.blocks.last?.attention.inProjection, input.int8 == nil
        else { return nil }
        let weight = input.weight.value
        byHead = SingleQueryAttention.keysByHead(weight.sliced(dim: 0, range: width..<(2 * width)), heads: heads)
        (weightStorage, weightOffset) = (weight.storage, weight.offset)
    }

    /// Whether these keys were made from `block`'s current `in_proj` weight.
    func belong(to block: ResidualAttentionBlock) -> Bool {
        let weight = block.attention.inProjection.weight.value
        return block.attention.inProjection.int8 == nil && weight.storage === weightStorage
            && weight.offset == weightOffset
    }
}
