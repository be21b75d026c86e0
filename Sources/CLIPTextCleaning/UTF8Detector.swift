// Port of ftfy 6.3.1 `chardata.UTF8_DETECTOR_RE` (used by fix_encoding and
// decode_inconsistent_utf8): runs of characters that look like UTF-8 bytes read as a
// single-byte encoding, found with the regex's leftmost / first-alternative semantics.

/// chardata.UTF8_DETECTOR_RE:
/// `(?<![cont_strict])([first2][cont]|[first3][cont]{2}|[first4][cont]{3})+`.
enum UTF8Detector {
    private static let first2: UInt64 = 1 << UInt64(GeneratedCharacterSets.utf8FirstOf2Bit)
    private static let first3: UInt64 = 1 << UInt64(GeneratedCharacterSets.utf8FirstOf3Bit)
    private static let first4: UInt64 = 1 << UInt64(GeneratedCharacterSets.utf8FirstOf4Bit)
    private static let cont: UInt64 = 1 << UInt64(GeneratedCharacterSets.utf8ContinuationBit)
    private static let contStrict: UInt64 = 1 << UInt64(GeneratedCharacterSets.utf8ContinuationStrictBit)

    /// Length of one repetition of the group at `i` (first alternative that matches), or 0.
    private static func unit(_ text: [UInt32], _ i: Int) -> Int {
        let n = text.count
        func has(_ k: Int, _ bit: UInt64) -> Bool { i + k < n && CharacterMasks.mask(text[i + k]) & bit != 0 }
        if has(0, first2) && has(1, cont) { return 2 }
        if has(0, first3) && has(1, cont) && has(2, cont) { return 3 }
        if has(0, first4) && has(1, cont) && has(2, cont) && has(3, cont) { return 4 }
        return 0
    }

    /// Leftmost match starting at or after `from` (the look-behind sees the whole text).
    static func firstMatch(_ text: [UInt32], from: Int) -> Range<Int>? {
        var i = from
        while i < text.count {
            if i > 0 && CharacterMasks.mask(text[i - 1]) & contStrict != 0 {
                i += 1
                continue
            }
            var end = i
            while true {
                let length = unit(text, end)
                if length == 0 { break }
                end += length
            }
            if end > i { return i..<end }
            i += 1
        }
        return nil
    }
}
