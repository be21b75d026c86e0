import Foundation
import Testing

@testable import CLIPTokenizer

// Bad input gives typed errors with the index, count or byte offset, never a crash.

@Test func tooLongNamesIndexAndCount() throws {
    let tokenizer = try #require(Fixtures.tokenizer)
    let long = String(repeating: "cat ", count: 100)  // 100 ids + SOT + EOT
    #expect(throws: TokenizerError.inputTooLong(index: 1, tokenCount: 102, contextLength: 77)) {
        try tokenizer.tokenize(["short", long])
    }
    let message = TokenizerError.inputTooLong(index: 1, tokenCount: 102, contextLength: 77).localizedDescription
    #expect(message.contains("input 1") && message.contains("102") && !message.contains("cat cat"))
}

@Test func truncationKeepsFirstTokensAndEndsWithEOT() throws {
    let tokenizer = try #require(Fixtures.tokenizer)
    let long = String(repeating: "cat ", count: 100)
    let row = try tokenizer.tokenize([long], truncate: true)[0]
    #expect(row.count == 77)
    #expect(row.first == 49_406 && row.last == 49_407)
    #expect(row[1..<76].allSatisfy { $0 == 2368 })  // "cat</w>"
    // Exactly at the limit: no truncation, no error.
    let fits = String(repeating: "cat ", count: 75)
    #expect(try tokenizer.tokenize([fits]) == tokenizer.tokenize([fits], truncate: true))
}

@Test(arguments: [1, 2, 5, 77, 200])
func contextLengths(length: Int) throws {
    let tokenizer = try #require(Fixtures.tokenizer)
    let row = try tokenizer.tokenize(["a photo of a cat"], contextLength: length, truncate: true)[0]
    #expect(row.count == length)
    #expect(row.contains(49_407))
}

@Test(arguments: [0, -3, 1 << 40])
func invalidContextLength(length: Int) throws {
    let tokenizer = try #require(Fixtures.tokenizer)
    #expect(throws: TokenizerError.invalidContextLength(length)) {
        try tokenizer.tokenize(["x"], contextLength: length)
    }
}

@Test(arguments: [-1, 49_408, Int(Int32.max)])
func unknownTokenID(id: Int) throws {
    let tokenizer = try #require(Fixtures.tokenizer)
    #expect(throws: TokenizerError.unknownTokenID(id)) { try tokenizer.decode([320, id]) }
}

/// Invalid UTF-8 and the offset of the first bad byte.
@Test(
    arguments: [
        ([0x61, 0x62], nil),
        ([0x61, 0xFF], 1),
        ([0x61, 0xC3], 1),  // truncated 2-byte sequence
        ([0x61, 0x62, 0xC0, 0xAF], 2),  // overlong "/"
        ([0xE0, 0x80, 0xAF], 0),  // overlong 3-byte
        ([0x41, 0xED, 0xA0, 0x80], 1),  // UTF-16 surrogate U+D800
        ([0xF4, 0x90, 0x80, 0x80], 0),  // above U+10FFFF
        ([0xE2, 0x82, 0xAC, 0x80], 3),  // stray continuation after "€"
        ([0xF0, 0x9F, 0x98, 0x80, 0x0A], nil),  // "😀\n"
    ] as [([UInt8], Int?)])
func utf8Validation(bytes: [UInt8], offset: Int?) throws {
    #expect(UTF8Input.firstInvalidOffset(bytes) == offset)
    if let offset {
        #expect(throws: TokenizerError.invalidUTF8(offset: offset)) { try UTF8Input.decode(bytes) }
    } else {
        #expect(try UTF8Input.decode(bytes) == String(decoding: bytes, as: UTF8.self))
    }
}

@Test func badVocabularyFilesThrow() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clip-tok-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let cases: [(vocab: String, merges: String)] = [
        ("not json", "#version: 0.2\n"),
        ("[1, 2]", "#version: 0.2\n"),
        ("{\"a\": \"x\"}", "#version: 0.2\n"),
        ("{\"a\": 0}", "#version: 0.2\n"),  // no byte symbols, no specials
        ("{\"a\": 1000000000}", "#version: 0.2\n"),  // sparse ids
    ]
    for c in cases {
        try Data(c.vocab.utf8).write(to: dir.appendingPathComponent("vocab.json"))
        try Data(c.merges.utf8).write(to: dir.appendingPathComponent("merges.txt"))
        #expect(throws: TokenizerError.self) { try Tokenizer(huggingFaceDirectory: dir) }
    }
    #expect(throws: TokenizerError.self) { try Tokenizer(huggingFaceDirectory: dir.appendingPathComponent("missing")) }
    try Data([0x1F, 0x8B, 0x00, 0x01]).write(to: dir.appendingPathComponent("broken.gz"))
    #expect(throws: TokenizerError.self) { try Tokenizer(openAIMergesFile: dir.appendingPathComponent("broken.gz")) }
}
