import CLIPTestSupport
import Testing

@testable import CLIPTensor

/// Attention of one query per sequence with the keys and values folded into the query and the
/// pooled rows (a ResNet's attention pool), against projecting K and V and running
/// `scaledDotProductAttention`; and each sequence's bits independent of the batch around it.
@Suite struct SingleQueryAttentionTests {
    struct Case: CustomStringConvertible, Sendable {
        var batch: Int, rows: Int, width: Int, heads: Int
        var description: String { "B\(batch) N\(rows) D\(width) H\(heads)" }
    }

    static let cases: [Case] = [
        Case(batch: 1, rows: 5, width: 16, heads: 1),
        Case(batch: 3, rows: 50, width: 64, heads: 8),  // 50 rows: two panels
        Case(batch: 2, rows: 17, width: 96, heads: 3),
        Case(batch: 20, rows: 10, width: 32, heads: 2),  // a panel of sequences plus a few
    ]

    @Test(arguments: cases) func matchesProjectedKeysAndValues(c: Case) throws {
        try #require(SingleQueryAttention.isAvailable, "the packed GEMM runs on this CI machine")
        var g = SeededGenerator(seed: 51)
        let x = Tensor.random([c.batch, c.rows, c.width], using: &g)
        let query = Tensor.random([c.batch, c.width], using: &g)
        let wk = Tensor.random([c.width, c.width], in: -0.3...0.3, using: &g)
        let bk = Tensor.random([c.width], using: &g)
        let wv = Tensor.random([c.width, c.width], in: -0.3...0.3, using: &g)
        let bv = Tensor.random([c.width], using: &g)
        let y = SingleQueryAttention.attend(
            query: query, x: x, keysByHead: SingleQueryAttention.keysByHead(wk, heads: c.heads), valueWeight: wv,
            valueBias: bv, heads: c.heads)
        let reference = Tensor.scaledDotProductAttention(
            q: query.reshaped([c.batch, 1, c.width]), k: Tensor.linear(x, weight: wk, bias: bk),
            v: Tensor.linear(x, weight: wv, bias: bv), heads: c.heads)
        #expect(y.shape == [c.batch, c.width])
        let diff = Closeness(y.scalars, reference.scalars)
        print("single-query attention \(c): max |diff| \(diff.maxAbsoluteDifference)")
        #expect(diff.within(absolute: 1e-5), "\(c): \(diff)")
    }

    @Test func eachSequenceIgnoresTheBatchAroundIt() throws {
        try #require(SingleQueryAttention.isAvailable, "the packed GEMM runs on this CI machine")
        var g = SeededGenerator(seed: 52)
        let (b, n, d, heads) = (6, 12, 32, 4)
        let x = Tensor.random([b, n, d], using: &g), query = Tensor.random([b, d], using: &g)
        let keys = SingleQueryAttention.keysByHead(Tensor.random([d, d], using: &g), heads: heads)
        let wv = Tensor.random([d, d], using: &g), bv = Tensor.random([d], using: &g)
        let batch = SingleQueryAttention.attend(
            query: query, x: x, keysByHead: keys, valueWeight: wv, valueBias: bv, heads: heads)
        for i in 0..<b {
            let alone = SingleQueryAttention.attend(
                query: query.sliced(dim: 0, range: i..<(i + 1)).contiguous(),
                x: x.sliced(dim: 0, range: i..<(i + 1)).contiguous(), keysByHead: keys, valueWeight: wv,
                valueBias: bv, heads: heads)
            #expect(batch.sliced(dim: 0, range: i..<(i + 1)).contiguous().scalars == alone.scalars, "sequence \(i)")
        }
    }

    @Test func everyISAPathGivesTheSameBits() throws {
        try #require(SingleQueryAttention.isAvailable, "the packed GEMM runs on this CI machine")
        var g = SeededGenerator(seed: 53)
        let (b, n, d, heads) = (3, 20, 48, 3)
        let x = Tensor.random([b, n, d], using: &g), query = Tensor.random([b, d], using: &g)
        let keys = SingleQueryAttention.keysByHead(Tensor.random([d, d], using: &g), heads: heads)
        let wv = Tensor.random([d, d], using: &g), bv = Tensor.random([d], using: &g)
        let results = (0...PackedGEMM.level).map { level in
            PackedGEMM.withLevel(level) {
                SingleQueryAttention.attend(
                    query: query, x: x, keysByHead: keys, valueWeight: wv, valueBias: bv, heads: heads
                ).scalars
            }
        }
        for level in results.indices.dropFirst() { #expect(results[level] == results[0], "level \(level) vs 0") }
    }
}
