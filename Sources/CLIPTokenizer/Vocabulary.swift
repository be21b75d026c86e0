import CZlib
import Foundation

// Follows SimpleTokenizer.__init__ in openai/CLIP clip/simple_tokenizer.py (clip-anytorch 2.6.0)
// for the bundled merges, and the vocab.json + merges.txt layout of Hugging Face CLIPTokenizer.

/// Token strings, ids and merges: everything the tokenizer knows about its vocabulary.
struct Vocabulary: Sendable, Equatable {
    /// SimpleTokenizer uses the first 49152 - 256 - 2 merges of the bundled file.
    static let bundledMergeCount = 49_152 - 256 - 2

    /// The number of ids.
    let size: Int
    /// id -> the bytes it decodes to (its token string through the byte decoder).
    private let decodedBytes: TokenStrings
    /// Whether an id decodes: false for an id no string maps to (as in Python's inverted dict)
    /// and for a string outside the byte alphabet.
    private let decodes: [Bool]
    /// Byte value -> id of its symbol inside a word, and at the end of a word (`</w>` appended).
    let byteSymbol: [Int32]
    let byteEndSymbol: [Int32]
    let startOfText: Int32
    let endOfText: Int32
    let merger: BytePairMerger

    /// The bytes `id` decodes to, or nil for an id outside the vocabulary.
    func tokenBytes(_ id: Int) -> ArraySlice<UInt8>? {
        guard id >= 0, id < size, decodes[id] else { return nil }
        return decodedBytes[id]
    }

    /// Builds the tables from every id's token string (UTF-8) and the merges in rank order.
    ///
    /// - Parameters:
    ///   - strings: the token string of each id, `named[id]` false where no string maps to the id.
    ///   - id: the id of a token string (the encoder's lookup), throwing for an unknown string.
    private init(
        strings: TokenStrings, named: [Bool], merges: [(Int32, Int32, Int32)], id: (String) throws -> Int32
    ) throws {
        let size = strings.count
        self.size = size
        var decoded = TokenStrings(capacity: size, byteCapacity: strings.bytes.count)
        var decodes = [Bool](repeating: false, count: size)
        var scratch: [UInt8] = []
        strings.withLookup { strings in
            for i in 0..<size {
                scratch.removeAll(keepingCapacity: true)
                if named[i], Self.decode(strings.string(i), into: &scratch) { decodes[i] = true }
                decoded.append(decodes[i] ? scratch : [])
            }
        }
        self.decodedBytes = decoded
        self.decodes = decodes
        byteSymbol = try (0..<256).map { try id(ByteEncoder.symbol(UInt8($0))) }
        byteEndSymbol = try (0..<256).map { try id(ByteEncoder.symbol(UInt8($0)) + "</w>") }
        startOfText = try id("<|startoftext|>")
        endOfText = try id("<|endoftext|>")
        merger = BytePairMerger(merges: merges)
    }

    /// Token string (valid UTF-8) -> bytes through the byte decoder; false if a scalar is not in
    /// the byte alphabet (U+0021 ... U+0143: one- and two-byte sequences only).
    private static func decode(_ utf8: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) -> Bool {
        var i = 0
        while i < utf8.count {
            let lead = UInt32(utf8[i])
            let scalar: UInt32
            if lead < 0x80 {
                scalar = lead
                i += 1
            } else if lead & 0xE0 == 0xC0 {
                scalar = (lead & 0x1F) << 6 | UInt32(utf8[i + 1] & 0x3F)
                i += 2
            } else {
                return false
            }
            guard scalar < ByteEncoder.scalarLimit else { return false }
            let byte = ByteEncoder.byteOfScalar[Int(scalar)]
            guard byte >= 0 else { return false }
            out.append(UInt8(byte))
        }
        return true
    }

