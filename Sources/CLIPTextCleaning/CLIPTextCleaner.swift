// Text cleaning exactly as OpenAI CLIP's clip/simple_tokenizer.py:
// `whitespace_clean(basic_clean(text)).lower()`, with ftfy 6.3.1 `fix_text` (default
// TextFixerConfig), CPython 3.11 `html.unescape`, `str.strip`, `str.lower`, and the `regex`
// module's `\s`. Tables come from scripts/reference/gen_cleaning_tables.py.

/// The text normalisation that OpenAI's `SimpleTokenizer` applies before splitting.
///
/// ```swift
/// CLIPTextCleaner.clean("  Caf\u{E9} &amp;amp; Bar  ")  // "café & bar"
/// CLIPTextCleaner.fixText("The Mona Lisa doesnâ€™t")     // "The Mona Lisa doesn't"
/// ```
///
/// All functions are pure and thread-safe; they run in time linear in the input length.
public enum CLIPTextCleaner {
    /// ftfy.fix_text with the default configuration (ftfy 6.3.1).
    ///
    /// Repairs mojibake (UTF-8 read as Latin-1, Windows-125x, MacRoman, cp437, including
    /// double encodings and lost bytes), decodes HTML entities (unless the line, or an earlier
    /// one, contains `<`), removes terminal escapes and control characters, expands Latin
    /// ligatures, narrows full-width characters, straightens curly quotes, unifies line breaks
    /// and applies NFC. Like ftfy, it works line by line (segments of at most 1,000,000
    /// characters).
    public static func fixText(_ text: String) -> String {
        Scalars.string(fixText(scalars: Scalars.of(text)))
    }

    /// Python's html.unescape (HTML5 entity table, numeric refs, Python's rules for missing semicolons and invalid code points).
    ///
    /// ```swift
    /// CLIPTextCleaner.htmlUnescape("&lt;b&gt; &amp &#x41;")  // "<b> & A"
    /// ```
    public static func htmlUnescape(_ text: String) -> String {
        Scalars.string(HTMLEntities.unescape(Scalars.of(text)))
    }

    /// Exactly the string SimpleTokenizer passes to its splitting regex.
    ///
    /// `whitespace_clean(basic_clean(text)).lower()`: ``fixText(_:)``, ``htmlUnescape(_:)``
    /// twice, strip, collapse every run of `regex` `\s` into one space, strip, Python `lower()`.
    public static func clean(_ text: String) -> String {
        if let fast = cleanQuietASCII(text) { return fast }
        var scalars = fixText(scalars: Scalars.of(text))
        scalars = HTMLEntities.unescape(HTMLEntities.unescape(scalars))
        scalars = pythonStrip(scalars)
        scalars = collapseRegexWhitespace(scalars)
        scalars = pythonStrip(scalars)
        return Scalars.string(PythonLowercase.lower(scalars))
    }

    // MARK: - Internals (scalar arrays)

    /// `clean` for ASCII text in which no fixer touches anything (no `&`, `\r`, or control
    /// characters other than `\t \n \f`): ftfy and html.unescape return it unchanged, so only
    /// the whitespace rules and ASCII lower-casing remain. Returns nil for any other text.
    static func cleanQuietASCII(_ text: String) -> String? {
        text.utf8.withContiguousStorageIfAvailable { bytes -> String? in
            var out: [UInt8] = []
            out.reserveCapacity(bytes.count)
            var pendingSpace = false
            for b in bytes {
                switch b {
                case 0x09, 0x0A, 0x0C, 0x20:
                    // Runs of regex `\s` become one space; leading/trailing ones are stripped.
                    pendingSpace = !out.isEmpty
                case 0x26, 0x0D, 0x7F, 0x80...0xFF, 0x00...0x1F:
                    return nil
                default:
                    if pendingSpace {
                        out.append(0x20)
                        pendingSpace = false
                    }
                    out.append((0x41...0x5A).contains(b) ? b + 0x20 : b)
                }
            }
            return String(decoding: out, as: UTF8.self)
        } ?? nil
    }

    /// Python's `max_decode_length` default.
    static let maxDecodeLength = 1_000_000

    /// `ftfy.fix_text`: fix each line (or 1,000,000-character piece) on its own.
    static func fixText(scalars text: [UInt32], maxDecodeLength: Int = maxDecodeLength) -> [UInt32] {
        var out: [UInt32] = []
        out.reserveCapacity(text.count)
        // "auto" turns into False at the first segment containing '<' and stays off.
        var unescapeHTML = true
        var position = 0
        while position < text.count {
            var end = text[position...].firstIndex(of: 0x0A).map { $0 + 1 } ?? text.count
            if end - position > maxDecodeLength { end = position + maxDecodeLength }
            let segment = Array(text[position..<end])
            if unescapeHTML && segment.contains(0x3C) { unescapeHTML = false }
            out.append(contentsOf: fixSegment(segment, unescapeHTML: unescapeHTML))
            position = end
        }
        return out
    }

    /// `ftfy.fix_and_explain` without explanations: apply every fixer until nothing changes.
    static func fixSegment(_ segment: [UInt32], unescapeHTML: Bool) -> [UInt32] {
        // Fast path, same result: with no character any fixer touches and no mojibake, the
        // first round changes nothing, so ftfy returns the segment as it is.
        if !segment.contains(where: QuietCharacters.isTouched)
            && (segment.allSatisfy { $0 < 0x80 } || !Badness.isBad(segment))
        {
            return segment
        }
        var text = segment
        while true {
            let original = text
            if unescapeHTML { text = HTMLEntities.ftfyUnescape(text) }
            text = FixEncoding.fixEncoding(text)
            text = FixEncoding.fixC1Controls(text)
            text = SimpleFixes.fixLatinLigatures(text)
            text = SimpleFixes.fixCharacterWidth(text)
            text = SimpleFixes.uncurlQuotes(text)
            text = SimpleFixes.fixLineBreaks(text)
            text = SimpleFixes.removeTerminalEscapes(text)
            text = SimpleFixes.removeControlChars(text)
            text = NFC.normalize(text)
            if text == original { return text }
        }
    }

    /// Python `str.strip()` (str.isspace characters, which include U+001C-U+001F).
    static func pythonStrip(_ text: [UInt32]) -> [UInt32] {
        guard let first = text.firstIndex(where: { !PythonClasses.isSpace.contains($0) }),
            let last = text.lastIndex(where: { !PythonClasses.isSpace.contains($0) })
        else { return [] }
        return Array(text[first...last])
    }

    /// `regex.sub(r"\s+", " ", text)` (the `regex` module's \s is Unicode White_Space).
    static func collapseRegexWhitespace(_ text: [UInt32]) -> [UInt32] {
        var out: [UInt32] = []
        out.reserveCapacity(text.count)
        var inSpace = false
        for c in text {
            if PythonClasses.regexSpace.contains(c) {
                if !inSpace { out.append(0x20) }
                inSpace = true
            } else {
                out.append(c)
                inSpace = false
            }
        }
        return out
    }
}
