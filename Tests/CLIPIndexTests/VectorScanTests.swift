import Foundation
import Testing

@testable import CLIPIndex

/// The SIMD top-k scan against a plain sort of every dot product.
@Suite struct VectorScanTests {
    static func random(_ n: Int, _ seed: UInt64) -> [Float] {
        var state = seed
        return (0..<n).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int64(bitPattern: state >> 11) % 2001 - 1000) / 1000
        }
    }

    @Test(arguments: [
        (rows: 1, dim: 3, k: 5, type: VectorType.float32),
        (rows: 1000, dim: 37, k: 10, type: VectorType.float32),
        (rows: 3000, dim: 512, k: 7, type: VectorType.float32),
        (rows: 10000, dim: 64, k: 3, type: VectorType.float16),
    ])
    func topKMatchesBruteForce(rows: Int, dim: Int, k: Int, type: VectorType) throws {
        let values = Self.random(rows * dim, UInt64(rows + dim))
        let matrix = VectorMatrix(
            ids: (0..<Int64(rows)).map { $0 * 3 }, rows: type.encode(values), dimension: dim, vectorType: type)
        let query = Self.random(dim, 99)
        let stored = type == .float16 ? values.map { Float(Float16($0)) } : values
        var expected: [(id: Int64, score: Float)] = []
        for r in 0..<rows {
            var score: Float = 0
            for j in 0..<dim { score += query[j] * stored[r * dim + j] }
            expected.append((Int64(r * 3), score))
        }
        expected.sort { $0.score > $1.score || ($0.score == $1.score && $0.id < $1.id) }
        expected = Array(expected.prefix(k))
        let found = try matrix.nearest(to: query, k: k)
        var maxDiff: Float = 0
        for (a, b) in zip(found, expected) { maxDiff = max(maxDiff, abs(a.score - b.score)) }
        print("top-\(k) of \(rows)x\(dim) \(type): max score difference \(maxDiff) (tolerance 1e-5 per dimension)")
        #expect(found.map { $0.id } == expected.map { $0.id })
        #expect(maxDiff <= 1e-5 * Float(dim))
    }

    @Test func thresholdAndFilter() throws {
        let matrix = VectorMatrix(
            ids: [10, 20, 30], rows: VectorType.float32.encode([1, 0, 0.6, 0.8, 0, 1]), dimension: 2,
            vectorType: .float32)
        #expect(try matrix.nearest(to: [1, 0], k: 3, threshold: 0.5).map(\.id) == [10, 20])
        #expect(try matrix.nearest(to: [1, 0], k: 3, allowed: { $0 != 10 }).map(\.id) == [20, 30])
        #expect(throws: IndexError.self) { try matrix.nearest(to: [1, 0, 0], k: 1) }
        // A k far beyond the stored vectors (`clip search --top 99999999999`) returns them all
        // (it allocated k slots per task and aborted before).
        #expect(try matrix.nearest(to: [1, 0], k: 99_999_999_999).map(\.id) == [10, 20, 30])
        #expect(try matrix.nearest(to: [1, 0], k: .max).count == 3)
    }

    static let queries: [([String], [String])] = [
        (["a dog on a beach"], ["1.0 t:a dog on a beach"]),
        (["a", "dog"], ["1.0 t:a dog"]),
        (["2:cat", "+", "./img.jpg", "-", "fruit"], ["2.0 t:cat", "1.0 i:img.jpg", "-1.0 t:fruit"]),
        (["cat", "-", "0.5:/p/x.png"], ["1.0 t:cat", "-0.5 i:x.png"]),
        (["ratio 16:9"], ["1.0 t:ratio 16:9"]),
    ]

    @Test(arguments: queries)
    func parsesQueries(arguments: [String], expected: [String]) throws {
        let query = try SearchQuery(arguments: arguments)
        let described = query.terms.map { term -> String in
            switch term.subject {
            case .text(let t): "\(term.weight) t:" + t
            case .image(let u): "\(term.weight) i:" + u.lastPathComponent
            }
        }
        #expect(described == expected)
    }

    @Test(arguments: [["+"], ["cat", "+"], ["cat", "+", "-", "dog"], ["2:"]])
    func rejectsBadQueries(arguments: [String]) {
        #expect(throws: IndexError.self) { try SearchQuery(arguments: arguments) }
    }

    @Test func combinesNormalisedEmbeddings() throws {
        let query = try SearchQuery(arguments: ["2:a", "-", "b"])
        // a and b are normalised first: 2·(1, 0) − (0, 1) = (2, −1), then normalised.
        let v = try query.vector(texts: [[3, 0], [0, 5]], images: [])
        #expect(abs(v[0] - 2 / sqrt(5)) < 1e-6 && abs(v[1] + 1 / sqrt(5)) < 1e-6)
        #expect(throws: IndexError.self) {
            try SearchQuery(arguments: ["a", "-", "a"]).vector(texts: [[1, 0], [1, 0]], images: [])
        }
    }
}
