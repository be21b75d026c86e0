// Port of the character-level fixers of ftfy 6.3.1 `ftfy/fixes.py`: fix_latin_ligatures,
// fix_character_width, uncurl_quotes, fix_line_breaks, remove_terminal_escapes,
// remove_control_chars. (fix_surrogates has nothing to do: a Swift string holds no surrogates,
// and no step here can produce one.)

enum SimpleFixes {
    static let ligatures = TableParsing.scalarMap(GeneratedUnicodeTables.ligatures)
    static let widthMap = TableParsing.scalarMap(GeneratedUnicodeTables.widthMap)
    static let controlChars = ScalarSet(GeneratedUnicodeTables.controlChars)

    /// `str.translate` with a table of scalar -> replacement.
    static func translate(_ text: [UInt32], _ table: [UInt32: [UInt32]], when inRange: (UInt32) -> Bool) -> [UInt32] {
        guard text.contains(where: { inRange($0) && table[$0] != nil }) else { return text }
        var out: [UInt32] = []
        out.reserveCapacity(text.count)
        for c in text {
            if inRange(c), let replacement = table[c] { out.append(contentsOf: replacement) } else { out.append(c) }
        }
        return out
    }

    /// `fix_latin_ligatures` (ĳ, ǆ, ﬁ, ...).
    static func fixLatinLigatures(_ text: [UInt32]) -> [UInt32] {
        translate(text, ligatures) { (0x132...0x1F3).contains($0) || (0xFB00...0xFB06).contains($0) }
    }

    /// `fix_character_width`: full-width ASCII, half-width katakana/hangul, U+3000.
    static func fixCharacterWidth(_ text: [UInt32]) -> [UInt32] {
        translate(text, widthMap) { $0 == 0x3000 || (0xFF01...0xFFEF).contains($0) }
    }

    /// `uncurl_quotes`: [\u201c-\u201f] -> '"', [\u02bc\u2018-\u201b] -> "'".
    static func uncurlQuotes(_ text: [UInt32]) -> [UInt32] {
        text.map { c in
            if (0x201C...0x201F).contains(c) { return 0x22 }
            if c == 0x2BC || (0x2018...0x201B).contains(c) { return 0x27 }
            return c
        }
    }

    /// `fix_line_breaks`: \r\n, \r, U+2028, U+2029, U+0085 -> \n.
    static func fixLineBreaks(_ text: [UInt32]) -> [UInt32] {
        var out: [UInt32] = []
        out.reserveCapacity(text.count)
        var i = 0
        while i < text.count {
            let c = text[i]
            if c == 0x0D {
                out.append(0x0A)
                if i + 1 < text.count && text[i + 1] == 0x0A { i += 1 }
            } else if c == 0x2028 || c == 0x2029 || c == 0x85 {
                out.append(0x0A)
            } else {
                out.append(c)
            }
            i += 1
        }
        return out
    }

    /// `remove_terminal_escapes`: ANSI_RE = "\033\[((?:\d|;)*)([a-zA-Z])" (Unicode \d).
    static func removeTerminalEscapes(_ text: [UInt32]) -> [UInt32] {
        guard text.contains(0x1B) else { return text }
        var out: [UInt32] = []
        out.reserveCapacity(text.count)
        var i = 0
        while i < text.count {
            if text[i] == 0x1B && i + 1 < text.count && text[i + 1] == 0x5B {
                var j = i + 2
                while j < text.count && (text[j] == 0x3B || PythonClasses.reDigit.contains(text[j])) { j += 1 }
                if j < text.count && isASCIILetter(text[j]) {
                    i = j + 1
                    continue
                }
            }
            out.append(text[i])
            i += 1
        }
        return out
    }

    @inline(__always)
    static func isASCIILetter(_ c: UInt32) -> Bool { (0x41...0x5A).contains(c) || (0x61...0x7A).contains(c) }

    /// `remove_control_chars`: C0 controls except \t \n \f \r, DEL, U+206A-U+206F, U+FEFF, U+FFF9-U+FFFC.
    static func removeControlChars(_ text: [UInt32]) -> [UInt32] {
        text.filter { !controlChars.contains($0) }
    }
}
