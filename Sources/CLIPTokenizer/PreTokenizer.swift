// Follows the splitting pattern of openai/CLIP clip/simple_tokenizer.py (clip-anytorch 2.6.0):
//   <\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
// compiled with regex.IGNORECASE by the Python `regex` module 2024.11.6 and used with findall.

/// Splits cleaned text into the words that BPE encodes, exactly as `regex.findall` does with
/// SimpleTokenizer's pattern, in one left-to-right pass over the UTF-8 bytes (linear time).
///
/// At each position the alternatives are tried in the pattern's order; a scalar that starts no
/// alternative (whitespace) is skipped, as findall does. Character classes come from
/// ``UnicodeClassTable``, generated from the `regex` module itself, so they match its Unicode
/// version and its case-insensitive class matching rather than Swift's Unicode tables.
enum PreTokenizer {
    static let letter: UInt8 = 1
    static let number: UInt8 = 2
    static let other: UInt8 = 4

    /// The class bits of the 128 ASCII scalars, the hot path.
    private static let asciiClasses: [UInt8] = (0..<128).map { lookupClasses(UInt32($0)) }

    /// For each literal ASCII byte of the pattern, the scalars equal to it under IGNORECASE.
    private static let equivalents: [[UInt32]] = {
        var table = [[UInt32]](repeating: [], count: 128)
        for (byte, scalars) in UnicodeClassTable.literalEquivalents { table[Int(byte)] = scalars }
        return table
    }()

    static let specialTokens: [[UInt8]] = [Array("<|startoftext|>".utf8), Array("<|endoftext|>".utf8)]
    /// The contraction tails after the apostrophe, in the pattern's order.
    static let contractions: [[UInt8]] = ["s", "t", "re", "ve", "m", "ll", "d"].map { Array($0.utf8) }

    static func classes(of scalar: UInt32) -> UInt8 {
        scalar < 128 ? asciiClasses[Int(scalar)] : lookupClasses(scalar)
    }

    static func lookupClasses(_ scalar: UInt32) -> UInt8 {
        // Binary search for the last run starting at or before `scalar`.
        let starts = UnicodeClassTable.starts
        var lo = 0, hi = starts.count
        while hi - lo > 1 {
            let mid = (lo + hi) / 2
            if starts[mid] <= scalar { lo = mid } else { hi = mid }
        }
        return UnicodeClassTable.classes[lo]
    }

    /// Decodes the scalar starting at `i` of valid UTF-8 and returns it with its length in bytes.
    @inline(__always)
    static func scalar(at i: Int, in text: UnsafeBufferPointer<UInt8>) -> (value: UInt32, length: Int) {
        let b0 = UInt32(text[i])
        if b0 < 0x80 { return (b0, 1) }
        if b0 < 0xE0 { return ((b0 & 0x1F) << 6 | UInt32(text[i + 1] & 0x3F), 2) }
        if b0 < 0xF0 {
            return ((b0 & 0x0F) << 12 | UInt32(text[i + 1] & 0x3F) << 6 | UInt32(text[i + 2] & 0x3F), 3)
        }
        return (
            (b0 & 0x07) << 18 | UInt32(text[i + 1] & 0x3F) << 12
                | UInt32(text[i + 2] & 0x3F) << 6 | UInt32(text[i + 3] & 0x3F), 4
        )
    }

    /// Matches the ASCII `literal` case-insensitively at byte `i`; returns the end offset.
    static func match(_ literal: [UInt8], at i: Int, in text: UnsafeBufferPointer<UInt8>) -> Int? {
        var j = i
        for byte in literal {
            guard j < text.count else { return nil }
            let (value, length) = scalar(at: j, in: text)
            guard equivalents[Int(byte)].contains(value) else { return nil }
            j += length
        }
        return j
    }

    /// Calls `body` with the byte range of each word of `text` (valid UTF-8), in order.
    static func split(_ text: UnsafeBufferPointer<UInt8>, _ body: (Range<Int>) -> Void) {
        asciiClasses.withUnsafeBufferPointer { ascii in
            var words = Words(text: text, ascii: ascii)
            while let range = words.next() { body(range) }
        }
    }

    /// Runs `body` with an iterator over the words of `text` (valid UTF-8). An iterator rather
    /// than a callback keeps the caller's loop free of captured variables, which Swift would
    /// check for exclusive access on every word.
    static func withWords<R>(of text: UnsafeBufferPointer<UInt8>, _ body: (inout Words) -> R) -> R {
        asciiClasses.withUnsafeBufferPointer { ascii in
            var words = Words(text: text, ascii: ascii)
            return body(&words)
        }
    }

    /// The words of a text, left to right.
    struct Words {
        let text: UnsafeBufferPointer<UInt8>
        /// The class bits of the ASCII scalars (a local copy: reading a `static let` in the loop
        /// would check its lazy initialisation on every scalar).
        let ascii: UnsafeBufferPointer<UInt8>
        var i = 0

        @inline(__always)
        private func classes(of scalar: UInt32) -> UInt8 {
            scalar < 128 ? ascii[Int(scalar)] : PreTokenizer.lookupClasses(scalar)
        }

        /// The byte range of the next word, or nil at the end.
        mutating func next() -> Range<Int>? {
            let n = text.count
            while i < n {
                let start = i
                let (value, length) = PreTokenizer.scalar(at: i, in: text)
                // 1. The special tokens and the contractions (literals, tried in the pattern's order).
                if value == 0x3C {  // "<" has no case variants
                    if let end = PreTokenizer.match(specialTokens[0], at: i, in: text)
                        ?? PreTokenizer.match(specialTokens[1], at: i, in: text)
                    {
                        i = end
                        return start..<end
                    }
                } else if value == 0x27 {  // "'" has no case variants
                    for tail in contractions {
                        if let end = PreTokenizer.match(tail, at: i + 1, in: text) {
                            i = end
                            return start..<end
                        }
                    }
                }
                let bits = classes(of: value)
                if bits & letter != 0 {
                    // 2. [\p{L}]+, with a fast path over ASCII letters.
                    var j = i + length
                    while j < n && text[j] < 0x80 && ascii[Int(text[j])] & letter != 0 { j += 1 }
                    while j < n {
                        let (v, l) = PreTokenizer.scalar(at: j, in: text)
                        guard classes(of: v) & letter != 0 else { break }
                        j += l
                    }
                    i = j
                    return start..<j
                } else if bits & number != 0 {
                    // 3. [\p{N}]: one scalar per word.
                    i += length
                    return start..<i
                } else if bits & other != 0 {
                    // 4. [^\s\p{L}\p{N}]+
                    var j = i + length
                    while j < n {
                        let (v, l) = PreTokenizer.scalar(at: j, in: text)
                        guard classes(of: v) & other != 0 else { break }
                        j += l
                    }
                    i = j
                    return start..<j
                }
                // Whitespace: no alternative matches here; findall moves on by one scalar.
                i += length
            }
            return nil
        }
    }
}
