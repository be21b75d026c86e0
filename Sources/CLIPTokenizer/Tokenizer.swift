import CLIPTextCleaning
import Dispatch
import Foundation

// Follows SimpleTokenizer (encode, decode) in openai/CLIP clip/simple_tokenizer.py and
// clip.tokenize in clip/clip.py (clip-anytorch 2.6.0), with open_clip's truncation rule.

/// OpenAI CLIP's byte-level BPE tokenizer, giving exactly the ids of the Python
/// `SimpleTokenizer`.
///
/// ```swift
/// let tokenizer = try Tokenizer.bundled()
/// let ids = tokenizer.encode("A photo of a cat.")      // [320, 1125, 539, 320, 2368, 269]
/// let batch = try tokenizer.tokenize(["a dog"])         // [[49406, 320, 1929, 49407, 0, ...]]
/// let text = try tokenizer.decode(ids)                  // "a photo of a cat . "
/// ```
///
/// The pipeline: ``CLIPTextCleaner/clean(_:)`` (ftfy, HTML unescaping, whitespace, lowercase),
/// the splitting pattern (``PreTokenizer``), each word's UTF-8 bytes mapped to symbols, and the
/// merge loop (``BytePairMerger``) with bounded caches. A `Tokenizer` is immutable apart from
/// its internally locked caches, so one instance can serve many tasks at once.
public final class Tokenizer: Sendable {
    /// The id of `<|startoftext|>` (49406 in OpenAI's vocabulary).
    public let startOfText: Int32
    /// The id of `<|endoftext|>` (49407 in OpenAI's vocabulary).
    public let endOfText: Int32
    /// The number of ids (49408 in OpenAI's vocabulary).
    public var vocabularySize: Int { vocabulary.size }

    let vocabulary: Vocabulary
    /// One merge cache per core: a batch's worker `w` uses `caches[w]`, so the workers never wait
    /// for each other's lock; single calls use `caches[0]` (each cache is locked, so any number
    /// of concurrent callers is still safe).
    let caches: [MergeCache]
    var cache: MergeCache { caches[0] }

    init(vocabulary: Vocabulary, cacheCapacity: Int = 32_768) {
        self.vocabulary = vocabulary
        self.startOfText = vocabulary.startOfText
        self.endOfText = vocabulary.endOfText
        self.caches = (0..<max(1, Self.cores)).map { _ in MergeCache(capacity: cacheCapacity) }
    }

    /// OpenAI's `bpe_simple_vocab_16e6.txt.gz` in this package's resources.
    static func bundledFileURL() throws -> URL {
        guard let url = Bundle.module.url(forResource: "bpe_simple_vocab_16e6.txt", withExtension: "gz") else {
            throw TokenizerError.invalidVocabulary(
                file: "bpe_simple_vocab_16e6.txt.gz", reason: "missing from the CLIPTokenizer resource bundle")
        }
        return url
    }

    private static let bundledResult: Result<Tokenizer, Error> = Result {
        let url = try bundledFileURL()
        // Only the lines SimpleTokenizer uses are inflated (a fifth of the file): the bundled
        // file is known to be whole UTF-8 (`bundledFileIsWholeUTF8` checks it).
        let data = try read(url)
        return Tokenizer(vocabulary: try Vocabulary(openAIMerges: data, file: url.path, prefixOnly: true))
    }

    /// The tokenizer of all OpenAI CLIP models, from the merges file bundled with this package.
    /// Loaded once (a few milliseconds) and shared.
    public static func bundled() throws -> Tokenizer { try bundledResult.get() }

    /// Loads a merges file laid out like OpenAI's `bpe_simple_vocab_16e6.txt.gz` (gzip or plain).
    public convenience init(openAIMergesFile url: URL) throws {
        let data = try Self.read(url)
        self.init(vocabulary: try Vocabulary(openAIMerges: data, file: url.path))
    }

    /// Loads a Hugging Face CLIP tokenizer (`vocab.json` and `merges.txt`, as in
    /// `openai/clip-vit-base-patch32`); for that folder the ids equal those of ``bundled()``.
    public convenience init(huggingFaceVocabulary vocabURL: URL, merges mergesURL: URL) throws {
        let vocab = try Self.read(vocabURL), merges = try Self.read(mergesURL)
        self.init(
            vocabulary: try Vocabulary(
                huggingFaceVocabulary: vocab, merges: merges,
                vocabFile: vocabURL.path, mergesFile: mergesURL.path))
    }

