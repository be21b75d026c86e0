// Characters that some step of ftfy's fix_text may change (other than through fix_encoding).
// A segment without any of them, and without mojibake, is returned unchanged by fix_text.

enum QuietCharacters {
    private static let touched: ScalarSet = {
        var members: [UInt32] = [0x26]  // '&' (unescape_html)
        members += Array(0x00...0x08) + [0x0B, 0x0D] + Array(0x0E...0x1F) + [0x7F]  // controls, \r, ESC
        members += Array(0x80...0x9F) + [0x2028, 0x2029]  // C1 controls, line breaks
        members += [0x2BC] + Array(0x2018...0x201F)  // quotes
        members += Array(SimpleFixes.ligatures.keys) + Array(SimpleFixes.widthMap.keys)
        members += ScalarRanges(GeneratedUnicodeTables.controlChars).members
        // NFC: non-starters, characters NFC replaces (decomposable but not a primary
        // composite: singletons, exclusions), and characters that combine with a predecessor.
        members += Array(NFC.combiningClass.keys)
        let composites = Set(NFC.compositions.values)
        members += NFC.decomposition.keys.filter { !composites.contains($0) }
        members += NFC.compositions.keys.map { UInt32(truncatingIfNeeded: $0) }
        members += Array(0x1161...0x1175) + Array(0x11A8...0x11C2)  // Hangul V and T jamo
        return ScalarSet(members: members)
    }()

    @inline(__always)
    static func isTouched(_ c: UInt32) -> Bool { touched.contains(c) }
}
