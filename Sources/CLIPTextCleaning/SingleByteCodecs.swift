// Port of the codecs ftfy 6.3.1 uses in `fix_encoding`: the single-byte encodings of
// `ftfy.chardata.CHARMAP_ENCODINGS` (with `ftfy/bad_codecs/sloppy.py` semantics) and
// `ftfy/bad_codecs/utf8_variants.py` (UTF-8 plus CESU-8 surrogate pairs and Java's C0 80).

/// One of ftfy's single-byte encodings, e.g. "sloppy-windows-1252".
struct SingleByteCodec: Sendable {
    let name: String
    /// Sloppy codecs also get `replace_lossy_sequences`.
    let isSloppy: Bool
    /// Bit of `CharacterMasks` for "this character can be encoded" (ftfy's `possible_encoding`).
    let possibleBit: Int
    private let decodeTable: [UInt32]
    private let encodeTable: [UInt32: UInt8]

    init(name: String, isSloppy: Bool, table: String, possibleBit: Int) {
        self.name = name
        self.isSloppy = isSloppy
        self.possibleBit = possibleBit
        decodeTable = TableParsing.hexList(table)
        precondition(decodeTable.count == 256, "generated codec table for \(name) is corrupt")
        var encode: [UInt32: UInt8] = [:]
        for (byte, scalar) in decodeTable.enumerated() { encode[scalar] = UInt8(byte) }
        encodeTable = encode
    }

    /// `chardata.possible_encoding(text, name)`.
    func canEncode<C: Collection>(_ text: C) -> Bool where C.Element == UInt32 {
        let bit: UInt64 = 1 << UInt64(possibleBit)
        for c in text where CharacterMasks.mask(c) & bit == 0 { return false }
        return true
    }

    /// `text.encode(name)`; only call after `canEncode`.
    func encode<C: Collection>(_ text: C) -> [UInt8] where C.Element == UInt32 {
        text.map { c in c < 0x80 && c != 0x1A ? UInt8(c) : (encodeTable[c] ?? 0x1A) }
    }

    /// `bytes.decode(name)` for bytes this codec produced.
    func decode(_ byte: UInt8) -> UInt32 { decodeTable[Int(byte)] }

    static let charmapEncodings: [SingleByteCodec] = zip(
        GeneratedCharacterSets.encodings, GeneratedCharacterSets.encodingBits
    ).map { SingleByteCodec(name: $0.0.name, isSloppy: $0.0.sloppy, table: $0.0.table, possibleBit: $0.1) }

    static let sloppyWindows1252: SingleByteCodec = {
        guard let codec = charmapEncodings.first(where: { $0.name == "sloppy-windows-1252" }) else {
            preconditionFailure("generated tables lack sloppy-windows-1252")
        }
        return codec
    }()
}

enum UTF8Variants {
    /// `bytes.decode("utf-8-variants")` (strict), or nil where Python raises UnicodeDecodeError.
    ///
    /// Standard strict UTF-8 (no overlongs, surrogates or values above U+10FFFF), plus:
    /// `C0 80` is U+0000; `ED A0-AF 80-BF ED B0-BF 80-BF` (CESU-8) is one supplementary
    /// character. Two quirks of ftfy's regexes are kept: their `$` also matches before a final
    /// `\n`, so a trailing `C0 0A` decodes to U+0000 and a six-byte CESU-8 sequence whose last
    /// byte is a final `0A` still decodes (swallowing the newline).
    static func decode(_ bytes: [UInt8]) -> [UInt32]? {
        var out: [UInt32] = []
        out.reserveCapacity(bytes.count)
        let n = bytes.count
        var i = 0
        while i < n {
            let b0 = bytes[i]
            if b0 < 0x80 {
                out.append(UInt32(b0))
                i += 1
                continue
            }
            if b0 == 0xC0 {
                if i + 1 < n && (bytes[i + 1] == 0x80 || (bytes[i + 1] == 0x0A && i + 2 == n)) {
                    out.append(0)
                    i += 2
                    continue
                }
                return nil
            }
            if b0 == 0xED && i + 1 < n && bytes[i + 1] >= 0xA0 {
                // Only a CESU-8 pair is accepted; a lone surrogate is an error.
                guard i + 5 < n, bytes[i + 1] <= 0xAF, isCont(bytes[i + 2]), bytes[i + 3] == 0xED,
                    (0xB0...0xBF).contains(bytes[i + 4]),
                    isCont(bytes[i + 5]) || (bytes[i + 5] == 0x0A && i + 6 == n)
                else { return nil }
                let high = (UInt32(bytes[i + 1] & 0x0F) << 16) + (UInt32(bytes[i + 2] & 0x3F) << 10)
                let low = (UInt32(bytes[i + 4] & 0x0F) << 6) + UInt32(bytes[i + 5] & 0x3F)
                out.append(high + low + 0x10000)
                i += 6
                continue
            }
            guard let (scalar, length) = decodeStandard(bytes, i) else { return nil }
            out.append(scalar)
            i += length
        }
        return out
    }

    @inline(__always)
    private static func isCont(_ b: UInt8) -> Bool { b & 0xC0 == 0x80 }

    /// One strict UTF-8 sequence starting at `i` (lead byte >= 0x80).
    private static func decodeStandard(_ bytes: [UInt8], _ i: Int) -> (UInt32, Int)? {
        let n = bytes.count
        let b0 = bytes[i]
        func byte(_ k: Int) -> UInt8? { i + k < n ? bytes[i + k] : nil }
        switch b0 {
        case 0xC2...0xDF:
            guard let b1 = byte(1), isCont(b1) else { return nil }
            return ((UInt32(b0 & 0x1F) << 6) | UInt32(b1 & 0x3F), 2)
        case 0xE0...0xEF:
            guard let b1 = byte(1), let b2 = byte(2), isCont(b1), isCont(b2) else { return nil }
            if b0 == 0xE0 && b1 < 0xA0 { return nil }  // overlong
            if b0 == 0xED && b1 >= 0xA0 { return nil }  // surrogate
            return ((UInt32(b0 & 0x0F) << 12) | (UInt32(b1 & 0x3F) << 6) | UInt32(b2 & 0x3F), 3)
        case 0xF0...0xF4:
            guard let b1 = byte(1), let b2 = byte(2), let b3 = byte(3), isCont(b1), isCont(b2), isCont(b3)
            else { return nil }
            if b0 == 0xF0 && b1 < 0x90 { return nil }  // overlong
            if b0 == 0xF4 && b1 >= 0x90 { return nil }  // above U+10FFFF
            let value =
                (UInt32(b0 & 0x07) << 18) | (UInt32(b1 & 0x3F) << 12) | (UInt32(b2 & 0x3F) << 6)
                | UInt32(b3 & 0x3F)
            return (value, 4)
        default:
            return nil
        }
    }
}
