import CLIPTensor

// OpenAI clip/model.py CLIP.encode_text.
// Symbols: B batch, T context length, C text width, E embedding width, V vocabulary.

/// The text tower: token + positional embedding, causal transformer, `ln_final`, the
/// features at each sequence's EOT token (the largest id), `text_projection`.
public struct TextEncoder: Sendable {
    public var configuration: TextConfiguration
    public var tokenEmbedding: Variable  // (V, C)
    public var positionalEmbedding: Variable  // (T, C)
    public var transformer: Transformer
    public var finalNorm: LayerNorm
    public var projection: Variable  // (C, E)

    public init(_ store: ParameterStore, configuration c: TextConfiguration, embedDim: Int, activation: Activation)
        throws
    {
        configuration = c
        tokenEmbedding = try store.parameter("token_embedding.weight", shape: [c.vocabularySize, c.width])
        positionalEmbedding = try store.parameter("positional_embedding", shape: [c.contextLength, c.width])
        transformer = try Transformer(
            store, "transformer", width: c.width, layers: c.layers, heads: c.heads, activation: activation)
        finalNorm = try LayerNorm(store, "ln_final", width: c.width)
        projection = try store.parameter("text_projection", shape: [c.width, embedDim])
    }

    /// Token ids (B sequences of exactly T ids) → unnormalised features (B, E).
    public func callAsFunction(_ tokens: [[Int32]]) throws -> Variable {
        let t = configuration.contextLength
        for (i, row) in tokens.enumerated() {
            guard row.count == t else {
                throw CLIPModelError.invalidInput(
                    "sequence \(i) has \(row.count) tokens, the model's context length is \(t)")
            }
            if let bad = row.first(where: { $0 < 0 || Int($0) >= configuration.vocabularySize }) {
                throw CLIPModelError.invalidInput(
                    "sequence \(i) has token id \(bad), outside the vocabulary of \(configuration.vocabularySize)")
            }
        }
        let b = tokens.count
        let embedded = Variable.embedding(tokenEmbedding, ids: tokens.flatMap { $0 }, idsShape: [b, t])  // (B, T, C)
        let x = transformer(embedded + positionalEmbedding, causal: true)
        // Only the EOT rows matter: gather them before the final norm (it is per row).
        let eotPositions = tokens.map { row in
            row.indices.max { row[$0] < row[$1] || (row[$0] == row[$1] && $0 > $1) } ?? 0
        }  // first argmax
        let pooled = Variable.gatherRows(x, indices: eotPositions)  // (B, C)
        return Variable.rowwiseMatmul(finalNorm(pooled), projection)  // (B, E), batch-invariant
    }
}
