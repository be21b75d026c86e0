import CLIPImage
import Foundation

/// WebDataset tar shards (open_clip's `--train-data 'shards/{000..099}.tar'`), read as plain
/// POSIX tar without any external tool.
///
/// Opening a shard walks its headers only, seeking over the contents, and remembers where
/// each member's bytes are; samples are then read by position (`pread`) on demand, so a shard
/// is never held in memory and worker threads read in parallel. Members group into samples
/// as `webdataset.tariterators` does: the key is the member path up to the first '.' of its
/// file name, the rest (lower-cased) is the extension, and a new sample starts when the key
/// changes or an extension repeats. The image is the first of `jpg`, `png`, `jpeg`, `webp`
/// present (open_clip's `jpg;png;jpeg;webp`; then the other image extensions), the caption `txt`. Samples without an image
/// are dropped when indexing (``droppedSamples``); a sample without `txt` is kept and the
/// loader skips and counts it. A shard cut short keeps the members before the cut and
/// reports it in ``warnings``.
///
/// ```swift
/// let shards = try TarShardDataset(pattern: "synth/shards/train-{000000..000003}.tar")
/// print(shards.count, shards.warnings)
/// ```
public struct TarShardDataset: TrainingDataset {
    /// The expanded shard files, in order.
    public let shards: [URL]
    /// Samples with no image member, left out of the index.
    public let droppedSamples: Int
    /// Problems that did not stop indexing (truncated shard, bad header after some members).
    public let warnings: [String]

    struct Entry: Sendable {
        var shard: Int32
        var imageOffset: Int
        var imageLength: Int
        var captionOffset: Int  // -1: no caption member
        var captionLength: Int
        var name: String
    }
    let entries: [Entry]

    /// Image extensions in order of preference: open_clip's `jpg;png;jpeg;webp`, then the other
    /// extensions ``ImageFormat/isImageFile(_:)`` accepts, so a shard and a folder agree on what an image is.
    public static let imageExtensions: [String] = {
        let openCLIP = ["jpg", "png", "jpeg", "webp"]
        return openCLIP + ImageFormat.imageFileExtensions.subtracting(openCLIP).sorted()
    }()

    /// Expands `pattern` (see ``ShardList``) and indexes every shard. Throws
    /// ``DataError/notFound(path:)`` for a missing shard, ``DataError/compressedShard(path:)``,
    /// ``DataError/corruptShard(path:offset:detail:)`` when a shard's first header is bad, and
    /// ``DataError/empty(path:)`` when no shard holds an image sample.
    public init(pattern: String) throws {
        let paths = try ShardList.expand(pattern)
        guard !paths.isEmpty else { throw DataError.empty(path: pattern) }
        try self.init(shards: paths.map { URL(fileURLWithPath: $0) }, description: pattern)
    }

    /// Indexes the given shard files.
    public init(shards: [URL], description: String? = nil) throws {
        var entries: [Entry] = []
        var dropped = 0
        var warnings: [String] = []
        for (index, url) in shards.enumerated() {
            guard FileManager.default.fileExists(atPath: url.path) else { throw DataError.notFound(path: url.path) }
            let members = try TarIndex.members(of: url, warnings: &warnings)
            var current: [String: TarIndex.Member] = [:]
            var currentKey: String? = nil
            func flush() {
                guard let key = currentKey else { return }
                guard let image = Self.imageExtensions.lazy.compactMap({ current[$0] }).first else {
                    dropped += 1
                    return
                }
                let caption = current["txt"]
                entries.append(
                    Entry(
                        shard: Int32(index), imageOffset: image.offset, imageLength: image.length,
                        captionOffset: caption?.offset ?? -1, captionLength: caption?.length ?? 0, name: key))
            }
            for member in members {
                guard let (key, ext) = Self.split(member.name) else { continue }
                if key != currentKey || current[ext] != nil {
                    flush()
                    current = [:]
                    currentKey = key
                }
                current[ext] = member
            }
            flush()
        }
        guard !entries.isEmpty else { throw DataError.empty(path: description ?? shards.first?.path ?? "") }
        self.shards = shards
        self.entries = entries
        self.droppedSamples = dropped
        self.warnings = warnings
    }