    /// OpenAI's `bpe_simple_vocab_16e6.txt.gz` content (or any file laid out like it).
    ///
    /// - Parameter prefixOnly: inflate and check only the lines SimpleTokenizer uses. For the
    ///   bundled file, whose integrity a test checks: Python decodes the whole file, so a user's
    ///   file is read whole to refuse a bad byte anywhere, as Python does.
    init(openAIMerges data: Data, file: String, prefixOnly: Bool = false) throws {
        let text = try Self.gunzipIfNeeded(data, file: file, lines: prefixOnly ? Self.bundledMergeCount + 1 : 0)
        // Line 0 is a header; SimpleTokenizer keeps lines 1 ... 48894 (of 262,145: stop there).
        var lines: [Range<Int>] = []
        lines.reserveCapacity(Self.bundledMergeCount + 1)
        text.withUnsafeBufferPointer { text in
            var lineStart = 0
            while lines.count <= Self.bundledMergeCount, lineStart < text.count {
                let rest = UnsafeBufferPointer(rebasing: text[lineStart...])
                let lineEnd = rest.firstIndex(of: UInt8(ascii: "\n")).map { lineStart + $0 } ?? text.count
                lines.append(lineStart..<lineEnd)
                lineStart = lineEnd + 1
            }
        }
        // Python decodes the whole file. An inflated prefix ends anywhere after the lines used,
        // maybe inside a character: only those lines are checked then.
        let checked = prefixOnly ? (lines.last?.upperBound ?? 0) : text.count
        if let offset = UTF8Input.firstInvalidOffset(checked == text.count ? text : Array(text[..<checked])) {
            throw TokenizerError.invalidVocabulary(file: file, reason: "not UTF-8 at byte offset \(offset)")
        }
        // Each merge is two byte ranges of `text`: (left, right).
        let merges = try text.withUnsafeBufferPointer { text in
            try lines.dropFirst().map { try Self.pair(text, $0, file: file) }
        }
        // The vocabulary in id order: byte symbols, the same with </w>, the merges, the specials.
        var strings = TokenStrings(capacity: 512 + merges.count + 2, byteCapacity: text.count + 4096)
        let symbols = ByteEncoder.vocabularyOrder.map { ByteEncoder.symbol($0) }
        for symbol in symbols { strings.append(symbol.utf8) }
        for symbol in symbols { strings.append((symbol + "</w>").utf8) }
        text.withUnsafeBufferPointer { text in
            for (left, right) in merges { strings.append(text, left, right) }
        }
        strings.append("<|startoftext|>".utf8)
        strings.append("<|endoftext|>".utf8)
        strings.index()  // dict(zip(vocab, range)): a repeated string keeps its last id.
        let table = strings
        var named = [Bool](repeating: false, count: table.count)
        let ids: [(Int32, Int32, Int32)] = try text.withUnsafeBufferPointer { text in
            try table.withLookup { lookup in
                for i in 0..<table.count { named[i] = lookup.id(of: lookup.string(i)) == Int32(i) }
                return try merges.enumerated().map { rank, merge in
                    func id(_ range: Range<Int>) throws -> Int32 {
                        guard let id = lookup.id(of: UnsafeBufferPointer(rebasing: text[range])) else {
                            throw TokenizerError.invalidVocabulary(
                                file: file,
                                reason:
                                    "no id for the token \(String(decoding: text[range], as: UTF8.self).debugDescription)"
                            )
                        }
                        return id
                    }
                    // The merged string is a vocabulary entry: id 512 + rank, or a later equal one.
                    let merged = lookup.id(of: lookup.string(512 + rank)) ?? Int32(512 + rank)
                    return (try id(merge.0), try id(merge.1), merged)
                }
            }
        }
        try self.init(strings: strings, named: named, merges: ids) { token in
            guard let id = table.id(of: token) else {
                throw TokenizerError.invalidVocabulary(
                    file: file, reason: "no id for the token \(token.debugDescription)")
            }
            return id
        }
    }

