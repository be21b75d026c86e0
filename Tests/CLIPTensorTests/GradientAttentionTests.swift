import CLIPTensor
import CLIPTestSupport
import Testing

// Gradients of scaled dot-product attention (causal and not, Tq ≠ Tk, one and several heads,
// batch 1 and > 1, strided q/k/v from a fused projection) against finite differences
// (Autodiff/Variable+Attention.swift, Kernels/Attention.swift).

@Suite struct GradientAttentionTests {
    static func attention(
        _ name: String, b: Int, tq: Int, tk: Int, c: Int, heads: Int, causal: Bool,
        using g: inout SeededGenerator
    ) -> GradientCase {
        GradientCase(
            name,
            [
                Tensor.random([b, tq, c], in: -2...2, using: &g), Tensor.random([b, tk, c], in: -2...2, using: &g),
                Tensor.random([b, tk, c], using: &g),
            ],
            op: { v in Variable.attention(q: v[0], k: v[1], v: v[2], heads: heads, causal: causal) },
            reference: { d in Ref.attention(q: d[0], k: d[1], v: d[2], heads: heads, causal: causal) })
    }

    static let cases: [GradientCase] = {
        var g = SeededGenerator(seed: 505)
        var cases = [
            attention("B=1 T=5 C=6 H=2", b: 1, tq: 5, tk: 5, c: 6, heads: 2, causal: false, using: &g),
            attention("B=1 T=5 C=6 H=2 causal", b: 1, tq: 5, tk: 5, c: 6, heads: 2, causal: true, using: &g),
            attention(
                "B=2 T=7 C=9 H=3 causal (text tower)", b: 2, tq: 7, tk: 7, c: 9, heads: 3, causal: true, using: &g),
            attention(
                "B=3 Tq=1 Tk=6 C=4 H=1 (attention pooling query)", b: 3, tq: 1, tk: 6, c: 4, heads: 1, causal: false,
                using: &g),
            attention("B=2 Tq=4 Tk=6 C=6 H=3", b: 2, tq: 4, tk: 6, c: 6, heads: 3, causal: false, using: &g),
            attention(
                "B=2 Tq=3 Tk=5 C=4 H=2 causal (offset mask)", b: 2, tq: 3, tk: 5, c: 4, heads: 2, causal: true,
                using: &g),
        ]
        // Fused QKV: q, k, v are column slices of one (B, T, 3C) tensor, so the kernels see
        // strided rows and the three slice gradients accumulate into one input.
        cases.append(
            GradientCase(
                "fused QKV slices B=2 T=5 C=6 H=2 causal", [Tensor.random([2, 5, 18], using: &g)],
                op: { v in
                    let q = Variable.slice(v[0], dim: 2, range: 0..<6), k = Variable.slice(v[0], dim: 2, range: 6..<12)
                    let vv = Variable.slice(v[0], dim: 2, range: 12..<18)
                    return Variable.attention(q: q, k: k, v: vv, heads: 2, causal: true)
                },
                reference: { d in
                    Ref.attention(
                        q: Ref.slice(d[0], dim: 2, range: 0..<6), k: Ref.slice(d[0], dim: 2, range: 6..<12),
                        v: Ref.slice(d[0], dim: 2, range: 12..<18), heads: 2, causal: true)
                }))
        // selfAttention: the fused op whose gradient is one (B, T, 3C) tensor.
        for (b, t, c, heads, causal) in [(2, 5, 6, 2, true), (1, 4, 9, 3, false), (3, 1, 4, 1, true)] {
            cases.append(
                GradientCase(
                    "selfAttention on fused qkv B=\(b) T=\(t) C=\(c) H=\(heads)\(causal ? " causal" : "")",
                    [Tensor.random([b, t, 3 * c], in: -2...2, using: &g)],
                    op: { v in Variable.selfAttention(v[0], heads: heads, causal: causal) },
                    reference: { d in
                        Ref.attention(
                            q: Ref.slice(d[0], dim: 2, range: 0..<c), k: Ref.slice(d[0], dim: 2, range: c..<(2 * c)),
                            v: Ref.slice(d[0], dim: 2, range: (2 * c)..<(3 * c)), heads: heads, causal: causal)
                    }))
        }
        cases.append(
            GradientCase(
                "selfAttention on a sliced qkv view B=2 T=3 C=4 H=2", [Tensor.randomSlicedView([2, 3, 12], using: &g)],
                op: { v in Variable.selfAttention(v[0], heads: 2, causal: false) },
                reference: { d in
                    Ref.attention(
                        q: Ref.slice(d[0], dim: 2, range: 0..<4), k: Ref.slice(d[0], dim: 2, range: 4..<8),
                        v: Ref.slice(d[0], dim: 2, range: 8..<12), heads: 2, causal: false)
                }))
        cases.append(
            GradientCase(
                "transposed-view q and k, B=2 T=4 C=4 H=2",
                [
                    Tensor.randomTransposedView([2, 4, 4], using: &g),
                    Tensor.randomTransposedView([2, 4, 4], using: &g), Tensor.random([2, 4, 4], using: &g),
                ],
                op: { v in Variable.attention(q: v[0], k: v[1], v: v[2], heads: 2, causal: false) },
                reference: { d in Ref.attention(q: d[0], k: d[1], v: d[2], heads: 2, causal: false) }))
        cases.append(
            GradientCase(
                "constant k and v (cross-attention to fixed memory)",
                [
                    Tensor.random([2, 3, 4], using: &g), Tensor.random([2, 5, 4], using: &g),
                    Tensor.random([2, 5, 4], using: &g),
                ], trainable: [true, false, false],
                op: { v in Variable.attention(q: v[0], k: v[1], v: v[2], heads: 2, causal: false) },
                reference: { d in Ref.attention(q: d[0], k: d[1], v: d[2], heads: 2, causal: false) }))
        return cases
    }()

    @Test(arguments: cases) func gradient(_ c: GradientCase) { GradientCheck.expect(c) }
}