    /// webdataset's `base_plus_ext`: (directory + name up to the first '.', lower-cased rest),
    /// or nil for names without a '.' after a non-empty stem and for `__meta__` members.
    static func split(_ path: String) -> (key: String, ext: String)? {
        if !path.contains("/") && path.hasPrefix("__") && path.hasSuffix("__") { return nil }
        let slash = path.lastIndex(of: "/")
        let base = slash.map { path[path.index(after: $0)...] } ?? path[...]
        guard let dot = base.firstIndex(of: "."), dot != base.startIndex else { return nil }
        let ext = base[base.index(after: dot)...]
        return (String(path[..<dot]), ext.lowercased())
    }

    public var count: Int { entries.count }

    public func sample(at index: Int) -> TrainingSample {
        let entry = entries[index]
        let url = shards[Int(entry.shard)]
        let caption: CaptionSource =
            entry.captionOffset < 0
            ? .missing : .fileRange(url, offset: entry.captionOffset, length: entry.captionLength)
        return TrainingSample(
            image: .fileRange(url, offset: entry.imageOffset, length: entry.imageLength, name: entry.name),
            caption: caption)
    }

    public var summary: String { "\(shards.count) tar shard\(shards.count == 1 ? "" : "s"), \(count) samples" }
}

/// Reads the member list of a POSIX tar file (ustar, with GNU long names and PAX `path` /
/// `size` records), without reading member contents.
enum TarIndex {
    struct Member: Sendable, Equatable {
        var name: String
        var offset: Int
        var length: Int
    }

