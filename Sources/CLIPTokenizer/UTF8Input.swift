import Foundation

/// Strict UTF-8 decoding for text read from stdin or files: bad bytes are an error with their
/// offset, never silently replaced (a replaced character would change the token ids).
public enum UTF8Input {
    /// Decodes `bytes` as UTF-8 (RFC 3629: no overlong forms, no surrogates, at most U+10FFFF).
    ///
    /// ```swift
    /// let text = try UTF8Input.decode(FileHandle.standardInput.readDataToEndOfFile())
    /// ```
    /// - Throws: ``TokenizerError/invalidUTF8(offset:)`` with the offset of the first byte of the
    ///   first invalid sequence.
    public static func decode<Bytes: Collection>(_ bytes: Bytes) throws -> String where Bytes.Element == UInt8 {
        let array = Array(bytes)
        if let offset = firstInvalidOffset(array) { throw TokenizerError.invalidUTF8(offset: offset) }
        return String(decoding: array, as: UTF8.self)
    }

    /// The offset of the first byte that starts an invalid sequence, or nil if `bytes` is UTF-8.
    public static func firstInvalidOffset(_ bytes: [UInt8]) -> Int? {
        var i = 0
        let n = bytes.count
        while i < n {
            let b0 = bytes[i]
            if b0 < 0x80 {
                i += 1
                continue
            }
            let length: Int
            var lo: UInt8 = 0x80, hi: UInt8 = 0xBF  // the allowed range of the second byte
            switch b0 {
            case 0xC2...0xDF: length = 2
            case 0xE0:
                length = 3
                lo = 0xA0  // no overlong 3-byte forms
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED:
                length = 3
                hi = 0x9F  // no UTF-16 surrogates
            case 0xF0:
                length = 4
                lo = 0x90  // no overlong 4-byte forms
            case 0xF1...0xF3: length = 4
            case 0xF4:
                length = 4
                hi = 0x8F  // nothing above U+10FFFF
            default: return i
            }
            guard i + length <= n, (lo...hi).contains(bytes[i + 1]) else { return i }
            for k in 2..<max(length, 2) where !(0x80...0xBF).contains(bytes[i + k]) { return i }
            i += length
        }
        return nil
    }
}
