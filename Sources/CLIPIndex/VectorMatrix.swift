import CLIPTensor
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

// Symbols: N stored vectors, E embedding width.

/// The index's vectors as one (N, E) row-major matrix, memory-mapped from the mirror file beside
/// the database (`index.sqlite-vectors`) so that a search process starts by mapping, not by
/// reading N blobs out of SQLite; scanned with SIMD dot products on all cores.
///
/// File layout (little-endian): a 128-byte header — magic `CLIPVEC1`, vector type (0 float32,
/// 1 float16), E, N, the database generation it mirrors, the index id (36 ASCII bytes; zeros up to
/// 128) — then N Int64 vector ids, padded to 64 bytes, then the rows.
public final class VectorMatrix: @unchecked Sendable {
    /// Number of rows N.
    public let count: Int
    /// Row width E.
    public let dimension: Int
    public let vectorType: VectorType
    /// Database generation the rows mirror.
    let generation: Int64
    let ids: UnsafePointer<Int64>
    let rows: UnsafeRawPointer
    private let mapping: (base: UnsafeMutableRawPointer, length: Int)?
    private let owned: UnsafeMutableRawPointer?

    static let magic = Array("CLIPVEC1".utf8)
    static let headerSize = 128

    /// Maps a mirror file; nil when it is missing, truncated or mirrors another index or generation.
    static func map(_ url: URL, indexID: String, generation: Int64) -> VectorMatrix? {
        let fd = open(url.path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, Int(info.st_size) >= headerSize else { return nil }
        let length = Int(info.st_size)
        guard let base = mmap(nil, length, PROT_READ, MAP_SHARED, fd, 0), base != MAP_FAILED else { return nil }
        let header = UnsafeRawBufferPointer(start: base, count: headerSize)
        let type: VectorType? =
            switch header.load(fromByteOffset: 8, as: Int32.self) {
            case 0: .float32
            case 1: .float16
            default: nil
            }
        let dimension = Int(header.load(fromByteOffset: 16, as: Int64.self))
        let count = Int(header.load(fromByteOffset: 24, as: Int64.self))
        let storedGeneration = header.load(fromByteOffset: 32, as: Int64.self)
        let storedID = String(decoding: header[40..<76], as: UTF8.self)
        let idBytes = Self.padded(count * 8)
        guard Array(header[0..<8]) == magic, let type, dimension > 0, count >= 0,
            storedGeneration == generation, storedID == indexID,
            length == headerSize + idBytes + count * dimension * type.size
        else {
            munmap(base, length)
            return nil
        }
        return VectorMatrix(
            count: count, dimension: dimension, vectorType: type, generation: generation,
            ids: UnsafePointer(base.advanced(by: headerSize).assumingMemoryBound(to: Int64.self)),
            rows: UnsafeRawPointer(base.advanced(by: headerSize + idBytes)), mapping: (base, length), owned: nil)
    }

    /// An in-memory matrix (when the mirror cannot be written, and in tests).
    init(ids: [Int64], rows: [UInt8], dimension: Int, vectorType: VectorType, generation: Int64 = 0) {
        let idBytes = Self.padded(ids.count * 8)
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(1, idBytes + rows.count), alignment: 64)
        ids.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        rows.withUnsafeBytes { buffer.advanced(by: idBytes).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        count = ids.count
        self.dimension = dimension
        self.vectorType = vectorType
        self.generation = generation
        self.ids = UnsafePointer(buffer.assumingMemoryBound(to: Int64.self))
        self.rows = UnsafeRawPointer(buffer.advanced(by: idBytes))
        mapping = nil
        owned = buffer
    }

    private init(
        count: Int, dimension: Int, vectorType: VectorType, generation: Int64, ids: UnsafePointer<Int64>,
        rows: UnsafeRawPointer, mapping: (UnsafeMutableRawPointer, Int)?, owned: UnsafeMutableRawPointer?
    ) {
        self.count = count
        self.dimension = dimension
        self.vectorType = vectorType
        self.generation = generation
        self.ids = ids
        self.rows = rows
        self.mapping = mapping
        self.owned = owned
    }

    deinit {
        if let mapping { munmap(mapping.base, mapping.length) }
        owned?.deallocate()
    }

    static func padded(_ bytes: Int) -> Int { (bytes + 63) / 64 * 64 }

    /// The header bytes of a mirror file.
    static func header(type: VectorType, dimension: Int, count: Int, generation: Int64, indexID: String) -> [UInt8] {
        var header = [UInt8](repeating: 0, count: headerSize)
        header.replaceSubrange(0..<8, with: magic)
        func put<T>(_ value: T, at offset: Int) {
            withUnsafeBytes(of: value) { header.replaceSubrange(offset..<offset + $0.count, with: $0) }
        }
        put(Int32(type == .float32 ? 0 : 1).littleEndian, at: 8)
        put(Int64(dimension).littleEndian, at: 16)
        put(Int64(count).littleEndian, at: 24)
        put(generation.littleEndian, at: 32)
        let id = Array(indexID.utf8.prefix(36))
        header.replaceSubrange(40..<40 + id.count, with: id)
        return header
    }

    /// The vector id of row `row`.
    public func id(_ row: Int) -> Int64 { ids[row] }

    /// Row `row` as floats.
    public func row(_ row: Int) -> [Float] {
        vectorType.decode(
            UnsafeRawBufferPointer(
                start: rows.advanced(by: row * dimension * vectorType.size), count: dimension * vectorType.size))
    }

    /// The `k` rows with the largest dot product with `query` (cosines, for unit vectors), best
    /// first, keeping only scores ≥ `threshold` and rows `allowed` accepts. Both cores scan
    /// disjoint row ranges, each with its own top-k heap; the heaps are merged at the end.
    public func nearest(
        to query: [Float], k: Int, threshold: Float = -.infinity, allowed: (@Sendable (Int64) -> Bool)? = nil
    ) throws -> [(id: Int64, score: Float)] {
        guard query.count == dimension else {
            throw IndexError.dimensionMismatch(expected: dimension, found: query.count)
        }
        guard k > 0, count > 0 else { return [] }
        // No more than `count` can be kept: a huge k (`--top 99999999999`) must not size the heaps.
        let k = min(k, count)
        let lock = NSLock()
        nonisolated(unsafe) var merged = TopK(k)
        query.withUnsafeBufferPointer { q in
            nonisolated(unsafe) let q = q
            Parallel.forEach(count, grain: 8192) { range in
                var local = TopK(k)
                for r in range {
                    let score = self.dot(q, r)
                    guard score >= threshold, score > local.floor || local.heap.count < k else { continue }
                    let id = self.ids[r]
                    if let allowed, !allowed(id) { continue }
                    local.insert(score, id)
                }
                lock.withLock { for (score, id) in local.heap { merged.insert(score, id) } }
            }
        }
        return merged.sorted().map { ($0.id, $0.score) }
    }

    /// Dot product of `q` with row `r`: 16 lanes at a time, then the tail.
    @inline(__always)
    func dot(_ q: UnsafeBufferPointer<Float>, _ r: Int) -> Float {
        let e = dimension
        let lanes = e / 16 * 16
        var acc = SIMD16<Float>()
        let qRaw = UnsafeRawPointer(q.baseAddress!)
        switch vectorType {
        case .float32:
            let row = rows.advanced(by: r * e * 4)
            var i = 0
            while i < lanes {
                acc +=
                    qRaw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
                    * row.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
                i += 16
            }
            var sum = acc.sum()
            while i < e {
                sum += q[i] * row.loadUnaligned(fromByteOffset: i * 4, as: Float.self)
                i += 1
            }
            return sum
        case .float16:
            let row = rows.advanced(by: r * e * 2)
            var i = 0
            while i < lanes {
                let half = row.loadUnaligned(fromByteOffset: i * 2, as: SIMD16<Float16>.self)
                acc += qRaw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self) * SIMD16<Float>(half)
                i += 16
            }
            var sum = acc.sum()
            while i < e {
                sum += q[i] * Float(row.loadUnaligned(fromByteOffset: i * 2, as: Float16.self))
                i += 1
            }
            return sum
        }
    }
}

extension VectorMatrix {
    /// An in-memory matrix of `rows` (N·E little-endian values of `vectorType`) with vector ids
    /// `ids`: for benchmarks and tests.
    public convenience init(testIDs ids: [Int64], rows: [UInt8], dimension: Int, vectorType: VectorType) {
        self.init(ids: ids, rows: rows, dimension: dimension, vectorType: vectorType)
    }
}
