import Foundation

@testable import CLIPTokenizer

/// The golden data written by scripts/reference/make_tokenizer_fixtures.py from OpenAI's
/// SimpleTokenizer (clip-anytorch 2.6.0, ftfy 6.3.1, regex 2024.11.6).
enum Fixtures {
    struct Row: Decodable {
        var text: String
        /// What the splitting pattern sees: whitespace_clean(basic_clean(text)).lower().
        var clean: String?
        /// SimpleTokenizer.encode(text).
        var ids: [Int]
        /// clip.tokenize(text, 77, truncate=True) without the zero padding.
        var tokens: [Int]?
        /// SimpleTokenizer.decode(ids).
        var decoded: String?
    }

    static func url(_ name: String) -> URL {
        Bundle.module.resourceURL!.appendingPathComponent("Fixtures").appendingPathComponent(name)
    }

    static func rows(_ name: String) throws -> [Row] {
        let data = try Vocabulary.gunzipIfNeeded(try Data(contentsOf: url(name)), file: name)
        let decoder = JSONDecoder()
        return try data.split(separator: UInt8(ascii: "\n")).map { try decoder.decode(Row.self, from: Data($0)) }
    }

    /// The whole corpus, decoded once.
    static let corpus: [Row] = (try? rows("tokens.jsonl.gz")) ?? []

    static let tokenizer: Tokenizer? = try? Tokenizer.bundled()
}

/// A short, printable excerpt of a text for failure messages.
func excerpt(_ text: String, _ limit: Int = 120) -> String {
    let head = text.count > limit ? String(text.prefix(limit)) + "…" : text
    return head.debugDescription
}
