import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A read-only, private memory map of a whole file. Tensors keep it alive by reference, so the
/// map lives exactly as long as some tensor still points into it.
final class MappedFile: @unchecked Sendable {
    // Safe to share: the mapping is PROT_READ and never mutated after init.
    let base: UnsafeRawPointer?
    let count: Int
    let path: String
    /// Whether `base` is a heap copy (``init(bytes:path:)``) rather than a map.
    private let isHeapCopy: Bool

    init(url: URL) throws {
        path = url.path
        isHeapCopy = false
        // The type is checked before opening: open(2) of a FIFO blocks until a writer appears,
        // and opening a device can have side effects (a tape rewinds).
        try RegularFile.require(url.path)
        // O_NONBLOCK: should the path be swapped for a FIFO between the check and the open.
        let fd = open(url.path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            throw WeightError.cannotOpen(file: url.path, reason: String(cString: strerror(errno)))
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw WeightError.cannotOpen(file: url.path, reason: String(cString: strerror(errno)))
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw WeightError.cannotOpen(file: url.path, reason: RegularFile.describe(mode: info.st_mode))
        }
        count = Int(info.st_size)
        if count == 0 {
            // mmap rejects zero lengths; an empty file is simply "truncated" for every parser.
            base = nil
            return
        }
        let pointer = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let pointer, pointer != MAP_FAILED else {
            throw WeightError.cannotOpen(file: url.path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(pointer)
    }

    /// A private copy of `bytes` that reads like a mapped file named `path` (fuzzing and tests
    /// build archives in memory).
    convenience init(bytes: UnsafeRawBufferPointer, path: String) {
        let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 16)
        if let source = bytes.baseAddress, !bytes.isEmpty {
            copy.baseAddress!.copyMemory(from: source, byteCount: bytes.count)
        }
        self.init(adopting: copy, count: bytes.count, path: path)
    }

    /// Takes ownership of `buffer` (allocated with `allocate(byteCount:alignment:)`), of which
    /// the first `count` bytes are the content: inflated zip records are read through it, so
    /// that tensors slice them without copying.
    init(adopting buffer: UnsafeMutableRawBufferPointer, count: Int, path: String) {
        precondition(count >= 0 && count <= buffer.count, "adopted count outside the buffer")
        self.path = path
        self.count = count
        isHeapCopy = true
        base = buffer.baseAddress.map { UnsafeRawPointer($0) }
    }

    deinit {
        guard let base else { return }
        if isHeapCopy {
            UnsafeMutableRawPointer(mutating: base).deallocate()
        } else {
            munmap(UnsafeMutableRawPointer(mutating: base), count)
        }
    }

    /// The whole file as bytes.
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// Drops this process's pages of bytes `range` (the whole pages inside it) from the map:
    /// for a read-only private file map that is never written, the file's content is unchanged
    /// and a later read faults the pages in again from the page cache. Used once a tensor has
    /// been converted, so that its fp16 source stops counting in the resident set.
    func releasePages(_ range: Range<Int>) {
        guard !isHeapCopy, let base, range.lowerBound >= 0, range.upperBound <= count else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        guard page > 0 else { return }
        let start = (range.lowerBound + page - 1) / page * page
        let end = range.upperBound / page * page
        guard end > start else { return }
        // The map starts on a page boundary (mmap returns one), so offsets align the same way.
        _ = madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, MADV_DONTNEED)
    }

    /// Bytes `range`, which the caller has already checked against `count`.
    func slice(_ range: Range<Int>) -> UnsafeRawBufferPointer {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "slice outside the mapped file")
        return UnsafeRawBufferPointer(rebasing: bytes[range])
    }
}
