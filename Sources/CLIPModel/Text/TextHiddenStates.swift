import CLIPTensor

// transformers `models/clip/modeling_clip.py` CLIPTextTransformer.forward with
// output_hidden_states: hidden_states[0] = embeddings, hidden_states[k] = block k's output,
// last_hidden_state = final_layer_norm(hidden_states[-1]), pooler_output = the
// last_hidden_state row at each sequence's EOT. diffusers' clip_skip applies final_layer_norm
// to an earlier entry; SDXL takes hidden_states[-2] without it.
// Symbols: N batch, T context length, C text width, E embedding width.

extension TextTower {
    /// Per-token states (N, T, C) after `layer` (see ``HiddenStateLayer``), with or without
    /// `ln_final`. Only blocks 1 ... k run for layer k.
    ///
    /// ```swift
    /// let sd1 = try tower.hiddenStates(rows, layer: -1, finalNorm: true)      // diffusers' prompt_embeds
    /// let sdxl = try tower.hiddenStates(rows, layer: -2, finalNorm: false)    // SDXL, either encoder
    /// ```
    public func hiddenStates(_ tokens: [[Int32]], layer: Int = -1, finalNorm: Bool = true, maxBatch: Int = 64)
        throws -> Tensor
    {
        let k = try HiddenStateLayer.blocks(for: layer, layers: transformer.blocks.count)
        try check(tokens)
        let t = configuration.contextLength, c = configuration.width
        if tokens.isEmpty { return Tensor(zeros: [0, t, c]) }
        let parts = stride(from: 0, to: tokens.count, by: maxBatch).map { start in
            states(Array(tokens[start..<min(start + maxBatch, tokens.count)]), blocks: k, finalNorm: finalNorm)
        }
        return parts.count == 1 ? parts[0] : Tensor.concatenate(parts, dim: 0)  // (N, T, C)
    }

    /// The state at each sequence's EOT token (N, C): with the defaults, transformers'
    /// `pooler_output`. EOT is the first position holding the largest id (transformers'
    /// argmax rule, which finds the first EOT under either padding).
    public func pooledStates(_ tokens: [[Int32]], layer: Int = -1, finalNorm: Bool = true) throws -> Tensor {
        let states = try hiddenStates(tokens, layer: layer, finalNorm: finalNorm)  // (N, T, C)
        return Variable.gatherRows(Variable(states), indices: tokens.map(eotPosition)).value  // (N, C)
    }

    /// transformers' `text_embeds`: the pooled output through `text_projection` (N, E);
    /// nil when the tower has no projection.
    public func projectedFeatures(_ tokens: [[Int32]]) throws -> Tensor? {
        guard let projection else { return nil }
        return Tensor.rowwiseMatmul(try pooledStates(tokens), projection.value)  // (N, E), batch-invariant
    }

    /// transformers' rule: the first `eosTokenID`, else the first position of the row's largest id.
    func eotPosition(_ row: [Int32]) -> Int {
        if let eosTokenID, let first = row.firstIndex(of: eosTokenID) { return first }
        return row.indices.max { row[$0] < row[$1] || (row[$0] == row[$1] && $0 > $1) } ?? 0
    }

    private func check(_ tokens: [[Int32]]) throws {
        let t = configuration.contextLength, v = configuration.vocabularySize
        for (i, row) in tokens.enumerated() {
            guard row.count == t else {
                throw CLIPModelError.invalidInput("sequence \(i) has \(row.count) tokens, the context length is \(t)")
            }
            if let bad = row.first(where: { $0 < 0 || Int($0) >= v }) {
                throw CLIPModelError.invalidInput("sequence \(i) has token id \(bad), outside the vocabulary of \(v)")
            }
        }
    }

    private func states(_ tokens: [[Int32]], blocks k: Int, finalNorm applyNorm: Bool) -> Tensor {
        let n = tokens.count, t = configuration.contextLength
        var x = Variable.embedding(tokenEmbedding, ids: tokens.flatMap { $0 }, idsShape: [n, t])  // (N, T, C)
        x = x + positionalEmbedding
        for block in transformer.blocks.prefix(k) { x = block(x, causal: true) }  // (N, T, C)
        return (applyNorm ? finalNorm(x) : x).value
    }
}
