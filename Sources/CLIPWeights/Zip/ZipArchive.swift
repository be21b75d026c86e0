// Follows the PKWARE APPNOTE 6.3.10 (sections 4.3.7 local header, 4.3.12 central directory,
// 4.3.14-4.3.16 end of central directory and its zip64 forms) as written by PyTorch's
// `PyTorchStreamWriter` (miniz, torch 2.5): stored entries, data padded to 64-byte alignment.
// TorchScript's code/ records are deflated; those are inflated by ``Inflate``.

import CZlib

/// A read-only view of a zip archive's entries in a memory-mapped file.
///
/// Shared across threads (TorchScript code records are inflated concurrently): every field is
/// immutable, the map is only read, and the budget takes a lock.
struct ZipArchive: @unchecked Sendable {
    struct Entry: Sendable {
        let name: String
        let method: Int
        let crc32: UInt32
        let compressedSize: Int
        let uncompressedSize: Int
        let localHeaderOffset: Int
    }

    let file: MappedFile
    /// Entries by name, in central-directory order.
    let entries: [Entry]
    private let index: [String: Int]
    /// What inflating records (and copying tensor views, see ``PickleMachine``) may allocate.
    let budget: ReadBudget

    /// The largest record other than tensor data (a pickle, TorchScript code, `byteorder`): the
    /// data.pkl of a state dict takes ~200 bytes per tensor, so even a training checkpoint with
    /// optimizer state for the largest CLIP stays far below this.
    static let maximumRecordSize = 64 << 20

    static let localSignature: UInt32 = 0x0403_4b50

    static func looksLikeZip(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= 4 && readUInt32LE(bytes, at: 0) == localSignature
    }

    init(_ file: MappedFile) throws {
        self.file = file
        budget = ReadBudget(path: file.path, fileSize: file.count)
        let bytes = file.bytes
        let path = file.path
        func fail(_ detail: String) -> WeightError { .invalidZip(file: path, detail: detail) }

        // The end-of-central-directory record sits in the last 22 + 65535 (comment) bytes.
        guard bytes.count >= 22 else { throw WeightError.truncated(file: path, detail: "too short for a zip archive") }
        var eocd = -1
        var position = bytes.count - 22
        let lowest = max(0, bytes.count - 22 - 65_535)
        while position >= lowest {
            if readUInt32LE(bytes, at: position) == 0x0605_4b50 {
                eocd = position
                break
            }
            position -= 1
        }
        guard eocd >= 0 else {
            throw WeightError.truncated(
                file: path, detail: "no end-of-central-directory record (the zip's tail is missing)")
        }
        var entryCount = Int(readUInt16LE(bytes, at: eocd + 10))
        var directorySize = Int(readUInt32LE(bytes, at: eocd + 12))
        var directoryOffset = Int(readUInt32LE(bytes, at: eocd + 16))

        // Zip64: a locator just before the EOCD points at the zip64 EOCD record.
        if eocd >= 20, readUInt32LE(bytes, at: eocd - 20) == 0x0706_4b50 {
            let recordOffset = readUInt64LE(bytes, at: eocd - 20 + 8)
            guard bytes.count >= 56, recordOffset <= UInt64(bytes.count - 56),
                readUInt32LE(bytes, at: Int(recordOffset)) == 0x0606_4b50
            else {
                throw fail("zip64 end-of-central-directory record missing")
            }
            let record = Int(recordOffset)
            let count64 = readUInt64LE(bytes, at: record + 32)
            let size64 = readUInt64LE(bytes, at: record + 40)
            let offset64 = readUInt64LE(bytes, at: record + 48)
            guard count64 < UInt64(Int32.max), size64 < UInt64(Int.max / 2), offset64 < UInt64(Int.max / 2) else {
                throw fail("zip64 directory values out of range")
            }
            entryCount = Int(count64)
            directorySize = Int(size64)
            directoryOffset = Int(offset64)
        }
        guard directoryOffset + directorySize <= bytes.count else {
            throw WeightError.truncated(file: path, detail: "central directory at \(directoryOffset) runs past the end")
        }

        // Each entry takes at least 46 directory bytes: a larger count is a lie, not a reason to loop.
        guard entryCount <= directorySize / 46 else {
            throw fail("\(entryCount) entries cannot fit in a \(directorySize)-byte central directory")
        }
        var entries: [Entry] = []
        var index: [String: Int] = [:]
        var cursor = directoryOffset
        let directoryEnd = directoryOffset + directorySize
        for _ in 0..<entryCount {
            guard cursor + 46 <= directoryEnd, readUInt32LE(bytes, at: cursor) == 0x0201_4b50 else {
                throw fail("central directory entry \(entries.count) is malformed")
            }
            let method = Int(readUInt16LE(bytes, at: cursor + 10))
            let crc = readUInt32LE(bytes, at: cursor + 16)
            var compressed = UInt64(readUInt32LE(bytes, at: cursor + 20))
            var uncompressed = UInt64(readUInt32LE(bytes, at: cursor + 24))
            let nameLength = Int(readUInt16LE(bytes, at: cursor + 28))
            let extraLength = Int(readUInt16LE(bytes, at: cursor + 30))
            let commentLength = Int(readUInt16LE(bytes, at: cursor + 32))
            var localOffset = UInt64(readUInt32LE(bytes, at: cursor + 42))
            let nameStart = cursor + 46
            let extraStart = nameStart + nameLength
            let next = extraStart + extraLength + commentLength
            guard next <= directoryEnd else {
                throw fail("central directory entry \(entries.count) runs past the directory")
            }
            let name = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[nameStart..<extraStart]), as: UTF8.self)

