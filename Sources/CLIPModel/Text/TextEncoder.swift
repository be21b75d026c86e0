import CLIPTensor

// OpenAI clip/model.py CLIP.encode_text.
// Symbols: B batch, T context length, C text width, E embedding width, V vocabulary.

/// The text tower: token + positional embedding, causal transformer, `ln_final`, the
/// features at each sequence's EOT token (the largest id), `text_projection`.
public struct TextEncoder: Sendable {
    public var configuration: TextConfiguration
    public var tokenEmbedding: Tensor      // (V, C)
    public var positionalEmbedding: Tensor // (T, C)
    public var transformer: Transformer
    public var finalNorm: LayerNorm
    public var projection: Tensor          // (C, E)

    public init(_ store: ParameterStore, configuration c: TextConfiguration, embedDim: Int, activation: Activation) throws {
        configuration = c
        tokenEmbedding = try store.tensor("token_embedding.weight", shape: [c.vocabularySize, c.width])
        positionalEmbedding = try store.tensor("positional_embedding", shape: [c.contextLength, c.width])
        transformer = try Transformer(store, "transformer", width: c.width, layers: c.layers, heads: c.heads, activation: activation)
        finalNorm = try LayerNorm(store, "ln_final", width: c.width)
        projection = try store.tensor("text_projection", shape: [c.width, embedDim])
    }

    /// Token ids (B sequences of exactly T ids) → unnormalised features (B, E).
    public func callAsFunction(_ tokens: [[Int32]]) throws -> Tensor {
        let t = configuration.contextLength
        for (i, row) in tokens.enumerated() {
            guard row.count == t else {
                throw CLIPModelError.invalidInput("sequence \(i) has \(row.count) tokens, the model's context length is \(t)")
            }
            if let bad = row.first(where: { $0 < 0 || Int($0) >= configuration.vocabularySize }) {
                throw CLIPModelError.invalidInput("sequence \(i) has token id \(bad), outside the vocabulary of \(configuration.vocabularySize)")
            }
        }
        let b = tokens.count
        if b == 0 { return Tensor(zeros: [0, projection.shape[1]]) }
        var x = Tensor.embedding(tokenEmbedding, ids: tokens.flatMap { $0 }, idsShape: [b, t])   // (B, T, C)
        x = x + positionalEmbedding
        x = transformer(x, causal: true)
        // Only the EOT rows matter: gather them before the final norm (it is per-row).
        let c = configuration.width
        let eot = Tensor(uninitializedShape: [b, c])                                              // (B, C)
        for (i, row) in tokens.enumerated() {
            let position = row.indices.max { row[$0] < row[$1] || (row[$0] == row[$1] && $0 > $1) } ?? 0   // first argmax
            (eot.baseAddress + i * c).update(from: x.baseAddress + (i * t + position) * c, count: c)
        }
        return Tensor.matmul(finalNorm(eot), projection)                                          // (B, E)
    }
}