    /// Loads `vocab.json` and `merges.txt` from a Hugging Face model folder.
    public convenience init(huggingFaceDirectory directory: URL) throws {
        try self.init(
            huggingFaceVocabulary: directory.appendingPathComponent("vocab.json"),
            merges: directory.appendingPathComponent("merges.txt"))
    }

    private static func read(_ url: URL) throws -> Data {
        do {
            return try Data(contentsOf: url)
        } catch {
            throw TokenizerError.invalidVocabulary(
                file: url.path, reason: "cannot read it (\(error.localizedDescription))")
        }
    }

    // MARK: - Encoding

    /// The BPE ids of `text`, without start/end tokens or padding (= `SimpleTokenizer.encode`).
    public func encode(_ text: String) -> [Int] {
        encodeIDs(text).map(Int.init)
    }

    /// `encode(_:)` of each text; batches of more than 64 texts use all cores.
    public func encode(_ texts: [String]) -> [[Int]] {
        encodeBatch(texts).map { $0.map(Int.init) }
    }

    /// Cleans `text` and returns its BPE ids.
    func encodeIDs(_ text: String, cache: Int = 0) -> [Int32] {
        encodeCleaned(CLIPTextCleaner.clean(text), cache: cache)
    }

    /// The BPE ids of already cleaned text: split into words, then BPE on each word.
    func encodeCleaned(_ cleaned: String, cache index: Int = 0) -> [Int32] {
        let cache = caches[index]
        var text = cleaned
        var ids: [Int32] = []
        text.withUTF8 { utf8 in
            // Cache lookups under one lock per text; the lock is dropped while a missing word merges.
            cache.lock()
            ids = PreTokenizer.withWords(of: utf8) { words in
                var ids: [Int32] = []
                ids.reserveCapacity(utf8.count / 3 + 4)
                while let range = words.next() {
                    let word = UnsafeBufferPointer(rebasing: utf8[range])
                    if appendWithoutMerging(word, to: &ids, cache: cache) { continue }
                    cache.unlock()
                    let merged = vocabulary.merger.merge(symbols(of: word))
                    cache.lock()
                    cache.storeLocked(merged, for: word)
                    ids.append(contentsOf: merged)
                }
                return ids
            }
            cache.unlock()
        }
        return ids
    }

    /// Appends the ids of a special token, a one-byte word or a cached word; false otherwise.
    private func appendWithoutMerging(_ word: UnsafeBufferPointer<UInt8>, to ids: inout [Int32], cache: MergeCache)
        -> Bool
    {
        if word.count == 1 {
            ids.append(vocabulary.byteEndSymbol[Int(word[0])])
            return true
        }
        // Only the exact special strings are pre-seeded in SimpleTokenizer's cache as themselves; a
        // case-insensitive match such as "<|ſtartoftext|>" goes through BPE like any word.
        if word[0] == UInt8(ascii: "<") {
            if word.elementsEqual("<|startoftext|>".utf8) {
                ids.append(startOfText)
                return true
            }
            if word.elementsEqual("<|endoftext|>".utf8) {
                ids.append(endOfText)
                return true
            }
        }
        return cache.appendLocked(word, to: &ids)
    }

    /// The initial symbols of a word: one per byte, the last one with `</w>`.
    func symbols<Bytes: BidirectionalCollection>(of word: Bytes) -> [Int32] where Bytes.Element == UInt8 {
        var symbols = word.map { vocabulary.byteSymbol[Int($0)] }
        if let last = word.last { symbols[symbols.count - 1] = vocabulary.byteEndSymbol[Int(last)] }
        return symbols
    }

    /// Tokenizes a batch the way `clip.tokenize` does: `<|startoftext|>`, the BPE ids,
    /// `<|endoftext|>`, then zeros up to `contextLength`. Batches of more than 64 texts use
    /// all cores; rows come back in input order.
    ///
    /// ```swift
    /// let rows = try Tokenizer.bundled().tokenize(["a diagram", "a dog"], truncate: true)
    /// // rows.count == 2, rows[0].count == 77
    /// ```
    /// - Parameters:
    ///   - contextLength: the row length; all CLIP models use 77.
    ///   - truncate: keep the first `contextLength` tokens of a longer text and make the last
    ///     one `<|endoftext|>` (open_clip's rule) instead of throwing.
    /// - Throws: ``TokenizerError/inputTooLong(index:tokenCount:contextLength:)`` naming the first
    ///   text that does not fit, ``TokenizerError/invalidContextLength(_:)`` if `contextLength` is
    ///   not in 1 ... ``maxContextLength``.
    public func tokenize(_ texts: [String], contextLength: Int = 77, truncate: Bool = false) throws -> [[Int32]] {
        guard (1...Self.maxContextLength).contains(contextLength) else {
            throw TokenizerError.invalidContextLength(contextLength)
        }
        return try encodeBatch(texts).enumerated().map { index, ids in
            try row(ids, index: index, contextLength: contextLength, truncate: truncate)
        }
    }

