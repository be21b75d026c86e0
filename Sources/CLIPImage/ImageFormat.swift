/// The file formats CLIPImage decodes, recognised by their first bytes, never by the file name.
///
/// ```swift
/// ImageFormat.sniff([0xFF, 0xD8, 0xFF, 0xE0])   // .jpeg
/// ```
public enum ImageFormat: String, Sendable, Equatable {
    /// JPEG (`FF D8 FF`): baseline, progressive, grey, YCbCr, CMYK, YCCK; 8-bit.
    case jpeg = "JPEG"
    /// PNG (`89 50 4E 47 0D 0A 1A 0A`): every colour type and bit depth, interlaced or not.
    case png = "PNG"
    /// WebP (`RIFF....WEBP`): lossy, lossless, with or without alpha; not animated.
    case webp = "WebP"
    /// GIF (`GIF87a`, `GIF89a`): the first frame.
    case gif = "GIF"

    /// The format whose signature starts `bytes`, or nil.
    public static func sniff<Bytes: Collection>(_ bytes: Bytes) -> ImageFormat? where Bytes.Element == UInt8 {
        let head = Array(bytes.prefix(12))
        func starts(_ signature: [UInt8], at offset: Int = 0) -> Bool {
            head.count >= offset + signature.count && Array(head[offset..<offset + signature.count]) == signature
        }
        if starts([0xFF, 0xD8, 0xFF]) { return .jpeg }
        if starts([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if starts(Array("RIFF".utf8)) && starts(Array("WEBP".utf8), at: 8) { return .webp }
        if starts(Array("GIF87a".utf8)) || starts(Array("GIF89a".utf8)) { return .gif }
        return nil
    }

    /// A name for formats we recognise but do not decode, to make the error useful.
    static func describeUnsupported<Bytes: Collection>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        let head = Array(bytes.prefix(12))
        if head.isEmpty { return "the file is empty" }
        let known: [(String, [UInt8], Int)] = [
            ("BMP", Array("BM".utf8), 0),
            ("TIFF", [0x49, 0x49, 0x2A, 0x00], 0), ("TIFF", [0x4D, 0x4D, 0x00, 0x2A], 0),
            ("HEIF/AVIF", Array("ftyp".utf8), 4),
            ("JPEG 2000", [0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50], 0),
            ("PDF", Array("%PDF".utf8), 0),
        ]
        for (name, signature, offset) in known
        where head.count >= offset + signature.count
            && Array(head[offset..<offset + signature.count]) == signature
        {
            return "\(name) is not supported"
        }
        let hex = head.prefix(8).map { String($0, radix: 16).leftPadded(to: 2) }.joined(separator: " ")
        return "unknown format (first bytes \(hex))"
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
