import Testing

@testable import CLIPTextCleaning

// One table per ftfy step. Expected values were printed by ftfy 6.3.1 / CPython 3.11.7
// (the functions named in each test), many of them ftfy's own docstring examples.

private func apply(_ f: ([UInt32]) -> [UInt32], _ text: String) -> String {
    Scalars.string(f(Scalars.of(text)))
}

@Suite struct FixerStepTests {
    /// ftfy.fixes.unescape_html
    @Test(arguments: [
        ("&lt;tag&gt;", "<tag>"),
        ("&Jscr;ohn &HilbertSpace;ancock", "\u{1D4A5}ohn \u{210B}ancock"),
        ("P&EACUTE;REZ", "P\u{C9}REZ"),
        ("BUNDESSTRA&SZLIG;E", "BUNDESSTRASSE"),
        ("&ntilde; &Ntilde; &NTILDE; &nTILDE;", "\u{F1} \u{D1} \u{D1} &nTILDE;"),
        ("&#x41;&#59;&#12ab;", "A&#59;&#12ab;"),
        ("this&not that", "this&not that"),
        ("&amp", "&amp"),
    ])
    func ftfyUnescapeHTML(input: String, expected: String) {
        #expect(sameScalars(apply(HTMLEntities.ftfyUnescape, input), expected))
    }

    /// html.unescape
    @Test(arguments: [
        ("&amp;amp;", "&amp;"), ("&amp", "&"), ("&notit;", "\u{AC}it;"), ("&ampere", "&ere"),
        ("&#x110000;", "\u{FFFD}"), ("&#128;", "\u{20AC}"), ("&#0;", "\u{FFFD}"), ("&#xD800;", "\u{FFFD}"),
        ("&#11;", ""), ("&#65", "A"), ("&#X41;", "A"), ("&;", "&;"), ("&#;", "&#;"),
        ("&" + String(repeating: "a", count: 33), "&" + String(repeating: "a", count: 33)),
        ("&#" + String(repeating: "9", count: 40) + ";", "\u{FFFD}"),
        // Canonically equivalent to ASCII names, but not equal: Python leaves them alone.
        ("&\u{212A}opf;", "&\u{212A}opf;"), ("&amp\u{37E}", "&\u{37E}"), ("&ampx\u{212A};", "&x\u{212A};"),
    ])
    func pythonHTMLUnescape(input: String, expected: String) {
        #expect(sameScalars(CLIPTextCleaner.htmlUnescape(input), expected))
    }

    /// ftfy.fix_encoding
    @Test(arguments: [
        ("s\u{C3}\u{B3}", "s\u{F3}"),
        ("voil\u{C3} le travail", "voil\u{E0} le travail"),
        ("\u{C3}  la carte", "\u{E0} la carte"),
        ("\u{E2}\u{20AC}\u{153}quoted\u{E2}\u{20AC}\u{FFFD}", "\u{201C}quoted\u{FFFD}"),
        (
            "\u{D0}\u{178}\u{D1}\u{20AC}\u{D0}\u{B8}\u{D0}\u{B2}\u{D0}\u{B5}\u{D1}\u{201A}",
            "\u{41F}\u{440}\u{438}\u{432}\u{435}\u{442}"
        ),
        ("caf\u{C3}\u{A9} and caf\u{E9}", "caf\u{E9} and caf\u{E9}"),
        ("\u{93}quoted\u{94}", "\u{201C}quoted\u{201D}"),
        ("\u{E9}", "\u{E9}"),
        ("\u{81}\u{8D}", "\u{81}\u{8D}"),
    ])
    func fixEncoding(input: String, expected: String) {
        #expect(sameScalars(apply(FixEncoding.fixEncoding, input), expected))
    }

    /// ftfy.badness.is_bad
    @Test(arguments: [
        ("\u{C3}\u{A9}", true), ("caf\u{E9}", false), ("\u{C2}\u{A3}5", true), ("a \u{C2} b", true),
        ("\u{D7}\u{B2}", true), ("na\u{EF}ve", false), ("\u{3A3}", false),
        ("\u{3A3}\u{38A}\u{3A3}\u{3A5}\u{3A6}\u{39F}\u{3A3}", false),
    ])
    func isBad(input: String, expected: Bool) {
        #expect(Badness.isBad(Scalars.of(input)) == expected)
    }

