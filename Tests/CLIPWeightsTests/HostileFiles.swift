import Foundation

@testable import CLIPWeights

/// Builders for small hostile files, made inside the tests (no fixtures): zip archives whose
/// entries declare any sizes, pickles written opcode by opcode, raw DEFLATE streams.
enum HostileFiles {
    struct ZipEntry {
        var name: String
        /// The bytes stored in the archive (already compressed when `method` is 8).
        var data: [UInt8]
        var method: UInt16 = 0
        /// Declared sizes and CRC; nil means the honest value for a stored entry.
        var uncompressedSize: UInt64? = nil
        var crc: UInt32? = nil
    }

    /// A zip archive; entries whose declared size does not fit 32 bits get a zip64 extra field.
    static func zip(_ entries: [ZipEntry]) -> [UInt8] {
        var out: [UInt8] = []
        var directory: [UInt8] = []
        for entry in entries {
            let offset = out.count
            let name = Array(entry.name.utf8)
            let size = entry.uncompressedSize ?? UInt64(entry.data.count)
            let crc = entry.crc ?? entry.data.withUnsafeBytes { crc32($0) }
            let isZip64 = size >= 0xFFFF_FFFF
            out += le32(0x0403_4b50) + le16(20) + le16(0) + le16(entry.method) + le32(0) + le32(crc)
            out += le32(UInt32(entry.data.count)) + le32(isZip64 ? 0xFFFF_FFFF : UInt32(size))
            out += le16(UInt16(name.count)) + le16(0) + name + entry.data
            let extra: [UInt8] = isZip64 ? le16(1) + le16(8) + le64(size) : []
            directory += le32(0x0201_4b50) + le16(45) + le16(20) + le16(0) + le16(entry.method) + le32(0) + le32(crc)
            directory += le32(UInt32(entry.data.count)) + le32(isZip64 ? 0xFFFF_FFFF : UInt32(size))
            directory += le16(UInt16(name.count)) + le16(UInt16(extra.count)) + le16(0) + le16(0) + le16(0)
            directory += le32(0) + le32(UInt32(offset)) + name + extra
        }
        let directoryOffset = out.count
        out += directory
        out += le32(0x0605_4b50) + le16(0) + le16(0) + le16(UInt16(entries.count)) + le16(UInt16(entries.count))
        out += le32(UInt32(directory.count)) + le32(UInt32(directoryOffset)) + le16(0)
        return out
    }

    /// A torch.save-style archive: `archive/data.pkl` plus `archive/data/<key>` records.
    static func torchArchive(pickle: ZipEntry, records: [String: [UInt8]] = [:]) -> [UInt8] {
        zip(
            [pickle]
                + records.sorted { $0.key < $1.key }.map { ZipEntry(name: "archive/data/\($0.key)", data: $0.value) })
    }

    /// A DEFLATE stream (one fixed-Huffman block) of `count` zero bytes: a literal 0, then
    /// 258-byte copies at distance 1, then literals for the rest. ~13 bits per 258 bytes.
    static func deflatedZeros(_ count: Int) -> [UInt8] {
        var writer = BitWriter()
        writer.write(1, bits: 1)  // BFINAL
        writer.write(1, bits: 2)  // fixed Huffman
        func literal(_ value: Int) {
            // Literals 0...143 are the 8-bit codes 0x30 + value, sent most significant bit first.
            writer.writeReversed(0x30 + value, bits: 8)
        }
        var produced = 0
        if count > 0 {
            literal(0)
            produced = 1
        }
        while count - produced >= 258 {
            writer.writeReversed(0xC5, bits: 8)  // length symbol 285 (258 bytes): 8-bit code 0xC0 + 5
            writer.writeReversed(0, bits: 5)  // distance code 0 (distance 1)
            produced += 258
        }
        while produced < count {
            literal(0)
            produced += 1
        }
        writer.writeReversed(0, bits: 7)  // end of block (symbol 256): 7-bit code 0
        return writer.bytes
    }

    struct BitWriter {
        var bytes: [UInt8] = []
        var bitCount = 0

        /// Writes `value` least significant bit first (header fields, extra bits).
        mutating func write(_ value: Int, bits: Int) {
            for i in 0..<bits { push((value >> i) & 1) }
        }

        /// Writes a Huffman code most significant bit first.
        mutating func writeReversed(_ code: Int, bits: Int) {
            for i in stride(from: bits - 1, through: 0, by: -1) { push((code >> i) & 1) }
        }

        private mutating func push(_ bit: Int) {
            if bitCount % 8 == 0 { bytes.append(0) }
            bytes[bytes.count - 1] |= UInt8(bit) << UInt8(bitCount % 8)
            bitCount += 1
        }
    }

    /// Pickle opcodes, written as torch.save (protocol 2) would.
    enum Pickle {
        static let proto: [UInt8] = [0x80, 2]
        static let mark: [UInt8] = [0x28]
        static let tuple: [UInt8] = [0x74]
        static let emptyTuple: [UInt8] = [0x29]
        static let emptyDict: [UInt8] = [0x7D]
        static let emptyList: [UInt8] = [0x5D]
        static let append: [UInt8] = [0x61]
        static let setItem: [UInt8] = [0x73]
        static let reduce: [UInt8] = [0x52]
        static let persistentID: [UInt8] = [0x51]
        static let newFalse: [UInt8] = [0x89]
        static let dup: [UInt8] = [0x32]
        static let pop: [UInt8] = [0x30]
        static let stop: [UInt8] = [0x2E]

        static func string(_ text: String) -> [UInt8] {
            let utf8 = Array(text.utf8)
            return [0x58] + le32(UInt32(utf8.count)) + utf8
        }

        static func int(_ value: Int32) -> [UInt8] { [0x4A] + le32(UInt32(bitPattern: value)) }

        static func global(_ module: String, _ name: String) -> [UInt8] {
            [0x63] + Array("\(module)\n\(name)\n".utf8)
        }

        static func longPut(_ index: UInt32) -> [UInt8] { [0x72] + le32(index) }

        /// `{name: _rebuild_tensor_v2(storage key "0" of `count` floats, offset, shape, strides)}`.
        static func stateDict(name: String, count: Int32, shape: [Int32], strides: [Int32]) -> [UInt8] {
            var out = proto + emptyDict + string(name)
            out += global("torch._utils", "_rebuild_tensor_v2") + mark
            out += mark + string("storage") + global("torch", "FloatStorage") + string("0") + string("cpu")
            out += int(count) + tuple + persistentID
            out += int(0)
            out += mark + shape.flatMap(int) + tuple
            out += mark + strides.flatMap(int) + tuple
            out += newFalse + global("collections", "OrderedDict") + emptyTuple + reduce
            out += tuple + reduce + setItem + stop
            return out
        }
    }

    static func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
    static func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * $0)) & 0xFF) } }
    static func le64(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8((v >> (8 * UInt64($0))) & 0xFF) } }

    /// Writes `bytes` to a fresh temporary file, calls `body` with its URL, then deletes it.
    static func withFile<R>(_ bytes: [UInt8], name: String, _ body: (URL) throws -> R) throws -> R {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(
            "clip-hostile-\(getpid())-\(UUID().uuidString)-\(name)")
        try Data(bytes).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        return try body(url)
    }
}

private func le16(_ v: UInt16) -> [UInt8] { HostileFiles.le16(v) }
private func le32(_ v: UInt32) -> [UInt8] { HostileFiles.le32(v) }
private func le64(_ v: UInt64) -> [UInt8] { HostileFiles.le64(v) }
