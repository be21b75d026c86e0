// Character classes of ftfy's regexes (one bit per set, from ftfy 6.3.1 chardata/badness) and
// of Python's own regex engines (CPython 3.11 `re`, `regex` 2024.11.6), from generated tables.

/// The 64 small character sets used by ftfy's regexes, as one bit mask per BMP character.
enum CharacterMasks {
    static let bmp: [UInt64] = {
        var masks = [UInt64](repeating: 0, count: 0x10000)
        for (bit, text) in GeneratedCharacterSets.sets.enumerated() {
            for member in ScalarRanges(text).members where member < 0x10000 {
                masks[Int(member)] |= 1 << UInt64(bit)
            }
        }
        return masks
    }()

    @inline(__always)
    static func mask(_ scalar: UInt32) -> UInt64 {
        scalar < 0x10000 ? bmp[Int(scalar)] : 0
    }
}

/// Python `re` / `regex` / `str` character classes from CPython 3.11.
enum PythonClasses {
    static let reSpace = ScalarSet(GeneratedUnicodeTables.reSpace)
    static let reWord = ScalarSet(GeneratedUnicodeTables.reWord)
    static let reDigit = ScalarSet(GeneratedUnicodeTables.reDigit)
    static let regexSpace = ScalarSet(GeneratedUnicodeTables.regexSpace)
    static let isSpace = ScalarSet(GeneratedUnicodeTables.pythonIsSpace)
}
