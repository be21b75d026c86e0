import CLIPTextCleaning
import Foundation
import Testing

@testable import CLIPTokenizer

// Golden ids from OpenAI's SimpleTokenizer (scripts/reference/make_tokenizer_fixtures.py).

@Test func bundledVocabularyMatchesOpenAI() throws {
    let tokenizer = try #require(Fixtures.tokenizer)
    #expect(tokenizer.vocabularySize == 49_408)
    #expect(tokenizer.startOfText == 49_406)
    #expect(tokenizer.endOfText == 49_407)
    // The heap merge is only exact for monotone merges; OpenAI's are.
    #expect(tokenizer.vocabulary.merger.isMonotone)
    #expect(try tokenizer.decode([49_406, 49_407]) == "<|startoftext|><|endoftext|>")
}

/// The tokenizer alone: the splitting pattern and BPE on Python's cleaned text.
@Test func fixtureIdsFromCleanedText() throws {
    let tokenizer = try #require(Fixtures.tokenizer)
    let rows = Fixtures.corpus
    #expect(rows.count >= 5_000, "fixture has \(rows.count) rows")
    var mismatches = 0
    var first: String?
    for row in rows {
        let clean = try #require(row.clean)
        let ids = tokenizer.encodeCleaned(clean).map(Int.init)
        if ids != row.ids {
            mismatches += 1
            if first == nil {
                first =
                    "text \(excerpt(row.text)) cleaned \(excerpt(clean)): got \(ids.prefix(40)), want \(row.ids.prefix(40))"
            }
        }
    }
    print("fixtureIdsFromCleanedText: \(rows.count) strings, \(mismatches) mismatches")
    #expect(mismatches == 0, "\(mismatches) of \(rows.count) differ; first: \(first ?? "")")
}

/// End to end: CLIPTextCleaner + tokenizer against `encode` and `clip.tokenize(truncate=True)`.
/// A mismatch whose cleaned text already differs from Python's is reported as a cleaning one.
@Test func fixtureIdsEndToEnd() throws {
    let tokenizer = try #require(Fixtures.tokenizer)
    let rows = Fixtures.corpus
    var tokenizerMismatches = 0, cleaningMismatches = 0
    var firstTokenizer: String?, firstCleaning: String?
    for (index, row) in rows.enumerated() {
        let ids = tokenizer.encode(row.text)
        let tokens = try tokenizer.tokenize([row.text], truncate: true)[0].map(Int.init)
        let want = (row.tokens ?? []) + [Int](repeating: 0, count: 77 - (row.tokens?.count ?? 0))
        guard ids != row.ids || tokens != want else { continue }
        let cleaned = CLIPTextCleaner.clean(row.text)
        let report =
            "row \(index) text \(excerpt(row.text)): cleaned \(excerpt(cleaned)) want \(excerpt(row.clean ?? "")); "
            + "ids \(ids.prefix(30)) want \(row.ids.prefix(30)); tokens \(tokens.prefix(30)) want \(want.prefix(30))"
        // Compare scalars: Swift's String == treats NFC and NFD as equal, Python does not.
        if !cleaned.unicodeScalars.elementsEqual((row.clean ?? "").unicodeScalars) {
            cleaningMismatches += 1
            firstCleaning = firstCleaning ?? report
        } else {
            tokenizerMismatches += 1
            firstTokenizer = firstTokenizer ?? report
        }
    }
    print(
        "fixtureIdsEndToEnd: \(rows.count) strings, \(tokenizerMismatches) tokenizer mismatches, \(cleaningMismatches) mismatches from cleaning"
    )
    #expect(
        tokenizerMismatches == 0,
        "\(tokenizerMismatches) of \(rows.count) differ with identical cleaning; first: \(firstTokenizer ?? "")")
    #expect(
        cleaningMismatches == 0,
        "\(cleaningMismatches) of \(rows.count) differ because CLIPTextCleaner.clean differs from Python; first: \(firstCleaning ?? "")"
    )
}

@Test func fixtureDecodeMatchesPython() throws {
    let tokenizer = try #require(Fixtures.tokenizer)
    var mismatches = 0
    var first: String?
    for row in Fixtures.corpus {
        let decoded = try tokenizer.decode(row.ids)
        if decoded != row.decoded {
            mismatches += 1
            if first == nil {
                first = "ids \(row.ids.prefix(30)): got \(excerpt(decoded)), want \(excerpt(row.decoded ?? ""))"
            }
        }
    }
    print("fixtureDecodeMatchesPython: \(Fixtures.corpus.count) strings, \(mismatches) mismatches")
    #expect(mismatches == 0, "first: \(first ?? "")")
}

/// decode then encode gives the ids back for plain words (spaces end words, like `</w>`).
@Test(arguments: [
    "a photo of a cat", "hello world !", "the quick brown fox jumps over 13 lazy dogs",
    "naïve café über straße", "東京 タワー", "emoji 😀 🇫🇷",
])
func decodeRoundTrip(text: String) throws {
    let tokenizer = try #require(Fixtures.tokenizer)
    let ids = tokenizer.encode(text)
    let decoded = try tokenizer.decode(ids)
    #expect(tokenizer.encode(decoded) == ids, "\(text.debugDescription) -> \(decoded.debugDescription)")
}