            // Zip64 extended information (header id 1) replaces the 0xFFFFFFFF fields, in order.
            var extra = extraStart
            while extra + 4 <= extraStart + extraLength {
                let id = readUInt16LE(bytes, at: extra)
                let size = Int(readUInt16LE(bytes, at: extra + 2))
                guard extra + 4 + size <= extraStart + extraLength else { break }
                if id == 1 {
                    var field = extra + 4
                    let fieldEnd = field + size
                    if uncompressed == 0xFFFF_FFFF, field + 8 <= fieldEnd {
                        uncompressed = readUInt64LE(bytes, at: field)
                        field += 8
                    }
                    if compressed == 0xFFFF_FFFF, field + 8 <= fieldEnd {
                        compressed = readUInt64LE(bytes, at: field)
                        field += 8
                    }
                    if localOffset == 0xFFFF_FFFF, field + 8 <= fieldEnd {
                        localOffset = readUInt64LE(bytes, at: field)
                        field += 8
                    }
                }
                extra += 4 + size
            }
            let limit = UInt64(bytes.count)
            guard compressed <= limit, uncompressed <= UInt64(Int.max / 2), localOffset <= limit else {
                throw fail("entry \(name) has sizes or offsets beyond the file")
            }
            if index[name] != nil { throw fail("entry \(name) appears twice") }
            index[name] = entries.count
            entries.append(
                Entry(
                    name: name, method: method, crc32: crc, compressedSize: Int(compressed),
                    uncompressedSize: Int(uncompressed), localHeaderOffset: Int(localOffset)))
            cursor = next
        }
        self.entries = entries
        self.index = index
    }

    func entry(named name: String) -> Entry? { index[name].map { entries[$0] } }

    /// The byte range of a stored entry's data in the file (checked against the file's length).
    func dataRange(of entry: Entry) throws -> Range<Int> {
        let bytes = file.bytes
        let path = file.path
        guard entry.method == 0 else {
            throw WeightError.unsupportedZipCompression(file: path, entry: entry.name, method: entry.method)
        }
        guard entry.compressedSize == entry.uncompressedSize else {
            throw WeightError.invalidZip(
                file: path, detail: "stored entry \(entry.name) has different compressed and uncompressed sizes")
        }
        let header = entry.localHeaderOffset
        guard header + 30 <= bytes.count else {
            throw WeightError.truncated(file: path, detail: "local header of \(entry.name) lies past the end")
        }
        guard readUInt32LE(bytes, at: header) == ZipArchive.localSignature else {
            throw WeightError.invalidZip(file: path, detail: "bad local header signature for \(entry.name)")
        }
        let start = header + 30 + Int(readUInt16LE(bytes, at: header + 26)) + Int(readUInt16LE(bytes, at: header + 28))
        guard start <= bytes.count, entry.uncompressedSize <= bytes.count - start else {
            throw WeightError.truncated(file: path, detail: "data of \(entry.name) runs past the end of the file")
        }
        return start..<(start + entry.uncompressedSize)
    }

    /// An entry's bytes: a view of the map for stored entries, inflated for deflated ones.
    /// `verify` checks the CRC-32; done for pickles, text and compressed records, skipped for
    /// stored tensor data so that loading stays a zero-copy map. `limit` bounds the declared
    /// size (``maximumRecordSize`` for records that are not tensor data); inflating is also
    /// bounded by DEFLATE's ratio and by ``budget``, all checked before memory is taken.
    func contents(of entry: Entry, verify: Bool, limit: Int? = nil) throws -> WeightStorage {
        let path = file.path
        if let limit, entry.uncompressedSize > limit {
            throw WeightError.limitExceeded(
                file: path,
                detail:
                    "record \(entry.name) declares \(entry.uncompressedSize) bytes; such records are at most \(limit)")
        }
        guard entry.method == 8 else {
            let range = try dataRange(of: entry)
            if verify, crc32(file.slice(range)) != entry.crc32 {
                throw WeightError.invalidZip(
                    file: path, detail: "CRC-32 mismatch in \(entry.name) (the file is corrupt)")
            }
            return .mapped(file, range)
        }
        let header = entry.localHeaderOffset
        guard header + 30 <= file.count, readUInt32LE(file.bytes, at: header) == ZipArchive.localSignature else {
            throw WeightError.invalidZip(file: path, detail: "bad local header for \(entry.name)")
        }
        let start =
            header + 30 + Int(readUInt16LE(file.bytes, at: header + 26))
            + Int(readUInt16LE(file.bytes, at: header + 28))
        guard start <= file.count, entry.compressedSize <= file.count - start else {
            throw WeightError.truncated(file: path, detail: "data of \(entry.name) runs past the end of the file")
        }
        let compressed = file.slice(start..<(start + entry.compressedSize))
        do {
            try Inflate.checkRatio(compressed.count, entry.uncompressedSize)
        } catch {
            throw WeightError.limitExceeded(
                file: path,
                detail:
                    "record \(entry.name) declares \(entry.uncompressedSize) bytes from \(compressed.count) compressed; "
                    + "DEFLATE cannot expand more than \(Inflate.maximumRatio):1")
        }
        try budget.reserve(entry.uncompressedSize, for: "inflating \(entry.name)")
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: entry.uncompressedSize, alignment: 16)
        // From here the buffer belongs to `inflated`, which frees it on every path.
        let inflated = MappedFile(adopting: buffer, count: entry.uncompressedSize, path: path)
        let count: Int
        do {
            count = try Inflate.inflate(compressed, into: buffer)
        } catch {
            throw WeightError.invalidZip(file: path, detail: "cannot inflate \(entry.name): \(error.summary)")
        }
        guard count == entry.uncompressedSize else {
            throw WeightError.invalidZip(
                file: path, detail: "\(entry.name) inflates to \(count) bytes, not \(entry.uncompressedSize)")
        }
        guard crc32(inflated.bytes) == entry.crc32 else {
            throw WeightError.invalidZip(file: path, detail: "CRC-32 mismatch in \(entry.name) (the file is corrupt)")
        }
        return .mapped(inflated, 0..<count)
    }
}

func readUInt32LE(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> UInt32 {
    UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
}

func readUInt16LE(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> UInt16 {
    UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
}

/// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), as zip uses (the system zlib's).
func crc32(_ data: UnsafeRawBufferPointer) -> UInt32 {
    guard let base = data.baseAddress else { return 0 }
    return UInt32(clip_crc32(base.assumingMemoryBound(to: UInt8.self), data.count))
}
