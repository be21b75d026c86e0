import CLIPTensor

// OpenAI clip/model.py ResidualAttentionBlock and Transformer (pre-LN), batch-first here.
// Symbols: B batch, T tokens, C width, H heads.

/// `nn.MultiheadAttention` with a fused (3C, C) input projection, as stored by PyTorch.
public struct MultiheadAttention: Sendable {
    public var inProjection: Linear  // (3C, C): q, k, v stacked
    public var outProjection: Linear  // (C, C)
    public var heads: Int

    public init(_ store: ParameterStore, _ prefix: String, width: Int, heads: Int) throws {
        inProjection = try Linear(
            store, weightKey: "\(prefix).in_proj_weight", biasKey: "\(prefix).in_proj_bias", input: width,
            output: 3 * width)
        outProjection = try Linear(store, "\(prefix).out_proj", input: width, output: width)
        self.heads = heads
    }

    /// Self-attention: (B, T, C) → (B, T, C), plus `residual` (B, T, C) when given (added in
    /// the output projection's epilogue at inference).
    public func callAsFunction(_ x: Variable, causal: Bool, residual: Variable? = nil) -> Variable {
        let qkv = inProjection(x)  // (B, T, 3C) = [q | k | v]
        let attended = Variable.selfAttention(qkv, heads: heads, causal: causal)  // (B, T, C)
        return outProjection(attended, activation: .none, residual: residual)  // (B, T, C)
    }

    /// Causal self-attention over packed sequences (inference): x (1, N, C) holds sequences
    /// back to back in the row ranges `segments`, each attending within itself → (1, N, C).
    public func callAsFunction(packed x: Variable, segments: [Range<Int>], residual: Variable? = nil) -> Variable {
        let qkv = inProjection(x)  // (1, N, 3C)
        let attended = Variable.causalSelfAttention(packed: qkv, heads: heads, segments: segments)  // (1, N, C)
        return outProjection(attended, activation: .none, residual: residual)  // (1, N, C)
    }

    /// Whether any weight requires gradients.
    var requiresGrad: Bool { inProjection.requiresGrad || outProjection.requiresGrad }
}

/// x + attn(ln_1(x)), then x + mlp(ln_2(x)); the MLP is c_fc → activation → c_proj, M wide
/// (4C in OpenAI's models; open_clip's `mlp_ratio` · C, e.g. 8192 for ViT-bigG-14's width 1664).
public struct ResidualAttentionBlock: Sendable {
    public var attention: MultiheadAttention
    public var norm1: LayerNorm
    public var fc: Linear  // (M, C)
    public var projection: Linear  // (C, M)
    public var norm2: LayerNorm
    public var activation: Activation

    /// `mlpWidth` M: nil for 4C.
    public init(
        _ store: ParameterStore, _ prefix: String, width: Int, heads: Int, activation: Activation, mlpWidth: Int? = nil
    ) throws {
        let m = mlpWidth ?? 4 * width
        attention = try MultiheadAttention(store, "\(prefix).attn", width: width, heads: heads)
        norm1 = try LayerNorm(store, "\(prefix).ln_1", width: width)
        fc = try Linear(store, "\(prefix).mlp.c_fc", input: width, output: m)
        projection = try Linear(store, "\(prefix).mlp.c_proj", input: m, output: width)
        norm2 = try LayerNorm(store, "\(prefix).ln_2", width: width)
        self.activation = activation
    }

    /// (B, T, C) → (B, T, C)
    public func callAsFunction(_ x: Variable, causal: Bool) -> Variable {
        mlp(attention(norm1(x), causal: causal, residual: x))
    }

    /// Packed causal sequences (inference): (1, N, C) → (1, N, C), see
    /// ``MultiheadAttention/callAsFunction(packed:segments:residual:)``.
    public func callAsFunction(packed x: Variable, segments: [Range<Int>]) -> Variable {
        mlp(attention(packed: norm1(x), segments: segments, residual: x))
    }

    /// h + mlp(ln_2(h)): (…, C) → (…, C); every row on its own.
    private func mlp(_ h: Variable) -> Variable {
        let activated = fc(norm2(h), activation: activation == .quickGELU ? .quickGELU : .gelu)  // (…, M)
        return projection(activated, activation: .none, residual: h)
    }

    /// Whether any weight requires gradients.
    var requiresGrad: Bool {
        attention.requiresGrad || fc.requiresGrad || projection.requiresGrad || norm1.requiresGrad
            || norm2.requiresGrad
    }
}

/// A stack of residual attention blocks (`<prefix>.resblocks.<i>`).
public struct Transformer: Sendable {
    public var blocks: [ResidualAttentionBlock]

    /// `mlpWidth`: each block's MLP width, nil for 4 × `width`.
    public init(
        _ store: ParameterStore, _ prefix: String, width: Int, layers: Int, heads: Int, activation: Activation,
        mlpWidth: Int? = nil
    ) throws {
        blocks = try (0..<layers).map {
            try ResidualAttentionBlock(
                store, "\(prefix).resblocks.\($0)", width: width, heads: heads, activation: activation,
                mlpWidth: mlpWidth)
        }
    }

    /// (B, T, C) → (B, T, C)
    public func callAsFunction(_ x: Variable, causal: Bool) -> Variable {
        blocks.reduce(x) { $1($0, causal: causal) }
    }

    /// Packed causal sequences (inference): (1, N, C) → (1, N, C); `segments` are the row
    /// ranges of the sequences, each attending within itself.
    public func callAsFunction(packed x: Variable, segments: [Range<Int>]) -> Variable {
        blocks.reduce(x) { $1(packed: $0, segments: segments) }
    }

    /// Whether any weight requires gradients (false for a model loaded for inference).
    public var requiresGrad: Bool { blocks.contains { $0.requiresGrad } }
}
