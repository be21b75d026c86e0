import Foundation

/// Writes POSIX ustar archives of regular files, as WebDataset shards hold them: a 512-byte
/// header per member, the contents padded to 512 bytes, two zero blocks at the end.
///
/// ```swift
/// var tar = TarWriter()
/// try tar.append(name: "000000.png", contents: png)
/// try tar.append(name: "000000.txt", contents: Data("a red circle".utf8))
/// try tar.finish().write(to: URL(fileURLWithPath: "shard-000000.tar"))
/// ```
public struct TarWriter: Sendable {
    /// The archive so far.
    public private(set) var data = Data()
    /// Modification time written into headers (fixed, so archives are reproducible).
    public var modificationTime: Int = 0

    public init() {}

    /// Appends a regular file. Names up to 100 bytes go in the name field; longer ones up to
    /// 255 bytes are split at a '/' into ustar's prefix and name fields.
    public mutating func append(name: String, contents: Data) throws {
        var header = [UInt8](repeating: 0, count: 512)
        let bytes = Array(name.utf8)
        if bytes.count <= 100 {
            header.replaceSubrange(0..<bytes.count, with: bytes)
        } else if let split = Self.prefixSplit(bytes) {
            let prefix = bytes[..<split], rest = bytes[(split + 1)...]
            header.replaceSubrange(0..<rest.count, with: rest)
            header.replaceSubrange(345..<(345 + prefix.count), with: prefix)
        } else {
            throw DataError.tarNameTooLong(name)
        }
        Self.octal(0o644, into: &header, at: 100, width: 8)
        Self.octal(0, into: &header, at: 108, width: 8)
        Self.octal(0, into: &header, at: 116, width: 8)
        Self.octal(contents.count, into: &header, at: 124, width: 12)
        Self.octal(modificationTime, into: &header, at: 136, width: 12)
        header[156] = UInt8(ascii: "0")
        header.replaceSubrange(257..<263, with: Array("ustar\0".utf8))
        header.replaceSubrange(263..<265, with: Array("00".utf8))
        // The checksum is computed with its own field as spaces.
        for i in 148..<156 { header[i] = UInt8(ascii: " ") }
        let sum = header.reduce(0) { $0 + Int($1) }
        Self.octal(sum, into: &header, at: 148, width: 7)
        header[155] = UInt8(ascii: " ")
        data.append(contentsOf: header)
        data.append(contents)
        let padding = (512 - contents.count % 512) % 512
        data.append(Data(count: padding))
    }

    /// The archive with its two terminating zero blocks.
    public func finish() -> Data {
        var result = data
        result.append(Data(count: 1024))
        return result
    }

    /// Index of a '/' that leaves ≤ 155 bytes before and ≤ 100 after it.
    static func prefixSplit(_ bytes: [UInt8]) -> Int? {
        guard bytes.count <= 256 else { return nil }
        for i in stride(from: min(155, bytes.count - 1), through: 0, by: -1) where bytes[i] == UInt8(ascii: "/") {
            if bytes.count - i - 1 <= 100 && bytes.count - i - 1 > 0 { return i }
        }
        return nil
    }

    /// Zero-padded octal digits followed by NUL, in `width` bytes.
    static func octal(_ value: Int, into header: inout [UInt8], at offset: Int, width: Int) {
        let digits = Array(String(value, radix: 8).utf8)
        let count = width - 1
        precondition(digits.count <= count, "value does not fit the tar field")
        for i in 0..<count { header[offset + i] = UInt8(ascii: "0") }
        header.replaceSubrange((offset + count - digits.count)..<(offset + count), with: digits)
        header[offset + count] = 0
    }
}
