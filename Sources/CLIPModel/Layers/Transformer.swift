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

    /// Row 0's output only, (B, T, C) → (B, C): what ``callAsFunction(_:causal:)`` gives at row 0
    /// without a mask (rounded differently), for a last block whose other rows nothing reads (a
    /// ViT pooled at its class token). Every row is still a key and a value, but only row 0 is
    /// queried, projected and passed through the MLP: 3/4 of the block's multiply-adds per other
    /// row are skipped. With `keysByHead` (``SingleQueryAttention/keysByHead(_:heads:)`` of Wk,
    /// float weights on the packed GEMM) the keys and values are never formed either, so almost
    /// the whole block goes (ViT-B/32: 1/12 of the tower). An int8 block keeps its int8 keys and
    /// values, so an int8 file and quantising at load still give the same bits.
    func firstRowOutput(_ x: Variable, keysByHead: Tensor?) -> Variable {
        let (b, c) = (x.shape[0], x.shape[2])
        let normed = norm1(x)  // (B, T, C)
        let input = attention.inProjection
        let attended: Variable  // (B, C)
        if let keysByHead, SingleQueryAttention.isAvailable, input.int8 == nil {
            let (w, bias) = (input.weight.value, input.bias?.value)  // (3C, C), (3C)
            let queryProjection = Linear(
                weight: Variable(w.sliced(dim: 0, range: 0..<c)),
                bias: bias.map { Variable($0.sliced(dim: 0, range: 0..<c)) })
            let normedFirst = Variable.reshape(Variable.slice(normed, dim: 1, range: 0..<1), [b, c])  // (B, C)
            attended = Variable(
                SingleQueryAttention.attend(
                    query: queryProjection(normedFirst).value, x: normed.value, keysByHead: keysByHead,
                    valueWeight: w.sliced(dim: 0, range: (2 * c)..<(3 * c)),
                    valueBias: bias?.sliced(dim: 0, range: (2 * c)..<(3 * c)), heads: attention.heads))
        } else {
            let qkv = input(normed)  // (B, T, 3C)
            let query = Variable.slice(Variable.slice(qkv, dim: 1, range: 0..<1), dim: 2, range: 0..<c)  // (B, 1, C)
            let keys = Variable.slice(qkv, dim: 2, range: c..<(2 * c)),
                values = Variable.slice(qkv, dim: 2, range: (2 * c)..<(3 * c))
            attended = Variable.reshape(
                Variable.attention(q: query, k: keys, v: values, heads: attention.heads, causal: false), [b, c])
        }
        let first = Variable.reshape(Variable.slice(x, dim: 1, range: 0..<1), [b, c])  // (B, C)
        return mlp(attention.outProjection(attended, activation: .none, residual: first))
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

    /// Row 0 after blocks 1 … k, (B, T, C) → (B, C): blocks 1 … k − 1 in full, block k on row 0
    /// only (``ResidualAttentionBlock/firstRowOutput(_:keysByHead:)``, inference), its keys
    /// folded into the query when `keys` were made from block k's weight.
    func firstRowOutput(_ x: Variable, blocks k: Int, keys: ClassTokenKeys?) -> Variable {
        precondition(k >= 1 && k <= blocks.count, "firstRowOutput: block \(k) of \(blocks.count)")
        var x = x
        for block in blocks.prefix(k - 1) { x = block(x, causal: false) }
        let last = blocks[k - 1]
        return last.firstRowOutput(x, keysByHead: keys.flatMap { $0.belong(to: last) ? $0.byHead : nil })
    }

    /// Packed causal sequences (inference): (1, N, C) → (1, N, C); `segments` are the row
    /// ranges of the sequences, each attending within itself.
    public func callAsFunction(packed x: Variable, segments: [Range<Int>]) -> Variable {
        blocks.reduce(x) { $1(packed: $0, segments: segments) }
    }

    /// Whether any weight requires gradients (false for a model loaded for inference).
    public var requiresGrad: Bool { blocks.contains { $0.requiresGrad } }
}
