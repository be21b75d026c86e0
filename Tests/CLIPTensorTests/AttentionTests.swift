import CLIPTensor
import CLIPTestSupport
import Testing

@Suite struct AttentionTests {
    @Test(arguments: [
        (1, 5, 5, 8, 2, false), (2, 7, 7, 12, 3, true), (3, 1, 9, 16, 4, false), (2, 4, 6, 8, 1, true),
        (4, 77, 77, 64, 8, true), (2, 50, 50, 128, 2, false), (1, 70, 45, 96, 3, false),
    ])
    func attentionMatchesReference(b: Int, tq: Int, tk: Int, c: Int, heads: Int, causal: Bool) {
        var g = SeededGenerator(seed: UInt64(b * 100 + tq + tk))
        let q = Tensor.random([b, tq, c], using: &g), k = Tensor.random([b, tk, c], using: &g),
            v = Tensor.random([b, tk, c], using: &g)
        let y = Tensor.scaledDotProductAttention(q: q, k: k, v: v, heads: heads, causal: causal)
        let diff = Closeness(y.scalars, Naive.attention(q: q, k: k, v: v, heads: heads, causal: causal))
        #expect(diff.within(absolute: 1e-5), "B\(b) Tq\(tq) Tk\(tk) C\(c) H\(heads) causal \(causal): \(diff)")
    }

    @Test func attentionOnFusedQKVViews() {
        // q, k, v as column slices of one (B, T, 3C) projection: strided rows, no copy needed.
        var g = SeededGenerator(seed: 31)
        let qkv = Tensor.random([2, 6, 24], using: &g)
        let q = qkv.sliced(dim: 2, range: 0..<8), k = qkv.sliced(dim: 2, range: 8..<16),
            v = qkv.sliced(dim: 2, range: 16..<24)
        let y = Tensor.scaledDotProductAttention(q: q, k: k, v: v, heads: 2, causal: true)
        let diff = Closeness(y.scalars, Naive.attention(q: q, k: k, v: v, heads: 2, causal: true))
        #expect(diff.within(absolute: 1e-5), "\(diff)")
        // A transposed (column-strided) view takes the copying path and agrees too.
        let qt = Tensor.random([2, 8, 6], using: &g).transposed(1, 2)
        let y2 = Tensor.scaledDotProductAttention(q: qt, k: k, v: v, heads: 2)
        #expect(
            Closeness(y2.scalars, Naive.attention(q: qt, k: k, v: v, heads: 2, causal: false)).within(absolute: 1e-5))
    }

    /// Sequences packed back to back attend within themselves only: each segment of the packed
    /// result equals that sequence run alone (bit for bit: the row-wise causal kernel computes a
    /// row from the rows before it), and the naive reference agrees.
    @Test func packedSequencesAttendWithinThemselves() {
        var g = SeededGenerator(seed: 47)
        let (c, heads) = (16, 4)
        let lengths = [3, 1, 7, 5]
        let segments = lengths.indices.map { i in
            let start = lengths[..<i].reduce(0, +)
            return start..<(start + lengths[i])
        }
        let qkv = Tensor.random([1, lengths.reduce(0, +), 3 * c], using: &g)  // (1, N, 3C)
        let packed = Tensor.causalSelfAttention(packed: qkv, heads: heads, segments: segments)  // (1, N, C)
        var worst = 0.0
        for segment in segments {
            let alone = qkv.sliced(dim: 1, range: segment)  // (1, L, 3C)
            let q = alone.sliced(dim: 2, range: 0..<c), k = alone.sliced(dim: 2, range: c..<(2 * c)),
                v = alone.sliced(dim: 2, range: (2 * c)..<(3 * c))
            let expected = Tensor.scaledDotProductAttention(q: q, k: k, v: v, heads: heads, causal: true)
            let got = packed.sliced(dim: 1, range: segment).contiguous()
            #expect(got.scalars == expected.scalars, "segment \(segment)")
            let diff = Closeness(got.scalars, Naive.attention(q: q, k: k, v: v, heads: heads, causal: true))
            worst = max(worst, diff.maxAbsoluteDifference)
            #expect(diff.within(absolute: 1e-5), "segment \(segment): \(diff)")
        }
        print("packed attention vs naive per sequence: max |diff| \(worst)")
        // Attending across segments (one sequence of all rows) must differ from the packed rows.
        let across = Tensor.causalSelfAttention(packed: qkv, heads: heads, segments: [0..<qkv.shape[1]])
        #expect(across.scalars != packed.scalars)
    }
}
