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
            states(
                Array(tokens[start..<min(start + maxBatch, tokens.count)]), blocks: k, finalNorm: finalNorm,
                positions: t)
        }
        return parts.count == 1 ? parts[0] : Tensor.concatenate(parts, dim: 0)  // (N, T, C)
    }

    /// The state at each sequence's EOT token (N, C): with the defaults, transformers'
    /// `pooler_output`. EOT is the first position holding the largest id (transformers'
    /// argmax rule, which finds the first EOT under either padding).
    ///
    /// Like ``CLIP/encodeText(_:maxBatch:)`` it stops at the EOT: rows are grouped by the
    /// positions they need (``TextLengthGroups``); the T-position states' EOT rows up to float
    /// rounding.
    public func pooledStates(_ tokens: [[Int32]], layer: Int = -1, finalNorm: Bool = true, maxBatch: Int = 64)
        throws -> Tensor
    {
        let k = try HiddenStateLayer.blocks(for: layer, layers: transformer.blocks.count)
        try check(tokens)
        let t = configuration.contextLength
        let eots = tokens.map(eotPosition)
        let lengths = eots.map { TextLengthGroups.positions(eot: $0, contextLength: t) }
        return TextLengthGroups.run(lengths: lengths, maxBatch: maxBatch, width: configuration.width) { rows, l in
            let x = states(rows.map { tokens[$0] }, blocks: k, finalNorm: finalNorm, positions: l)  // (rows, L, C)
            return Variable.gatherRows(Variable(x), indices: rows.map { eots[$0] }).value  // (rows, C)
        }  // (N, C)
    }

    /// transformers' `text_embeds`: the pooled output through `text_projection` (N, E);
    /// nil when the tower has no projection.
    public func projectedFeatures(_ tokens: [[Int32]]) throws -> Tensor? {
        guard let projection else { return nil }
        return Tensor.rowwiseMatmul(try pooledStates(tokens), projection.value)  // (N, E), batch-invariant
    }

    /// transformers' rule: the first `eosTokenID`, else the first position of the row's largest id.
    public func eotPosition(_ row: [Int32]) -> Int {
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

    /// States of the first `positions` (L) positions of each row: (N, L, C).
    private func states(_ tokens: [[Int32]], blocks k: Int, finalNorm applyNorm: Bool, positions l: Int) -> Tensor {
        let n = tokens.count
        var x = Variable.embedding(tokenEmbedding, ids: tokens.flatMap { $0[..<l] }, idsShape: [n, l])  // (N, L, C)
        x =
            x
            + (l == configuration.contextLength
                ? positionalEmbedding : Variable.slice(positionalEmbedding, dim: 0, range: 0..<l))
        for block in transformer.blocks.prefix(k) { x = block(x, causal: true) }  // (N, L, C)
        return (applyNorm ? finalNorm(x) : x).value
    }
}