    /// A Hugging Face CLIP tokenizer: `vocab.json` (token -> id) and `merges.txt`
    /// ("#version" header, then one "left right" merge per line, in rank order).
    ///
    /// Swift compares these `String` keys by canonical equivalence where Python compares code
    /// points; that makes no difference here because token strings are spelled with the byte
    /// encoder's alphabet (U+0021 ... U+0143), in which no two distinct sequences are canonically
    /// equivalent (the combining marks U+0300 ... that precomposed letters decompose into are not in it).
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
        func id(_ s: String) throws -> Int32 {
            guard let v = encoder[s] else {
                throw TokenizerError.invalidVocabulary(
                    file: vocabFile, reason: "no id for the token \(s.debugDescription)")
            }
            return Int32(v)
        }
        let size = (encoder.values.max() ?? -1) + 1
        // Ids index an array: refuse a sparse file that would make it huge.
        guard size <= 2 * encoder.count + 1024 else {
            throw TokenizerError.invalidVocabulary(
                file: vocabFile, reason: "ids go up to \(size - 1) for \(encoder.count) tokens")
        }
        var tokens = [String?](repeating: nil, count: size)
        for (s, v) in encoder {
            guard v >= 0 else { throw TokenizerError.invalidVocabulary(file: vocabFile, reason: "negative id \(v)") }
            tokens[v] = s
        }
        var strings = TokenStrings(capacity: size)
        for token in tokens { strings.append((token ?? "").utf8) }
        let text = try Self.utf8(mergesData, file: mergesFile)
        let merges = try text.split(separator: "\n", omittingEmptySubsequences: true)
            .filter { !$0.hasPrefix("#version") && !$0.allSatisfy(\.isWhitespace) }
            .map { line in
                let pair = try Self.pair(line, file: mergesFile)
                return (try id(pair.0), try id(pair.1), try id(pair.0 + pair.1))
            }
        try self.init(strings: strings, named: tokens.map { $0 != nil }, merges: merges, id: id)
    }

    /// A merge line of the bytes `text[line]` as its two parts' ranges.
    private static func pair(_ text: UnsafeBufferPointer<UInt8>, _ line: Range<Int>, file: String) throws -> (
        Range<Int>, Range<Int>
    ) {
        var end = line.upperBound
        if end > line.lowerBound, text[end - 1] == UInt8(ascii: "\r") { end -= 1 }  // Windows line ends
        let body = text[line.lowerBound..<end]
        guard let space = body.firstIndex(of: UInt8(ascii: " ")), space != body.startIndex, space + 1 != end,
            !body[(space + 1)...].contains(UInt8(ascii: " "))
        else {
            throw TokenizerError.invalidVocabulary(
                file: file,
                reason: "merge line \(String(decoding: text[line], as: UTF8.self).debugDescription) is not two symbols")
        }
        return (line.lowerBound..<space, (space + 1)..<end)
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
        Data(try gunzipIfNeeded(data, file: file, lines: 0))
    }

    /// Inflates gzip data (magic 1f 8b), stopping after `lines` lines if that is not 0 (the
    /// result may hold more); other data is returned as is.
    static func gunzipIfNeeded(_ data: Data, file: String, lines: Int) throws -> [UInt8] {
        guard data.count >= 2, data[data.startIndex] == 0x1F, data[data.startIndex + 1] == 0x8B else {
            return [UInt8](data)
        }
        var out: UnsafeMutablePointer<UInt8>?
        var length = 0
        let rc = data.withUnsafeBytes { raw in
            clip_gunzip_lines(raw.bindMemory(to: UInt8.self).baseAddress, raw.count, lines, &out, &length)
        }
        guard rc == 0, let out else {
            throw TokenizerError.invalidVocabulary(file: file, reason: "gzip data is corrupt (zlib error \(rc))")
        }
        defer { free(out) }
        return [UInt8](UnsafeBufferPointer(start: out, count: length))
    }
}
