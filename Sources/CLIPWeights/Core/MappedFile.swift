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

    init(url: URL) throws {
        path = url.path
        let fd = open(url.path, O_RDONLY)
        guard fd >= 0 else {
            throw WeightError.cannotOpen(file: url.path, reason: String(cString: strerror(errno)))
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw WeightError.cannotOpen(file: url.path, reason: String(cString: strerror(errno)))
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw WeightError.cannotOpen(file: url.path, reason: "not a regular file")
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

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), count) }
    }

    /// The whole file as bytes.
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// Bytes `range`, which the caller has already checked against `count`.
    func slice(_ range: Range<Int>) -> UnsafeRawBufferPointer {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "slice outside the mapped file")
        return UnsafeRawBufferPointer(rebasing: bytes[range])
    }
}
