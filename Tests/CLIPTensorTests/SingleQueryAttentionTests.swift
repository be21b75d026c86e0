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

    /// Random inputs and weights for `attend`, sequences (B, N, D) with H heads.
    struct Problem {
        let x: Tensor, query: Tensor, keys: Tensor, wv: Tensor, bv: Tensor, heads: Int
        init(batch: Int, rows: Int, width: Int, heads: Int, seed: UInt64) {
            var g = SeededGenerator(seed: seed)
            x = Tensor.random([batch, rows, width], using: &g)
            query = Tensor.random([batch, width], using: &g)
            keys = SingleQueryAttention.keysByHead(Tensor.random([width, width], using: &g), heads: heads)
            (wv, bv, self.heads) = (Tensor.random([width, width], using: &g), Tensor.random([width], using: &g), heads)
        }
        /// The given sequences alone, or the whole batch.
        func attend(sequences: Range<Int>? = nil) -> Tensor {
            let pick = { (t: Tensor) in sequences.map { t.sliced(dim: 0, range: $0).contiguous() } ?? t }
            return SingleQueryAttention.attend(
                query: pick(query), x: pick(x), keysByHead: keys, valueWeight: wv, valueBias: bv, heads: heads)
        }
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
        let p = Problem(batch: 6, rows: 12, width: 32, heads: 4, seed: 52)
        let batch = p.attend()
        for i in 0..<p.query.shape[0] {
            let alone = p.attend(sequences: i..<(i + 1))
            #expect(batch.sliced(dim: 0, range: i..<(i + 1)).contiguous().scalars == alone.scalars, "sequence \(i)")
        }
    }

    @Test func everyISAPathGivesTheSameBits() throws {
        try #require(SingleQueryAttention.isAvailable, "the packed GEMM runs on this CI machine")
        let p = Problem(batch: 3, rows: 20, width: 48, heads: 3, seed: 53)
        let results = (0...PackedGEMM.level).map { level in PackedGEMM.withLevel(level) { p.attend().scalars } }
        for level in results.indices.dropFirst() { #expect(results[level] == results[0], "level \(level) vs 0") }
    }
}

extension SingleQueryAttentionTests {
    /// Wk read in place from an fp16 checkpoint is regrouped from the fp16 values: the same
    /// values as from the widened weight, the storage left unwidened (no Float32 copy of the
    /// whole weight kept), and a NaN among them reported to the storage.
    @Test func keysByHeadFromFp16LeavesTheWeightUnwidened() {
        var g = SeededGenerator(seed: 41)
        let (d, heads) = (48, 4)
        var bits = Tensor.random([d, d], using: &g).scalars.map { HalfPrecision.halfBits(from: $0) }
        let widened = Tensor(shape: [d, d], scalars: bits.map { HalfPrecision.float(fromHalfBits: $0) })
        let expected = SingleQueryAttention.keysByHead(widened, heads: heads)
        for nan in [false, true] {
            if nan { bits[d * 17 + 5] = 0x7E00 }
            let pointer = UnsafeMutablePointer<UInt16>.allocate(capacity: bits.count)
            pointer.initialize(from: bits, count: bits.count)
            defer { pointer.deallocate() }
            let owner = NSObjectOwner()
            let half = Tensor(borrowingHalf: pointer, shape: [d, d], owner: owner)
            let keys = SingleQueryAttention.keysByHead(half, heads: heads)
            #expect(!half.storage.isWidened)
            #expect(half.storage.hasReadNonFinite == nan)
            #expect(keys.shape == expected.shape)
            if !nan { #expect(keys.scalars.map(\.bitPattern) == expected.scalars.map(\.bitPattern)) }
            withExtendedLifetime(half) {}
        }
    }
}

/// An owner object for borrowed test memory (the test frees the memory itself).
private final class NSObjectOwner {}
