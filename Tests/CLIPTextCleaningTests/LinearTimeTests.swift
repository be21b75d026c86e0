import Foundation
import Testing

@testable import CLIPTextCleaning

// Cleaning must be linear in the input length. Each case builds a ~1 MB input that would be
// quadratic for a naive port (or for CPython itself: the final-sigma scan), cleans it once in
// a debug build and checks the result's shape. The only time bound is deliberately huge
// (a quadratic pass over 1 MB takes hours), so it cannot flake; the time is printed.
@Suite(.serialized) struct LinearTimeTests {
    static let size = 1 << 20

    @Test(arguments: ["mojibake", "letters", "sigma", "entities", "lines", "mixed"])
    func cleansOneMegabyteInLinearTime(kind: String) throws {
        let input = Self.input(kind)
        let clock = ContinuousClock()
        var output = ""
        let elapsed = clock.measure { output = CLIPTextCleaner.clean(input) }
        print("clean(\(kind), \(input.utf8.count) bytes): \(elapsed), \(output.unicodeScalars.count) scalars out")
        #expect(elapsed < .seconds(120), "\(kind) took \(elapsed)")
        // Shape checks on plain Bools, so a failure does not print megabytes.
        let ok: Bool
        let scalars = output.unicodeScalars
        switch kind {
        case "mojibake": ok = sameScalars(output, String(repeating: "\u{E9}", count: Self.size / 4))
        case "letters": ok = scalars.count == Self.size - 1
        case "sigma": ok = output.hasSuffix("\u{3C2}") && output.hasPrefix("a\u{3C3}")
        case "entities": ok = output == String(repeating: "&", count: Self.size / 5)
        case "lines": ok = scalars.count == 2 * (Self.size / 6) - 1
        default: ok = !output.isEmpty
        }
        #expect(ok, "unexpected output for \(kind)")
    }

    /// ftfy cuts a line longer than max_decode_length and fixes the pieces separately.
    /// Python: fix_text("a" + "Ã©" * 500, max_decode_length=100) == "a" + "é" * 49 + "Ã©" * 451
    /// (the first piece ends in "Ã"; every later "Ã" follows a "©", which the UTF-8 detector's
    /// look-behind rejects, so the rest stays as it is).
    @Test func longLinesAreCutAtMaxDecodeLength() {
        let input = Scalars.of("a" + String(repeating: "\u{C3}\u{A9}", count: 500))
        let fixed = Scalars.string(CLIPTextCleaner.fixText(scalars: input, maxDecodeLength: 100))
        let expected = "a" + String(repeating: "\u{E9}", count: 49) + String(repeating: "\u{C3}\u{A9}", count: 451)
        #expect(sameScalars(fixed, expected))
    }

    static func input(_ kind: String) -> String {
        switch kind {
        case "mojibake":  // one 1 MB segment that is all mojibake: é as UTF-8 read as Latin-1
            return String(repeating: "\u{C3}\u{A9}", count: size / 4)
        case "letters":  // no spaces, no newlines; the leading é keeps it off the ASCII fast path
            var generator = SystemRandomNumberGenerator()
            return "\u{E9}"
                + String(
                    String.UnicodeScalarView(
                        (0..<(size - 2)).map { _ in
                            Unicode.Scalar(UInt8.random(in: 0x61...0x7A, using: &generator))
                        }))
        case "sigma":  // CPython rescans the ignorable run for every sigma
            return "A\u{3A3}" + String(repeating: "\u{3A3}\u{301}", count: size / 4) + "\u{3A3}"
        case "entities":  // &amp;amp; chains that survive ftfy and are unescaped twice
            return String(repeating: "&amp;", count: size / 5)
        case "lines":  // many one-character segments (512 KB)
            return String(repeating: "x\r\n", count: size / 6)
        default:  // detector matches embedded in good text (decode_inconsistent_utf8 per match); 256 KB
            return String(repeating: "caf\u{E9} \u{C3}\u{A9}t\u{C3}\u{A9} ", count: size / 64)
        }
    }
}
