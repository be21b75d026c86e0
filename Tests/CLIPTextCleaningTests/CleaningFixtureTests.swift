import Testing

@testable import CLIPTextCleaning

// Golden values: Fixtures/cleaning.jsonl from scripts/reference/make_cleaning_fixtures.py
// (ftfy 6.3.1, CPython 3.11.7, regex 2024.11.6) over scripts/reference/text_corpus.py.
@Suite struct CleaningFixtureTests {
    @Test func fixTextMatchesFtfyOnWholeFixture() throws {
        let rows = try Fixtures.cleaningRows()
        #expect(rows.count >= 5000)
        // The JSON decoder must hand over the exact scalars (an NFD row stays NFD).
        #expect(rows.contains { sameScalars($0.text, "cafe\u{301}") })
        let (mismatches, first) = compareAll(rows, CLIPTextCleaner.fixText) { $0.fixed }
        print("fixText: \(rows.count - mismatches)/\(rows.count) identical, \(mismatches) mismatches")
        if let first { print("first fixText mismatch: \(first)") }
        #expect(mismatches == 0, "\(mismatches) mismatches; first: \(first ?? "")")
    }

    @Test func cleanMatchesSimpleTokenizerOnWholeFixture() throws {
        let rows = try Fixtures.cleaningRows()
        let (mismatches, first) = compareAll(rows, CLIPTextCleaner.clean) { $0.clean }
        print("clean: \(rows.count - mismatches)/\(rows.count) identical, \(mismatches) mismatches")
        if let first { print("first clean mismatch: \(first)") }
        #expect(mismatches == 0, "\(mismatches) mismatches; first: \(first ?? "")")
    }

    /// Short random strings over ftfy's mojibake alphabet (make_cleaning_fixtures.fuzz_texts).
    @Test func fuzzFixtureMatches() throws {
        let rows = try Fixtures.cleaningRows("cleaning_fuzz")
        let (fixMismatches, firstFix) = compareAll(rows, CLIPTextCleaner.fixText) { $0.fixed }
        let (cleanMismatches, firstClean) = compareAll(rows, CLIPTextCleaner.clean) { $0.clean }
        print("fuzz: fixText \(fixMismatches), clean \(cleanMismatches) mismatches of \(rows.count)")
        #expect(fixMismatches == 0, "first: \(firstFix ?? "")")
        #expect(cleanMismatches == 0, "first: \(firstClean ?? "")")
    }
}