/// Hugging Face vocab.json + merges.txt (first 3,000 merges) against SimpleTokenizer run with
/// the same merges.
@Test func huggingFaceFilesGiveReferenceIds() throws {
    let tokenizer = try Tokenizer(huggingFaceDirectory: Fixtures.url("hf"))
    #expect(tokenizer.vocabularySize == 512 + 3_000 + 2)
    let rows = try Fixtures.rows("hf/expected.jsonl")
    var mismatches = 0
    var first: String?
    for row in rows {
        let clean = try #require(row.clean)
        let ids = tokenizer.encodeCleaned(clean).map(Int.init)
        let decoded = try tokenizer.decode(row.ids)
        if ids != row.ids || decoded != row.decoded {
            mismatches += 1
            if first == nil {
                first =
                    "text \(excerpt(row.text)): ids \(ids.prefix(30)) want \(row.ids.prefix(30)); decoded \(excerpt(decoded))"
            }
        }
    }
    print("huggingFaceFilesGiveReferenceIds: \(rows.count) strings, \(mismatches) mismatches")
    #expect(mismatches == 0, "first: \(first ?? "")")
}

/// Words the pattern must split like Python's `regex` (IGNORECASE contractions, long s, specials).
@Test(arguments: [
    ("it's", ["it", "'s"]),
    ("'S'T'RE", ["'S", "'T", "'RE"]),
    ("'\u{17F}x", ["'\u{17F}", "x"]),
    ("<|\u{17F}tartoftext|>", ["<|\u{17F}tartoftext|>"]),
    ("a<|endoftext|>b", ["a", "<|endoftext|>", "b"]),
    ("<|endoftext|", ["<|", "endoftext", "|"]),
    ("!!'s", ["!!'", "s"]),
    ("abc123", ["abc", "1", "2", "3"]),
    ("  a \t b ", ["a", "b"]),
    ("x\u{200B}y", ["x", "\u{200B}", "y"]),
])
func splitting(text: String, words: [String]) {
    var text = text
    var got: [String] = []
    text.withUTF8 { utf8 in
        PreTokenizer.split(utf8) {
            got.append(String(decoding: UnsafeBufferPointer(rebasing: utf8[$0]), as: UTF8.self))
        }
    }
    #expect(got == words)
}

/// `Tokenizer.bundled()` inflates only the lines SimpleTokenizer uses (a fifth of the file) and
/// checks only them: safe because the whole bundled stream inflates with a good CRC and is UTF-8,
/// and the tables equal those built from the whole file.
@Test func bundledFileIsWholeUTF8() throws {
    let data = try Data(contentsOf: Tokenizer.bundledFileURL())
    let whole = try Vocabulary.gunzipIfNeeded(data, file: "bundled", lines: 0)
    #expect(whole.count == 3_194_984)
    #expect(UTF8Input.firstInvalidOffset(whole) == nil)
    let prefix = try Vocabulary.gunzipIfNeeded(data, file: "bundled", lines: Vocabulary.bundledMergeCount + 1)
    #expect(prefix.count < whole.count / 2 && whole.starts(with: prefix))
    let fromPrefix = try Vocabulary(openAIMerges: data, file: "bundled", prefixOnly: true)
    #expect(fromPrefix == (try Vocabulary(openAIMerges: data, file: "bundled")))
    #expect(fromPrefix.size == 49_408 && fromPrefix.tokenBytes(49_407).map(Array.init) == Array("<|endoftext|>".utf8))
}

/// A merge listed twice: Python's encoder keeps the last id of the repeated string "ab", so the
/// first id decodes to nothing, both merges make the last id, and the ranks keep the last one.
@Test func repeatedMergeKeepsTheLastId() throws {
    let vocabulary = try Vocabulary(openAIMerges: Data("#version: 0.2\na b\na b\n".utf8), file: "merges.txt")
    #expect(vocabulary.size == 512 + 2 + 2)
    #expect(vocabulary.tokenBytes(512) == nil)
    #expect(vocabulary.tokenBytes(513).map(Array.init) == Array("ab".utf8))
    let a = vocabulary.byteSymbol[Int(UInt8(ascii: "a"))], b = vocabulary.byteSymbol[Int(UInt8(ascii: "b"))]
    #expect(vocabulary.merger.merge(a, b) == BytePairMerger.Merge(rank: 1, merged: 513))
    #expect(!vocabulary.merger.isMonotone)
    #expect(vocabulary.startOfText == 514 && vocabulary.endOfText == 515)
}

/// An inflated prefix may end inside a character after the lines SimpleTokenizer uses: only
/// those lines are checked then, while a whole file (a user's) is refused for the same byte.
@Test func prefixIsCheckedUpToTheLinesUsed() throws {
    var text = Array("#version: 0.2\n".utf8)
    for _ in 0..<Vocabulary.bundledMergeCount { text += Array("a b\n".utf8) }
    let used = text.count
    text += [0xC4]  // the first byte of "Ġ" (U+0120), cut off
    let prefix = try Vocabulary(openAIMerges: Data(text), file: "merges.txt", prefixOnly: true)
    #expect(prefix.size == 512 + Vocabulary.bundledMergeCount + 2)
    #expect(throws: TokenizerError.invalidVocabulary(file: "merges.txt", reason: "not UTF-8 at byte offset \(used)")) {
        try Vocabulary(openAIMerges: Data(text), file: "merges.txt")
    }
}
