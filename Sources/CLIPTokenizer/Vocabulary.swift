import CZlib
import Foundation

// Follows SimpleTokenizer.__init__ in openai/CLIP clip/simple_tokenizer.py (clip-anytorch 2.6.0)
// for the bundled merges, and the vocab.json + merges.txt layout of Hugging Face CLIPTokenizer.

/// Token strings, ids and merges: everything the tokenizer knows about its vocabulary.
struct Vocabulary: Sendable {
    /// SimpleTokenizer uses the first 49152 - 256 - 2 merges of the bundled file.
    static let bundledMergeCount = 49_152 - 256 - 2

    /// id -> token string (nil for an id no string maps to, as in Python's inverted dict).
    let tokens: [String?]
    /// id -> the bytes it decodes to (the token string through the byte decoder).
    let tokenBytes: [[UInt8]?]
    /// Byte value -> id of its symbol inside a word, and at the end of a word (`</w>` appended).
    let byteSymbol: [Int32]
    let byteEndSymbol: [Int32]
    let startOfText: Int32
    let endOfText: Int32
    let merger: BytePairMerger

    /// Builds the tables from an encoder (string -> id) and the merges in rank order.
    ///
    /// Swift compares `String` keys by canonical equivalence where Python compares code points;
    /// that makes no difference here because token strings are spelled with the byte encoder's
    /// alphabet (U+0021 ... U+0143), in which no two distinct sequences are canonically equivalent
    /// (the combining marks U+0300 ... that precomposed letters decompose into are not in it).
    init(encoder: [String: Int], merges: [(String, String)], file: String) throws {
        func id(_ s: String) throws -> Int32 {
            guard let v = encoder[s] else {
                throw TokenizerError.invalidVocabulary(file: file, reason: "no id for the token \(s.debugDescription)")
            }
            return Int32(v)
        }
        let size = (encoder.values.max() ?? -1) + 1
        // Ids index an array: refuse a sparse file that would make it huge.
        guard size <= 2 * encoder.count + 1024 else {
            throw TokenizerError.invalidVocabulary(
                file: file, reason: "ids go up to \(size - 1) for \(encoder.count) tokens")
        }
        var tokens = [String?](repeating: nil, count: size)
        for (s, v) in encoder {
            guard v >= 0 else { throw TokenizerError.invalidVocabulary(file: file, reason: "negative id \(v)") }
            tokens[v] = s
        }
        self.tokens = tokens
        self.tokenBytes = tokens.map { token in
            guard let token else { return nil }
            var bytes: [UInt8] = []
            for scalar in token.unicodeScalars {
                guard let b = ByteEncoder.bytes[scalar.value] else { return nil }
                bytes.append(b)
            }
            return bytes
        }
        byteSymbol = try (0..<256).map { try id(ByteEncoder.symbol(UInt8($0))) }
        byteEndSymbol = try (0..<256).map { try id(ByteEncoder.symbol(UInt8($0)) + "</w>") }
        startOfText = try id("<|startoftext|>")
        endOfText = try id("<|endoftext|>")
        merger = BytePairMerger(merges: try merges.map { (try id($0.0), try id($0.1), try id($0.0 + $0.1)) })
    }

    /// OpenAI's `bpe_simple_vocab_16e6.txt.gz` content (or any file laid out like it).
    init(openAIMerges data: Data, file: String) throws {
        let text = try Self.utf8(try Self.gunzipIfNeeded(data, file: file), file: file)
        // Line 0 is a header; SimpleTokenizer keeps lines 1 ... 48894 (of 262,145: stop there).
        var lines: [Substring] = []
        var rest = text[...]
        while lines.count <= Self.bundledMergeCount, !rest.isEmpty {
            guard let newline = rest.utf8.firstIndex(of: UInt8(ascii: "\n")) else {
                lines.append(rest)
                break
            }
            lines.append(rest[..<newline])
            rest = rest[rest.utf8.index(after: newline)...]
        }
        let merges = try lines.dropFirst().map { try Self.pair($0, file: file) }
        var vocab = ByteEncoder.vocabularyOrder.map { ByteEncoder.symbol($0) }
        vocab += vocab.map { $0 + "</w>" }
        vocab += merges.map { $0.0 + $0.1 }
        vocab += ["<|startoftext|>", "<|endoftext|>"]
        // dict(zip(vocab, range)): a repeated string keeps its last id.
        var encoder: [String: Int] = [:]
        encoder.reserveCapacity(vocab.count)  // no rehashing while 49,408 tokens go in (startup time)
        for (i, s) in vocab.enumerated() { encoder[s] = i }
        try self.init(encoder: encoder, merges: merges, file: file)
    }

