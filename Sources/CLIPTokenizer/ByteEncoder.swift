// Follows bytes_to_unicode() in openai/CLIP clip/simple_tokenizer.py (clip-anytorch 2.6.0).

/// The reversible map from the 256 byte values to printable Unicode scalars that byte-level
/// BPE works on: printable Latin-1 bytes map to themselves, the other 68 bytes to U+0100 ...
enum ByteEncoder {
    /// `scalars[b]` is the scalar standing for byte `b`.
    static let scalars: [Unicode.Scalar] = {
        let printable = Array(0x21...0x7E) + Array(0xA1...0xAC) + Array(0xAE...0xFF)
        var table = [UInt32](repeating: 0, count: 256)
        for b in printable { table[b] = UInt32(b) }
        var next: UInt32 = 256
        for b in 0..<256 where !printable.contains(b) {
            table[b] = next
            next += 1
        }
        return table.map { Unicode.Scalar($0)! }
    }()

    /// The bytes in the order SimpleTokenizer lists them in its vocabulary (ids 0 ..< 256).
    static let vocabularyOrder: [UInt8] = {
        let printable = Array(0x21...0x7E) + Array(0xA1...0xAC) + Array(0xAE...0xFF)
        let rest = (0..<256).filter { !printable.contains($0) }
        return (printable + rest).map { UInt8($0) }
    }()

    /// The inverse of ``scalars``: `byteOfScalar[s]` is the byte scalar `s` stands for, or -1.
    /// Every scalar of the alphabet is below ``scalarLimit``.
    static let byteOfScalar: [Int16] = {
        var table = [Int16](repeating: -1, count: Int(scalarLimit))
        for (b, s) in scalars.enumerated() { table[Int(s.value)] = Int16(b) }
        return table
    }()

    /// One past the largest scalar of the alphabet (U+0143).
    static let scalarLimit: UInt32 = 0x144

    /// The vocabulary string of one byte: its scalar.
    static func symbol(_ byte: UInt8) -> String { String(Character(scalars[Int(byte)])) }
}
