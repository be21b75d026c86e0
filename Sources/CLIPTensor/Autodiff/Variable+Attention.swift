// Differentiable scaled dot-product attention (kernels: Kernels/Attention.swift).

extension Variable {
    /// softmax(Q Kᵀ / √D + mask) V per head; q (B, Tq, C), k and v (B, Tk, C).
    public static func attention(q: Variable, k: Variable, v: Variable, heads: Int, causal: Bool) -> Variable {
        let (qv, kv, vv) = (q.value, k.value, v.value)
        let y = Tensor.scaledDotProductAttention(q: qv, k: kv, v: vv, heads: heads, causal: causal)
        return record(y, [q, k, v]) { g in
            let r = Tensor.scaledDotProductAttentionBackward(q: qv, k: kv, v: vv, g: g, heads: heads, causal: causal)
            return [r.dq, r.dk, r.dv]
        }
    }

    /// Self-attention on a fused projection qkv (B, T, 3C) = [q | k | v] → (B, T, C). The same
    /// as `attention` on three column slices, but the gradient is written as one (B, T, 3C)
    /// tensor instead of three zero-filled slice gradients added together.
    public static func selfAttention(_ qkv: Variable, heads: Int, causal: Bool) -> Variable {
        let value = qkv.value
        precondition(value.rank == 3 && value.shape[2] % 3 == 0, "selfAttention needs (B, T, 3C), got \(value.shape)")
        let c = value.shape[2] / 3
        // P (B, H, T, T) is kept for the backward pass only when training and small.
        let (y, probabilities) = Tensor.scaledDotProductAttention(
            q: value.sliced(dim: 2, range: 0..<c), k: value.sliced(dim: 2, range: c..<(2 * c)),
            v: value.sliced(dim: 2, range: (2 * c)..<(3 * c)), heads: heads, causal: causal,
            keepProbabilities: qkv.requiresGrad)
        return record(y, [qkv]) { g in
            [Tensor.selfAttentionBackward(qkv: value, g: g, heads: heads, causal: causal, probabilities: probabilities)]
        }
    }

    /// Causal self-attention over packed sequences (inference only: nothing is recorded):
    /// qkv (1, N, 3C) holds sequences back to back in the row ranges `segments` → (1, N, C),
    /// each row attending within its own sequence (``Tensor/causalSelfAttention(packed:heads:segments:)``).
    public static func causalSelfAttention(packed qkv: Variable, heads: Int, segments: [Range<Int>]) -> Variable {
        precondition(!qkv.requiresGrad, "packed sequences are for inference: no gradient flows through them")
        return Variable(Tensor.causalSelfAttention(packed: qkv.value, heads: heads, segments: segments))
    }
}