    /// The largest context length ``tokenize(_:contextLength:truncate:)`` accepts (rows are
    /// allocated up front; CLIP models use 77).
    public static let maxContextLength = 1 << 20

    /// Texts per parallel work item: large enough to amortise scheduling, small enough to balance.
    static let parallelChunk = 64

    /// Read once: on Linux `activeProcessorCount` reads cgroup files on every call.
    private static let cores = ProcessInfo.processInfo.activeProcessorCount

    /// `encodeIDs` of each text, on all cores for large batches (results in input order).
    func encodeBatch(_ texts: [String]) -> [[Int32]] {
        let chunks = (texts.count + Self.parallelChunk - 1) / Self.parallelChunk
        guard chunks > 1, Self.cores > 1 else { return texts.map { encodeIDs($0) } }
        // Each work item writes only its own indices, so sharing the buffer is safe.
        nonisolated(unsafe) let results = UnsafeMutableBufferPointer<[Int32]>.allocate(capacity: texts.count)
        results.initialize(repeating: [])
        defer {
            results.deinitialize()
            results.deallocate()
        }
        // Worker w takes chunks w, w + workers, ... and uses its own merge cache.
        let workers = min(Self.cores, chunks)
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            for chunk in stride(from: worker, to: chunks, by: workers) {
                let start = chunk * Self.parallelChunk
                for i in start..<min(start + Self.parallelChunk, texts.count) {
                    results[i] = encodeIDs(texts[i], cache: worker)
                }
            }
        }
        return Array(results)
    }

    /// One padded row from BPE ids.
    func row(_ ids: [Int32], index: Int, contextLength: Int, truncate: Bool) throws -> [Int32] {
        let count = ids.count + 2
        if count > contextLength && !truncate {
            throw TokenizerError.inputTooLong(index: index, tokenCount: count, contextLength: contextLength)
        }
        var tokens = [Int32](repeating: 0, count: contextLength)
        tokens[0] = startOfText
        let kept = min(ids.count, contextLength - 1)
        for i in 0..<kept { tokens[i + 1] = ids[i] }
        // SOT + ids + EOT, or when too long its first contextLength tokens with EOT written
        // over the last (open_clip), which for contextLength 1 leaves just EOT.
        tokens[min(kept + 1, contextLength - 1)] = endOfText
        return tokens
    }

    // MARK: - Decoding

    /// The text of `ids` (= `SimpleTokenizer.decode`): token bytes joined, decoded as UTF-8 with
    /// U+FFFD for invalid sequences, and every `</w>` replaced by a space.
    ///
    /// ```swift
    /// try Tokenizer.bundled().decode([320, 1125])  // "a photo "
    /// ```
    /// - Throws: ``TokenizerError/unknownTokenID(_:)`` for an id outside the vocabulary.
    public func decode<IDs: Sequence>(_ ids: IDs) throws -> String where IDs.Element: BinaryInteger {
        var bytes: [UInt8] = []
        for id in ids {
            guard let i = Int(exactly: id), let tokenBytes = vocabulary.tokenBytes(i) else {
                throw TokenizerError.unknownTokenID(Int(truncatingIfNeeded: id))
            }
            bytes += tokenBytes
        }
        // Python replaces "</w>" after decoding, so a "</w>" typed by a user becomes a space too.
        // Replacing the bytes before decoding is the same (invalid sequences end before any ASCII
        // byte) and, unlike String.replacingOccurrences, does not compare grapheme clusters:
        // "</w>" followed by a combining mark must still be replaced.
        return String(decoding: Self.replacingEndOfWord(bytes), as: UTF8.self)
    }

    private static func replacingEndOfWord(_ bytes: [UInt8]) -> [UInt8] {
        let marker: [UInt8] = Array("</w>".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if bytes[i] == marker[0], i + 4 <= bytes.count,
                bytes[i + 1] == marker[1], bytes[i + 2] == marker[2], bytes[i + 3] == marker[3]
            {
                out.append(UInt8(ascii: " "))
                i += 4
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return out
    }
}
