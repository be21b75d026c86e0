// Port of ftfy 6.3.1 `fix_encoding` (`ftfy/__init__.py` `_fix_encoding_one_step_and_explain`
// with the default TextFixerConfig) and the byte-level transcoders of `ftfy/fixes.py`:
// `restore_byte_a0`, `replace_lossy_sequences`, `decode_inconsistent_utf8`, `fix_c1_controls`.

enum FixEncoding {
    /// `ftfy.fix_encoding(text)`: repeat one step until nothing changes.
    static func fixEncoding(_ text: [UInt32]) -> [UInt32] {
        var text = text
        while true {
            let next = oneStep(text)
            if next == text { return text }
            text = next
        }
    }

    private static let latin1Index = 0  // CHARMAP_ENCODINGS[0] == "latin-1"

    static func oneStep(_ text: [UInt32]) -> [UInt32] {
        if text.isEmpty { return text }
        if text.allSatisfy({ $0 < 0x80 }) || !Badness.isBad(text) { return text }

        var latin1Possible = false
        for (index, codec) in SingleByteCodec.charmapEncodings.enumerated() where codec.canEncode(text) {
            if index == latin1Index { latin1Possible = true }
            var bytes = codec.encode(text)
            // macroman is excluded because an en dash followed by a space would match.
            if codec.name != "macroman" && containsAlteredUTF8(bytes) {
                bytes = restoreByteA0(bytes)
            }
            if codec.isSloppy {
                bytes = replaceLossySequences(bytes)
            }
            if let fixed = UTF8Variants.decode(bytes) { return fixed }
        }

        if UTF8Detector.firstMatch(text, from: 0) != nil {
            let fixed = decodeInconsistentUTF8(text)
            if fixed != text { return fixed }
        }

        // ftfy checks `"windows-1252" in possible_1byte_encodings`, but that list holds
        // "sloppy-windows-1252", so the check is always false: Latin-1 text is re-decoded as
        // strict Windows-1252 whenever that succeeds and changes something.
        if latin1Possible {
            if let fixed = latin1AsStrictWindows1252(text), fixed != text { return fixed }
        }

        if text.contains(where: { (0x80...0x9F).contains($0) }) {
            return fixC1Controls(text)
        }
        return text
    }

    /// `text.encode("latin-1").decode("windows-1252")`, nil if a byte is undefined in cp1252.
    private static func latin1AsStrictWindows1252(_ text: [UInt32]) -> [UInt32]? {
        var out: [UInt32] = []
        out.reserveCapacity(text.count)
        for c in text {
            if (0x80...0x9F).contains(c) {
                // Bytes 81, 8D, 8F, 90, 9D are undefined in Python's cp1252 codec.
                if c == 0x81 || c == 0x8D || c == 0x8F || c == 0x90 || c == 0x9D { return nil }
                out.append(SingleByteCodec.sloppyWindows1252.decode(UInt8(c)))
            } else {
                out.append(c)
            }
        }
        return out
    }

    /// `fixes.fix_c1_controls`: U+0080-U+009F read as sloppy Windows-1252.
    static func fixC1Controls(_ text: [UInt32]) -> [UInt32] {
        text.map { (0x80...0x9F).contains($0) ? SingleByteCodec.sloppyWindows1252.decode(UInt8($0)) : $0 }
    }

    // MARK: restore_byte_a0

    @inline(__always) private static func isAlteredCont(_ b: UInt8) -> Bool {
        // [\x80-\x84\x86-\x9f\xa1-\xbf]
        (0x80...0xBF).contains(b) && b != 0x85 && b != 0xA0
    }
    @inline(__always) private static func isCont(_ b: UInt8) -> Bool { (0x80...0xBF).contains(b) }

    /// Length of a chardata.ALTERED_UTF8_RE match at `i` (alternatives in pattern order), or 0.
    private static func alteredMatch(_ b: [UInt8], _ i: Int) -> Int {
        let n = b.count
        func at(_ k: Int) -> UInt8? { i + k < n ? b[i + k] : nil }
        guard let b0 = at(0) else { return 0 }
        switch b0 {
        case 0xC2, 0xC3, 0xC5, 0xCE, 0xD0, 0xD9: if at(1) == 0x20 { return 2 }
        default: break
        }
        if b0 == 0xE2 || b0 == 0xE3, at(1) == 0x20, let b2 = at(2), isAlteredCont(b2) { return 3 }
        if (0xE0...0xE3).contains(b0), let b1 = at(1), isAlteredCont(b1), at(2) == 0x20 { return 3 }
        if b0 == 0xF0, let b1 = at(1), let b2 = at(2), let b3 = at(3) {
            if b1 == 0x20 && isCont(b2) && isCont(b3) { return 4 }
            if isCont(b1) && b2 == 0x20 && isCont(b3) { return 4 }
            if isCont(b1) && isCont(b2) && b3 == 0x20 { return 4 }
        }
        return 0
    }

