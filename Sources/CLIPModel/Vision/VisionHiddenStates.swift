import CLIPTensor

// transformers `models/clip/modeling_clip.py` CLIPVisionTransformer.forward with
// output_hidden_states: hidden_states[0] = pre_layrnorm(embeddings), hidden_states[k] = block
// k's output, last_hidden_state = hidden_states[-1] (no norm), pooler_output =
// post_layernorm(class token). `finalNorm` applies ln_post to every token, as open_clip's
// `output_tokens`. IP-Adapter Plus takes hidden_states[-2].
// Symbols: B batch, S image side, P patches, C width, E embedding width.

extension VisionTower {
    /// Per-token states (B, 1 + P, C) after `layer` (see ``HiddenStateLayer``), class token
    /// first, with or without `ln_post` on every token. Only blocks 1 ... k run for layer k.
    ///
    /// ```swift
    /// let plus = try tower.hiddenStates(pixels, layer: -2)   // IP-Adapter Plus image tokens
    /// ```
    public func hiddenStates(_ pixels: Tensor, layer: Int = -1, finalNorm: Bool = false, maxBatch: Int = 32)
        throws -> Tensor
    {
        let k = try HiddenStateLayer.blocks(for: layer, layers: transformer.blocks.count)
        guard pixels.rank == 4, pixels.shape[1] == 3, pixels.shape[2] == imageSize, pixels.shape[3] == imageSize else {
            throw CLIPModelError.invalidInput(
                "pixels have shape \(pixels.shape), the tower takes (B, 3, \(imageSize), \(imageSize))")
        }
        let b = pixels.shape[0], grid = imageSize / patchSize
        if b == 0 { return Tensor(zeros: [0, grid * grid + 1, width]) }
        let parts = stride(from: 0, to: b, by: maxBatch).map { start in
            states(Variable(pixels.sliced(dim: 0, range: start..<min(start + maxBatch, b))), blocks: k, finalNorm)
        }
        return parts.count == 1 ? parts[0] : Tensor.concatenate(parts, dim: 0)  // (B, 1 + P, C)
    }

    /// The class token's state (B, C); with `finalNorm` (the default) transformers' `pooler_output`.
    public func pooledStates(_ pixels: Tensor, layer: Int = -1, finalNorm: Bool = true) throws -> Tensor {
        try hiddenStates(pixels, layer: layer, finalNorm: finalNorm).selecting(dim: 1, index: 0).contiguous()
    }

    /// transformers' `image_embeds`: the pooled output through `visual.proj` (B, E); nil
    /// without a projection.
    public func projectedFeatures(_ pixels: Tensor) throws -> Tensor? {
        guard let projection else { return nil }
        return Tensor.rowwiseMatmul(try pooledStates(pixels), projection.value)  // (B, E), batch-invariant
    }

    private func states(_ pixels: Variable, blocks k: Int, _ applyNorm: Bool) -> Tensor {
        let b = pixels.shape[0]
        let patches = patchEmbedding(pixels)  // (B, C, G, G)
        let n = patches.shape[2] * patches.shape[3]
        let tokens = Variable.transpose(Variable.reshape(patches, [b, width, n]), 1, 2)  // (B, P, C)
        let cls = Variable.broadcast(Variable.reshape(classEmbedding, [1, 1, width]), to: [b, 1, width])
        var x = preNorm(Variable.concatenate([cls, tokens], dim: 1) + positionalEmbedding)  // (B, 1 + P, C)
        for block in transformer.blocks.prefix(k) { x = block(x, causal: false) }
        return (applyNorm ? postNorm(x) : x).value
    }
}
