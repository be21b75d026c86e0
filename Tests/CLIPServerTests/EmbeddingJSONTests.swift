import Foundation
import Testing

@testable import CLIPServer

/// The hand-written JSON of `/v1/embeddings` and `/embed` says what `JSONEncoder` says (parsed,
/// both are the same objects; each float parses back to the same Float bits).
@Suite struct EmbeddingJSONTests {
    static func parsed(_ data: Data) -> NSObject? {
        (try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])) as? NSObject
    }

    @Test func sameObjectsAsJSONEncoder() throws {
        var g = SystemRandomNumberGenerator()
        let rows = (0..<3).map { r in (0..<37).map { _ in Float.random(in: -1...1, using: &g) * (r == 2 ? 1e-30 : 1) } }
        let response = EmbeddingsResponse(
            data: [
                .init(index: 0, embedding: .float(rows[0])),
                .init(index: 1, embedding: .base64(EmbeddingValue.base64(rows[1]))),
                .init(index: 2, embedding: .float(rows[2])),
            ],
            model: "/models/\"odd\" name ✓.safetensors", usage: .init(promptTokens: 12, totalTokens: 12))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        let fast = Data(EmbeddingJSON.encode(response).readableBytesView)
        #expect(Self.parsed(fast) == Self.parsed(try encoder.encode(response)))
        let tei = Data(EmbeddingJSON.encode(rows: rows).readableBytesView)
        #expect(Self.parsed(tei) == Self.parsed(try encoder.encode(rows)))
        // Every float comes back with its bits.
        let back = try JSONDecoder().decode([[Float]].self, from: tei)
        #expect(back == rows)
    }
}