    /// utf-8-variants decoding, including ftfy's `$`-before-final-newline quirks.
    @Test(arguments: [
        ([0x61, 0xC3, 0xA9] as [UInt8], "a\u{E9}" as String?),
        ([0xED, 0xA0, 0xBD, 0xED, 0xB8, 0x8D], "\u{1F60D}"),
        ([0xC0, 0x80], "\u{0}"),
        ([0xC0, 0x0A], "\u{0}"),
        ([0xC0, 0x0A, 0x41], nil),
        ([0xED, 0xA0, 0x80, 0xED, 0xB0, 0x0A], "\u{1000A}"),
        ([0xED, 0xA0, 0x80], nil),
        ([0xE2, 0x82], nil),
        ([0xF4, 0x90, 0x80, 0x80], nil),
    ])
    func utf8Variants(bytes: [UInt8], expected: String?) {
        #expect(UTF8Variants.decode(bytes) == expected.map(Scalars.of))
    }

    /// ftfy.fixes: the character-level fixers.
    @Test(arguments: [
        ("remove_terminal_escapes", "\u{1B}[36;44mI'm blue\u{1B}[0m", "I'm blue"),
        ("remove_terminal_escapes", "\u{1B}[\u{663}m", ""),
        ("remove_terminal_escapes", "\u{1B}[", "\u{1B}["),
        ("remove_terminal_escapes", "\u{1B}]0;t\u{7}", "\u{1B}]0;t\u{7}"),
        ("fix_line_breaks", "a\r\nb\rc\u{2028}d\u{2029}e\u{85}f", "a\nb\nc\nd\ne\nf"),
        (
            "remove_control_chars",
            "a\u{0}b\u{7}c\tk\n\u{C}\r\u{1F}\u{7F}\u{206A}\u{FEFF}\u{FFF9}\u{FFFC}\u{FFFD}\u{200B}",
            "abc\tk\n\u{C}\r\u{FFFD}\u{200B}"
        ),
        (
            "fix_latin_ligatures", "\u{FB02}u\u{FB03}e\u{FB06} \u{1F1} \u{1C5} \u{133} \u{149}",
            "fluffiest DZ D\u{17E} ij \u{2BC}n"
        ),
        (
            "fix_character_width",
            "\u{FF2C}\u{FF2F}\u{FF35}\u{FF24}\u{3000}\u{FF2E}\u{FF2F}\u{FF29}\u{FF33}\u{FF25}\u{FF33}", "LOUD NOISES"
        ),
        ("fix_character_width", "\u{FF35}\u{FF80}\u{FF70}\u{FF9D}", "U\u{30BF}\u{30FC}\u{30F3}"),
        ("uncurl_quotes", "\u{201C}here\u{2019}s a test\u{201D} \u{2BC}\u{201B}\u{201F}", "\"here's a test\" ''\""),
    ])
    func characterFixers(step: String, input: String, expected: String) {
        let fixers: [String: ([UInt32]) -> [UInt32]] = [
            "remove_terminal_escapes": SimpleFixes.removeTerminalEscapes,
            "fix_line_breaks": SimpleFixes.fixLineBreaks,
            "remove_control_chars": SimpleFixes.removeControlChars,
            "fix_latin_ligatures": SimpleFixes.fixLatinLigatures,
            "fix_character_width": SimpleFixes.fixCharacterWidth,
            "uncurl_quotes": SimpleFixes.uncurlQuotes,
        ]
        guard let fixer = fixers[step] else {
            Issue.record("unknown step \(step)")
            return
        }
        #expect(sameScalars(apply(fixer, input), expected), "\(step)")
    }

    /// str.lower, including the final-sigma context.
    @Test(arguments: [
        ("\u{391}\u{3A3}", "\u{3B1}\u{3C2}"), ("\u{391}\u{3A3} \u{392}", "\u{3B1}\u{3C2} \u{3B2}"),
        ("\u{3A3}", "\u{3C3}"),
        ("\u{391}\u{3A3}\u{301}", "\u{3B1}\u{3C2}\u{301}"), ("A'\u{3A3}'B", "a'\u{3C3}'b"), ("\u{130}", "i\u{307}"),
        ("\u{1E9E}", "\u{DF}"), ("\u{1C5}", "\u{1C6}"),
    ])
    func pythonLower(input: String, expected: String) {
        #expect(sameScalars(apply(PythonLowercase.lower, input), expected))
    }