    static func members(of url: URL, warnings: inout [String]) throws -> [Member] {
        let fd = open(url.path, O_RDONLY)
        guard fd >= 0 else { throw DataError.unreadable(path: url.path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else {
            throw DataError.unreadable(path: url.path, reason: String(cString: strerror(errno)))
        }
        let fileSize = Int(status.st_size)
        var header = [UInt8](repeating: 0, count: 512)
        var members: [Member] = []
        var offset = 0
        var longName: String? = nil
        var pax: [String: String] = [:]

        func readBlock(at position: Int, count: Int) -> [UInt8]? {
            var buffer = [UInt8](repeating: 0, count: count)
            var done = 0
            while done < count {
                let n = buffer.withUnsafeMutableBytes {
                    pread(fd, $0.baseAddress! + done, count - done, off_t(position + done))
                }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return nil }
                done += n
            }
            return buffer
        }

        var ended = false
        while offset + 512 <= fileSize {
            guard let block = readBlock(at: offset, count: 512) else { break }
            header = block
            if offset == 0, compression(header) != nil { throw DataError.compressedShard(path: url.path) }
            if header.allSatisfy({ $0 == 0 }) {
                ended = true
                break
            }
            guard verifyChecksum(header), let size = number(header[124..<136]) else {
                if offset == 0 && members.isEmpty {
                    throw DataError.corruptShard(
                        path: url.path, offset: offset, detail: "header checksum does not match (not a tar file?)")
                }
                warnings.append("\(url.path): bad tar header at byte \(offset); the rest of the shard is ignored")
                break
            }
            let type = header[156]
            var name = string(header[0..<100])
            // POSIX ustar ("ustar\0") has a name prefix; GNU tar ("ustar  ") keeps times there.
            if header[257..<263].elementsEqual("ustar\0".utf8) {
                let prefix = string(header[345..<500])
                if !prefix.isEmpty { name = prefix + "/" + name }
            }
            var length = size
            if let path = pax["path"] { name = path }
            if let paxSize = pax["size"].flatMap({ Int($0) }) { length = paxSize }
            if let longName { name = longName }
            let dataOffset = offset + 512
            // Subtraction, not addition: a PAX or base-256 size may be near Int.max.
            guard length >= 0, length <= fileSize - dataOffset else {
                warnings.append(
                    "\(url.path): truncated: member '\(name)' needs \(length) bytes at byte \(dataOffset), the file has \(fileSize)"
                )
                break
            }
            switch type {
            case UInt8(ascii: "L"):
                longName = readBlock(at: dataOffset, count: length).map { string($0[...]) }
            case UInt8(ascii: "x"):
                pax = readBlock(at: dataOffset, count: length).map(parsePAX) ?? [:]
            case UInt8(ascii: "g"):
                break
            case UInt8(ascii: "0"), 0, UInt8(ascii: "7"):
                members.append(Member(name: name, offset: dataOffset, length: length))
                longName = nil
                pax = [:]
            default:
                // Directories, links, devices: not sample data.
                longName = nil
                pax = [:]
            }
            offset = dataOffset + (length + 511) / 512 * 512
        }
        if !ended && offset < fileSize && offset + 512 > fileSize {
            warnings.append("\(url.path): truncated: the file ends inside the header at byte \(offset)")
        }
        return members
    }

    /// The name of a compression format recognised from its magic bytes.
    static func compression(_ header: [UInt8]) -> String? {
        if header.starts(with: [0x1F, 0x8B]) { return "gzip" }
        if header.starts(with: Array("BZh".utf8)) { return "bzip2" }
        if header.starts(with: [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00]) { return "xz" }
        if header.starts(with: [0x28, 0xB5, 0x2F, 0xFD]) { return "zstd" }
        return nil
    }

    /// The header checksum: the byte sum with the checksum field read as spaces (unsigned,
    /// or signed as some old tars wrote it).
    static func verifyChecksum(_ header: [UInt8]) -> Bool {
        guard let stored = number(header[148..<156]) else { return false }
        var unsigned = 0, signed = 0
        for (i, byte) in header.enumerated() {
            let b = (148..<156).contains(i) ? 32 : byte
            unsigned += Int(b)
            signed += Int(Int8(bitPattern: b))
        }
        return stored == unsigned || stored == signed
    }

    /// An octal field (spaces/NULs around the digits), or GNU base-256 when the high bit is set.
    static func number(_ field: ArraySlice<UInt8>) -> Int? {
        guard let first = field.first else { return nil }
        if first & 0x80 != 0 {
            var value = Int(first & 0x7F)
            for byte in field.dropFirst() {
                guard value < (Int.max >> 8) else { return nil }
                value = value << 8 | Int(byte)
            }
            return value
        }
        var value = 0, sawDigit = false
        for byte in field {
            if byte == 0 || byte == 32 {
                if sawDigit { break } else { continue }
            }
            guard (48...55).contains(byte), value < (Int.max >> 3) else { return nil }
            value = value * 8 + Int(byte - 48)
            sawDigit = true
        }
        return sawDigit ? value : 0
    }

    static func string(_ field: ArraySlice<UInt8>) -> String {
        String(decoding: field.prefix { $0 != 0 }, as: UTF8.self)
    }

    /// PAX extended header records: "LENGTH key=value\n".
    static func parsePAX(_ data: [UInt8]) -> [String: String] {
        var result: [String: String] = [:]
        var i = 0
        while i < data.count {
            // The length counts the whole record, its own digits and the space included, so it
            // must reach past the space; a shorter (or huge) length ends the parse.
            guard let space = data[i...].firstIndex(of: 32),
                let length = Int(String(decoding: data[i..<space], as: UTF8.self)),
                length > space - i, length <= data.count - i
            else { break }
            let record = data[(space + 1)..<(i + length)]
            if let equals = record.firstIndex(of: UInt8(ascii: "=")) {
                let key = String(decoding: record[record.startIndex..<equals], as: UTF8.self)
                var value = record[(equals + 1)...]
                if value.last == 10 { value = value.dropLast() }
                result[key] = String(decoding: value, as: UTF8.self)
            }
            i += length
        }
        return result
    }
}
