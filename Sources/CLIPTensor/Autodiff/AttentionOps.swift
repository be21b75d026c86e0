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
}