    /// A Hugging Face CLIP tokenizer: `vocab.json` (token -> id) and `merges.txt`
    /// ("#version" header, then one "left right" merge per line, in rank order).
    init(huggingFaceVocabulary vocabData: Data, merges mergesData: Data, vocabFile: String, mergesFile: String) throws {
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: vocabData)
        } catch {
            throw TokenizerError.invalidVocabulary(file: vocabFile, reason: "not JSON (\(error.localizedDescription))")
        }
        guard let object = json as? [String: Any] else {
            throw TokenizerError.invalidVocabulary(file: vocabFile, reason: "expected a JSON object of token -> id")
        }
        var encoder: [String: Int] = [:]
        for (token, value) in object {
            guard let id = value as? Int else {
                throw TokenizerError.invalidVocabulary(
                    file: vocabFile, reason: "the id of \(token.debugDescription) is not an integer")
            }
            encoder[token] = id
        }
        let text = try Self.utf8(mergesData, file: mergesFile)
        let merges = try text.split(separator: "\n", omittingEmptySubsequences: true)
            .filter { !$0.hasPrefix("#version") && !$0.allSatisfy(\.isWhitespace) }
            .map { try Self.pair($0, file: mergesFile) }
        try self.init(encoder: encoder, merges: merges, file: vocabFile)
    }

    private static func pair(_ line: Substring, file: String) throws -> (String, String) {
        // Split on the UTF-8 bytes: Substring.split compares grapheme clusters, which is slow here.
        var body = line
        if body.utf8.last == UInt8(ascii: "\r") { body = body.dropLast() }  // Windows line ends
        guard let space = body.utf8.firstIndex(of: UInt8(ascii: " ")),
            space != body.startIndex, body.utf8.index(after: space) != body.endIndex,
            !body[body.utf8.index(after: space)...].utf8.contains(UInt8(ascii: " "))
        else {
            throw TokenizerError.invalidVocabulary(
                file: file, reason: "merge line \(String(line).debugDescription) is not two symbols")
        }
        return (String(body[..<space]), String(body[body.utf8.index(after: space)...]))
    }

    private static func utf8(_ data: Data, file: String) throws -> String {
        do {
            return try UTF8Input.decode(data)
        } catch TokenizerError.invalidUTF8(let offset) {
            throw TokenizerError.invalidVocabulary(file: file, reason: "not UTF-8 at byte offset \(offset)")
        }
    }

    /// Inflates gzip data (magic 1f 8b); other data is returned as is.
    static func gunzipIfNeeded(_ data: Data, file: String) throws -> Data {
        guard data.count >= 2, data[data.startIndex] == 0x1F, data[data.startIndex + 1] == 0x8B else { return data }
        var out: UnsafeMutablePointer<UInt8>?
        var length = 0
        let rc = data.withUnsafeBytes { raw in
            clip_gunzip(raw.bindMemory(to: UInt8.self).baseAddress, raw.count, &out, &length)
        }
        guard rc == 0, let out else {
            throw TokenizerError.invalidVocabulary(file: file, reason: "gzip data is corrupt (zlib error \(rc))")
        }
        defer { free(out) }
        return Data(bytes: out, count: length)
    }
}
