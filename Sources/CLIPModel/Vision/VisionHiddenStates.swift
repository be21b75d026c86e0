import CLIPTensor

// transformers `models/clip/modeling_clip.py` CLIPVisionTransformer.forward with
// output_hidden_states: hidden_states[0] = pre_layrnorm(embeddings), hidden_states[k] = block
// k's output, last_hidden_state = hidden_states[-1] (no norm), pooler_output =
// post_layernorm(class token). `finalNorm` applies ln_post to every token, as open_clip's
// `output_tokens`. IP-Adapter Plus takes hidden_states[-2].
// Symbols: B batch, S image side, P patches, C width, E embedding width.

extension VisionTower {
    /// Images run together at most, by default: ``hiddenStates(_:layer:finalNorm:maxBatch:)``,
    /// ``pooledStates(_:layer:finalNorm:maxBatch:)`` and ``CLIP/encodeImage(_:maxBatch:)``. An
    /// image's values do not depend on it; it bounds the activations' memory.
    public static let defaultMaxBatch = 32

    /// Per-token states (B, 1 + P, C) after `layer` (see ``HiddenStateLayer``), class token
    /// first, with or without `ln_post` on every token. Only blocks 1 ... k run for layer k.
    ///
    /// ```swift
    /// let plus = try tower.hiddenStates(pixels, layer: -2)   // IP-Adapter Plus image tokens
    /// ```
    public func hiddenStates(
        _ pixels: Tensor, layer: Int = -1, finalNorm: Bool = false, maxBatch: Int = VisionTower.defaultMaxBatch
    )
        throws -> Tensor
    {
        let k = try HiddenStateLayer.blocks(for: layer, layers: transformer.blocks.count)
        try checkPixels(pixels)
        let grid = imageSize / patchSize
        return inChunks(pixels, maxBatch: maxBatch, empty: [0, grid * grid + 1, width]) {
            states(Variable($0), blocks: k, finalNorm)
        }  // (B, 1 + P, C)
    }

    /// The class token's state (B, C) after `layer`; with `finalNorm` (the default)
    /// transformers' `pooler_output`. At inference block k runs on the class token only (its
    /// other rows are still keys and values; ``VisionTransformer`` does the same for image
    /// features), so the result is row 0 of ``hiddenStates(_:layer:finalNorm:maxBatch:)``
    /// rounded differently; `CLIP_CLASS_TOKEN_ONLY=0` runs the whole block. `maxBatch`: images
    /// run together at most (their values do not depend on it).
    public func pooledStates(
        _ pixels: Tensor, layer: Int = -1, finalNorm: Bool = true, maxBatch: Int = VisionTower.defaultMaxBatch
    ) throws -> Tensor {
        let k = try HiddenStateLayer.blocks(for: layer, layers: transformer.blocks.count)
        guard k > 0 && VisionTransformer.lastBlockOnClassToken && !transformer.requiresGrad else {
            return try hiddenStates(pixels, layer: layer, finalNorm: finalNorm, maxBatch: maxBatch)
                .selecting(dim: 1, index: 0).contiguous()
        }
        try checkPixels(pixels)
        return inChunks(pixels, maxBatch: maxBatch, empty: [0, width]) { chunk in
            let x = embeddings(Variable(chunk))  // (B, 1 + P, C)
            let classToken = transformer.firstRowOutput(x, blocks: k, keys: lastKeys)  // (B, C)
            return (finalNorm ? postNorm(classToken) : classToken).value
        }
    }

    /// transformers' `image_embeds`: the pooled output through `visual.proj` (B, E); nil
    /// without a projection. Computed as ``CLIP/encodeImage(_:maxBatch:)`` computes the model's
    /// image features (a tower made from a whole model gives the same values).
    public func projectedFeatures(_ pixels: Tensor) throws -> Tensor? {
        guard let projection else { return nil }
        return Tensor.rowwiseMatmul(try pooledStates(pixels), projection.value)  // (B, E), batch-invariant
    }

    private func checkPixels(_ pixels: Tensor) throws {
        guard pixels.rank == 4, pixels.shape[1] == 3, pixels.shape[2] == imageSize, pixels.shape[3] == imageSize else {
            throw CLIPModelError.invalidInput(
                "pixels have shape \(pixels.shape), the tower takes (B, 3, \(imageSize), \(imageSize))")
        }
    }

    /// `body` over chunks of at most `maxBatch` images, concatenated along dim 0; `empty` is
    /// the shape returned for no images.
    private func inChunks(_ pixels: Tensor, maxBatch: Int, empty: [Int], _ body: (Tensor) -> Tensor) -> Tensor {
        precondition(maxBatch > 0, "maxBatch must be positive")
        let b = pixels.shape[0]
        if b == 0 { return Tensor(zeros: empty) }
        let parts = stride(from: 0, to: b, by: maxBatch).map { start in
            body(pixels.sliced(dim: 0, range: start..<min(start + maxBatch, b)))
        }
        return parts.count == 1 ? parts[0] : Tensor.concatenate(parts, dim: 0)
    }

    /// hidden_states[0]: patches, class token and positions through `ln_pre`, (B, 1 + P, C).
    private func embeddings(_ pixels: Variable) -> Variable {
        let b = pixels.shape[0]
        let patches = patchEmbedding(pixels)  // (B, C, G, G)
        let n = patches.shape[2] * patches.shape[3]
        let tokens = Variable.transpose(Variable.reshape(patches, [b, width, n]), 1, 2)  // (B, P, C)
        let cls = Variable.broadcast(Variable.reshape(classEmbedding, [1, 1, width]), to: [b, 1, width])
        return preNorm(Variable.concatenate([cls, tokens], dim: 1) + positionalEmbedding)  // (B, 1 + P, C)
    }

    private func states(_ pixels: Variable, blocks k: Int, _ applyNorm: Bool) -> Tensor {
        var x = embeddings(pixels)
        for block in transformer.blocks.prefix(k) { x = block(x, causal: false) }
        return (applyNorm ? postNorm(x) : x).value
    }
}
