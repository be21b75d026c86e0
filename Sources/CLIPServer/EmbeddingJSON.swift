import Foundation
import Hummingbird

/// Hand-written JSON for the answers that carry many floats (`/v1/embeddings`, `/embed`).
///
/// `JSONEncoder` spent about 3.5 ms on one 512-float answer here (a container per value), as
/// long as ViT-B/32 takes to embed a short text on one core; this writes the same JSON (sorted
/// keys, each float as its shortest round-trip spelling, `Float.description`, as `clip embed`
/// prints) in about a fifth of that. A non-finite value is written `null`, as `clip embed` does.
enum EmbeddingJSON {
    /// `{"data": [{"embedding", "index", "object"}], "model", "object": "list", "usage"}`.
    static func encode(_ response: EmbeddingsResponse) -> ByteBuffer {
        var out = "{\"data\":["
        out.reserveCapacity(64 + response.data.count * ((response.data.first.map(width) ?? 0) * 12 + 48))
        for (i, item) in response.data.enumerated() {
            if i > 0 { out += "," }
            out += "{\"embedding\":"
            switch item.embedding {
            case .float(let row): append(row, to: &out)
            case .base64(let text): out += "\"" + text + "\""  // base64 needs no escaping
            }
            out += ",\"index\":\(item.index),\"object\":\"embedding\"}"
        }
        out += "],\"model\":" + string(response.model) + ",\"object\":\"list\",\"usage\":{\"prompt_tokens\":"
        out += "\(response.usage.promptTokens),\"total_tokens\":\(response.usage.totalTokens)}}"
        return ByteBuffer(string: out)
    }

    /// `[[f32]]` (text-embeddings-inference's `/embed`).
    static func encode(rows: [[Float]]) -> ByteBuffer {
        var out = "["
        out.reserveCapacity(2 + rows.count * ((rows.first?.count ?? 0) * 12 + 2))
        for (i, row) in rows.enumerated() {
            if i > 0 { out += "," }
            append(row, to: &out)
        }
        out += "]"
        return ByteBuffer(string: out)
    }

    static func append(_ row: [Float], to out: inout String) {
        out += "["
        for (i, value) in row.enumerated() {
            if i > 0 { out += "," }
            out += value.isFinite ? value.description : "null"
        }
        out += "]"
    }

    private static func width(_ item: EmbeddingsResponse.Item) -> Int {
        if case .float(let row) = item.embedding { return row.count }
        return 0
    }

    /// A JSON string literal (escaped by Foundation).
    static func string(_ text: String) -> String {
        guard
            let data = try? JSONSerialization.data(
                withJSONObject: text, options: [.fragmentsAllowed, .withoutEscapingSlashes])
        else { return "\"\"" }
        return String(decoding: data, as: UTF8.self)
    }
}