    /// unicodedata.normalize("NFC", ...)
    @Test(arguments: [
        ("cafe\u{301}", "caf\u{E9}"), ("\u{212B}", "\u{C5}"), ("\u{1100}\u{1161}\u{11A8}", "\u{AC01}"),
        ("q\u{307}\u{323}", "q\u{323}\u{307}"), ("\u{1E9B}\u{323}", "\u{1E9B}\u{323}"),
        ("a\u{300}\u{301}", "\u{E0}\u{301}"),
    ])
    func nfc(input: String, expected: String) {
        #expect(sameScalars(apply(NFC.normalize, input), expected))
    }

    /// The SimpleTokenizer whitespace rules: regex \s collapses, str.strip strips (incl. U+001C-U+001F).
    @Test func whitespaceRules() {
        #expect(sameScalars(CLIPTextCleaner.clean("  a\u{A0}\u{2003}b\n\tc  "), "a b c"))
        #expect(CLIPTextCleaner.collapseRegexWhitespace(Scalars.of("a\u{1C}\u{1C}b")) == Scalars.of("a\u{1C}\u{1C}b"))
        #expect(CLIPTextCleaner.pythonStrip(Scalars.of("\u{1C} a \u{1F}")) == Scalars.of("a"))
        #expect(sameScalars(CLIPTextCleaner.clean(""), ""))
        #expect(sameScalars(CLIPTextCleaner.clean(" \u{3000} "), ""))
    }

    /// fix_text's per-line HTML rule: once a line contains '<', entities stay escaped from then on.
    @Test func htmlAutoModeIsSticky() {
        #expect(sameScalars(CLIPTextCleaner.fixText("&amp; a\n<b> &amp;\n&amp;"), "& a\n<b> &amp;\n&amp;"))
        // SimpleTokenizer then unescapes twice anyway.
        #expect(sameScalars(CLIPTextCleaner.clean("<b>&amp;amp;</b>"), "<b>&</b>"))
    }

    /// The examples in the DocC comments.
    @Test func documentationExamples() {
        #expect(sameScalars(CLIPTextCleaner.clean("  Caf\u{E9} &amp;amp; Bar  "), "caf\u{E9} & bar"))
        #expect(
            sameScalars(CLIPTextCleaner.fixText("The Mona Lisa doesn\u{E2}\u{20AC}\u{2122}t"), "The Mona Lisa doesn't"))
        #expect(sameScalars(CLIPTextCleaner.htmlUnescape("&lt;b&gt; &amp &#x41;"), "<b> & A"))
    }

    /// The cleaner is used from many threads at once (lazy tables are initialised once).
    @Test func concurrentUseGivesTheSameResults() async throws {
        let rows = Array(try Fixtures.cleaningRows("cleaning_fuzz").prefix(400))
        let mismatches = await withTaskGroup(of: Int.self) { group in
            for part in 0..<4 {
                group.addTask {
                    var bad = 0
                    for (i, row) in rows.enumerated() where i % 4 == part {
                        if !sameScalars(CLIPTextCleaner.clean(row.text), row.clean) { bad += 1 }
                    }
                    return bad
                }
            }
            return await group.reduce(0, +)
        }
        #expect(mismatches == 0)
    }

    /// The quiet-ASCII fast path of `clean` agrees with Python wherever it applies.
    @Test func quietASCIIFastPathMatchesPython() throws {
        var used = 0
        var mismatches = 0
        for row in try Fixtures.cleaningRows() + Fixtures.cleaningRows("cleaning_fuzz") {
            guard let fast = CLIPTextCleaner.cleanQuietASCII(row.text) else { continue }
            used += 1
            if !sameScalars(fast, row.clean) { mismatches += 1 }
        }
        print("quiet-ASCII fast path: \(used) rows, \(mismatches) mismatches")
        #expect(used > 1000)
        #expect(mismatches == 0)
        #expect(CLIPTextCleaner.cleanQuietASCII("a &amp; b") == nil)
        #expect(CLIPTextCleaner.cleanQuietASCII("a\r\nb") == nil)
        #expect(CLIPTextCleaner.cleanQuietASCII("caf\u{E9}") == nil)
        #expect(CLIPTextCleaner.cleanQuietASCII(" \tA  Photo\u{C}of\n") == "a photo of")
    }
}
