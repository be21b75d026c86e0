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
        tokenEmbedding = try store.parameter(
            "token_embedding.weight", shape: [c.vocabularySize, c.width], checkedByReader: true)
        positionalEmbedding = try store.parameter("positional_embedding", shape: [c.contextLength, c.width])
        transformer = try Transformer(
            store, "transformer", width: c.width, layers: c.layers, heads: c.heads, activation: activation)
        finalNorm = try LayerNorm(store, "ln_final", width: c.width)
        projection = try store.parameter("text_projection", shape: [c.width, embedDim])
    }

    /// Token ids (B sequences of exactly T ids) → unnormalised features (B, E), computing all
    /// T positions, with gradients when the weights require them (training).
    ///
    /// For inference use ``encode(_:maxBatch:)``: the same features, computing only the
    /// positions up to each row's EOT.
    public func callAsFunction(_ tokens: [[Int32]]) throws -> Variable {
        try check(tokens)
        return self(tokens, positions: configuration.contextLength)
    }

    /// Features (N, E) that stop at the EOT: each row needs only its positions up to its EOT
    /// (the mask is causal). Where inference computes rows independently
    /// (``Parallel/inferenceRowsAreIndependent``) the rows' positions are packed back to back,
    /// at most `maxBatch` rows per pass, each attending within itself: no padding is computed,
    /// and the features equal the T-position forward bit for bit. Elsewhere (the BLAS path, or
    /// weights that require gradients) rows are sorted by length and run in sub-batches of
    /// similar length (``TextLengthGroups``), equal up to float rounding. Results are in input order.
    ///
    /// ```swift
    /// let features = try model.text.encode(CLIP.tokenize(["a photo of a tabby cat."]))  // runs 9 of 77 positions
    /// ```
    public func encode(_ tokens: [[Int32]], maxBatch: Int = 64) throws -> Tensor {
        try check(tokens)
        precondition(maxBatch > 0, "maxBatch must be positive")
        let t = configuration.contextLength
        let lengths = tokens.map { TextLengthGroups.positions(eot: TextEncoder.eotPosition($0), contextLength: t) }
        if Parallel.inferenceRowsAreIndependent && !requiresGrad {
            // Rows computed independently: pack the rows' positions back to back, so the linear
            // layers run once over exactly the positions needed, without padding.
            let parts = stride(from: 0, to: tokens.count, by: maxBatch).map { start in
                let rows = start..<min(start + maxBatch, tokens.count)
                return packed(Array(tokens[rows]), lengths: Array(lengths[rows])).value  // (rows, E)
            }
            return parts.count == 1 ? parts[0] : Tensor.concatenate(parts, dim: 0)
        }
        return TextLengthGroups.run(lengths: lengths, maxBatch: maxBatch, width: projection.shape[1]) { rows, l in
            self(rows.map { tokens[$0] }, positions: l).value  // (rows, E)
        }
    }

    /// The first `positions` positions of each row through the tower, pooled at each row's
    /// EOT, which must lie among them → (B, E). Rows must be checked.
    func callAsFunction(_ tokens: [[Int32]], positions l: Int) -> Variable {
        let b = tokens.count
        let ids = tokens.flatMap { $0[..<l] }
        let embedded = Variable.embedding(tokenEmbedding, ids: ids, idsShape: [b, l])  // (B, L, C)
        let positional =
            l == configuration.contextLength
            ? positionalEmbedding : Variable.slice(positionalEmbedding, dim: 0, range: 0..<l)  // (L, C)
        let x = transformer(embedded + positional, causal: true)  // (B, L, C)
        // Only the EOT rows matter: gather them before the final norm (it is per row).
        let eotPositions = tokens.map(TextEncoder.eotPosition)
        precondition(eotPositions.allSatisfy { $0 < l }, "an EOT lies beyond the \(l) positions run")
        let pooled = Variable.gatherRows(x, indices: eotPositions)  // (B, C)
        return Variable.rowwiseMatmul(finalNorm(pooled), projection)  // (B, E), batch-invariant
    }

    /// Rows packed back to back (inference): row i contributes its first `lengths[i]`
    /// positions, which must include its EOT, and attends within them only → (B, E). Equal bit
    /// for bit to the padded forward where rows are computed independently
    /// (``Parallel/inferenceRowsAreIndependent``). Rows must be checked.
    func packed(_ tokens: [[Int32]], lengths: [Int]) -> Variable {
        var ids: [Int32] = [], positions: [Int32] = [], segments: [Range<Int>] = [], eotRows: [Int32] = []
        for (row, l) in zip(tokens, lengths) {
            let start = ids.count, eot = TextEncoder.eotPosition(row)
            precondition(eot < l, "an EOT lies beyond the \(l) positions run")
            ids += row[..<l]
            positions += (0..<Int32(l))
            segments.append(start..<(start + l))
            eotRows.append(Int32(start + eot))
        }
        let n = ids.count, c = configuration.width
        let embedded = Variable.embedding(tokenEmbedding, ids: ids, idsShape: [1, n])  // (1, N, C)
        let positional = Variable.embedding(positionalEmbedding, ids: positions, idsShape: [1, n])  // (1, N, C)
        let x = transformer(packed: embedded + positional, segments: segments)  // (1, N, C)
        // Only the EOT rows matter: gather them before the final norm (it is per row).
        let pooled = Tensor.embedding(x.value.reshaped([n, c]), ids: eotRows, idsShape: [tokens.count])  // (B, C)
        return Variable.rowwiseMatmul(finalNorm(Variable(pooled)), projection)  // (B, E), batch-invariant
    }

    /// Whether any weight requires gradients (false for a model loaded for inference).
    var requiresGrad: Bool {
        tokenEmbedding.requiresGrad || positionalEmbedding.requiresGrad || projection.requiresGrad
            || finalNorm.requiresGrad || transformer.requiresGrad
    }

    /// OpenAI's pooling position: the first position of the row's largest id (the EOT, 49407).
    public static func eotPosition(_ row: [Int32]) -> Int {
        row.indices.max { row[$0] < row[$1] || (row[$0] == row[$1] && $0 > $1) } ?? 0
    }

    private func check(_ tokens: [[Int32]]) throws {
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
    }
}