    static func containsAlteredUTF8(_ bytes: [UInt8]) -> Bool {
        // Every alternative has a space within its first four bytes; skip the rest cheaply.
        for i in bytes.indices where bytes[i] == 0x20 {
            for start in max(0, i - 3)...i where alteredMatch(bytes, start) > 0 { return true }
        }
        return false
    }

    /// `fixes.restore_byte_a0`.
    static func restoreByteA0(_ input: [UInt8]) -> [UInt8] {
        // A_GRAVE_WORD_RE: b"\xc3 (?! |quele|quela|quilo|s )" -> b"\xc3\xa0 "
        var bytes: [UInt8] = []
        bytes.reserveCapacity(input.count + 8)
        var i = 0
        let n = input.count
        func followedBy(_ start: Int, _ word: [UInt8]) -> Bool {
            start + word.count <= n && Array(input[start..<(start + word.count)]) == word
        }
        while i < n {
            if input[i] == 0xC3 && i + 1 < n && input[i + 1] == 0x20 {
                let rest = i + 2
                let excluded = [[0x20], Array("quele".utf8), Array("quela".utf8), Array("quilo".utf8), [0x73, 0x20]]
                    .contains { followedBy(rest, $0) }
                if !excluded {
                    bytes.append(contentsOf: [0xC3, 0xA0, 0x20])
                    i += 2
                    continue
                }
            }
            bytes.append(input[i])
            i += 1
        }
        // ALTERED_UTF8_RE.sub: spaces inside each match become A0.
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        i = 0
        while i < bytes.count {
            let length = alteredMatch(bytes, i)
            if length > 0 {
                for k in i..<(i + length) { out.append(bytes[k] == 0x20 ? 0xA0 : bytes[k]) }
                i += length
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return out
    }

    // MARK: replace_lossy_sequences

    /// Length of a chardata.LOSSY_UTF8_RE match at `i` (alternatives in pattern order), or 0.
    private static func lossyMatch(_ b: [UInt8], _ i: Int) -> Int {
        let n = b.count
        func at(_ k: Int) -> UInt8 { i + k < n ? b[i + k] : 0x00 }  // 0x00 matches no class below
        func lost(_ x: UInt8) -> Bool { x == 0x1A || x == 0x3F }  // [\x1a?]
        func contOrSub(_ x: UInt8) -> Bool { x == 0x1A || isCont(x) }  // [\x1a\x80-\xbf]
        func any3(_ x: UInt8) -> Bool { lost(x) || isCont(x) }  // [\x1a?\x80-\xbf]
        let b0 = at(0)
        if (0xC2...0xDF).contains(b0) && at(1) == 0x1A { return 2 }
        if (0xC2...0xC3).contains(b0) && at(1) == 0x3F { return 2 }
        if b0 == 0xED {
            if (0xA0...0xAF).contains(at(1)) && lost(at(2)) && at(3) == 0xED && (0xB0...0xBF).contains(at(4))
                && any3(at(5))
            {
                return 6
            }
            if (0xA0...0xAF).contains(at(1)) && any3(at(2)) && at(3) == 0xED && (0xB0...0xBF).contains(at(4))
                && lost(at(5))
            {
                return 6
            }
        }
        if (0xE0...0xEF).contains(b0) {
            if lost(at(1)) && contOrSub(at(2)) { return 3 }
            if contOrSub(at(1)) && lost(at(2)) { return 3 }
        }
        if (0xF0...0xF4).contains(b0) {
            if lost(at(1)) && contOrSub(at(2)) && contOrSub(at(3)) { return 4 }
            if contOrSub(at(1)) && lost(at(2)) && contOrSub(at(3)) { return 4 }
            if contOrSub(at(1)) && contOrSub(at(2)) && lost(at(3)) { return 4 }
        }
        if b0 == 0x1A { return 1 }
        return 0
    }

    /// `fixes.replace_lossy_sequences`: each LOSSY_UTF8_RE match becomes EF BF BD (U+FFFD).
    static func replaceLossySequences(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            // Guard the sentinel: at(k) past the end returns 0x00, which no class accepts.
            let length = lossyMatch(bytes, i)
            if length > 0 {
                out.append(contentsOf: [0xEF, 0xBF, 0xBD])
                i += length
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return out
    }

    // MARK: decode_inconsistent_utf8

    /// `fixes.decode_inconsistent_utf8`: fix each UTF8_DETECTOR_RE match that looks bad on its own.
    static func decodeInconsistentUTF8(_ text: [UInt32]) -> [UInt32] {
        var out: [UInt32] = []
        out.reserveCapacity(text.count)
        var position = 0
        while let match = UTF8Detector.firstMatch(text, from: position) {
            out.append(contentsOf: text[position..<match.lowerBound])
            let piece = text[match]
            if piece.count < text.count && Badness.isBad(piece) {
                out.append(contentsOf: fixEncoding(Array(piece)))
            } else {
                out.append(contentsOf: piece)
            }
            position = match.upperBound
        }
        out.append(contentsOf: text[position...])
        return out
    }
}
