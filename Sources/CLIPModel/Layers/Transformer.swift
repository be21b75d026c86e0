import CLIPTensor

// OpenAI clip/model.py ResidualAttentionBlock and Transformer (pre-LN), batch-first here.
// Symbols: B batch, T tokens, C width, H heads.

/// `nn.MultiheadAttention` with a fused (3C, C) input projection, as stored by PyTorch.
public struct MultiheadAttention: Sendable {
    public var inProjection: Linear  // (3C, C): q, k, v stacked
    public var outProjection: Linear  // (C, C)
    public var heads: Int

    public init(_ store: ParameterStore, _ prefix: String, width: Int, heads: Int) throws {
        inProjection = Linear(
            weight: try store.parameter("\(prefix).in_proj_weight", shape: [3 * width, width]),
            bias: try store.parameter("\(prefix).in_proj_bias", shape: [3 * width]))
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
}

/// x + attn(ln_1(x)), then x + mlp(ln_2(x)); the MLP is c_fc → activation → c_proj.
public struct ResidualAttentionBlock: Sendable {
    public var attention: MultiheadAttention
    public var norm1: LayerNorm
    public var fc: Linear  // (4C, C)
    public var projection: Linear  // (C, 4C)
    public var norm2: LayerNorm
    public var activation: Activation

    public init(_ store: ParameterStore, _ prefix: String, width: Int, heads: Int, activation: Activation) throws {
        attention = try MultiheadAttention(store, "\(prefix).attn", width: width, heads: heads)
        norm1 = try LayerNorm(store, "\(prefix).ln_1", width: width)
        fc = try Linear(store, "\(prefix).mlp.c_fc", input: width, output: 4 * width)
        projection = try Linear(store, "\(prefix).mlp.c_proj", input: 4 * width, output: width)
        norm2 = try LayerNorm(store, "\(prefix).ln_2", width: width)
        self.activation = activation
    }

    /// (B, T, C) → (B, T, C)
    public func callAsFunction(_ x: Variable, causal: Bool) -> Variable {
        let h = attention(norm1(x), causal: causal, residual: x)
        let activated = fc(norm2(h), activation: activation == .quickGELU ? .quickGELU : .gelu)  // (B, T, 4C)
        return projection(activated, activation: .none, residual: h)
    }
}

/// A stack of residual attention blocks (`<prefix>.resblocks.<i>`).
public struct Transformer: Sendable {
    public var blocks: [ResidualAttentionBlock]

    public init(_ store: ParameterStore, _ prefix: String, width: Int, layers: Int, heads: Int, activation: Activation)
        throws
    {
        blocks = try (0..<layers).map {
            try ResidualAttentionBlock(
                store, "\(prefix).resblocks.\($0)", width: width, heads: heads, activation: activation)
        }
    }

    /// (B, T, C) → (B, T, C)
    public func callAsFunction(_ x: Variable, causal: Bool) -> Variable {
        blocks.reduce(x) { $1($0, causal: causal) }
    }
}
