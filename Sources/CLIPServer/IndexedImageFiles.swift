import CLIP
import CLIPIndex
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The only files the search page serves (thumbnails and originals): the images of the index,
/// by the exact absolute path the index stores.
///
/// A requested path is refused unless
/// - it is a path of the index, compared as a string: `..`, `.`, doubled slashes, a relative
///   path or anything not indexed answers 404 (`clip index` stores real, standardised paths);
/// - it still names a regular file through no symbolic link (`realpath` gives it back
///   unchanged, and the file is opened with `O_NOFOLLOW`): an indexed file or folder that was
///   replaced by a link to elsewhere answers 403.
///
/// The content hash (the cache key of thumbnails and the ETag) is the index's when size and mtime
/// are unchanged, so a cached thumbnail or a 304 never reads the image; a changed file is read
/// and hashed.
struct IndexedImageFiles: Sendable {
    let index: ImageIndex

    /// An indexed image, open for reading. (Unchecked: one request uses it at a time, moving it
    /// to a thumbnail worker and back.)
    struct File: @unchecked Sendable {
        var path: String
        /// Hex SHA-256 of the file's bytes.
        var hash: String
        fileprivate var handle: FileHandle
        fileprivate var bytes: Data?

        /// The file's bytes (read on the first call).
        mutating func contents() throws -> Data {
            if let bytes { return bytes }
            do {
                let data = try handle.readToEnd() ?? Data()
                bytes = data
                return data
            } catch {
                throw IndexedImageFiles.gone(path)
            }
        }
    }

    /// The indexed image at `requested` (a percent-decoded query parameter).
    func file(_ requested: Substring?) throws -> File {
        guard let requested, !requested.isEmpty else {
            throw APIError.invalid("give the image as ?path=/absolute/path (a path of the index)", code: "missing_path")
        }
        let path = String(requested)
        guard path.hasPrefix("/"), !path.utf8.contains(0), let stored = try index.stored(under: path)[path] else {
            throw Self.notIndexed
        }
        // Symbolic links anywhere on the way: the index never stores a path through one.
        guard let real = realpath(path, nil) else { throw Self.gone(path) }
        defer { free(real) }
        guard String(cString: real) == path else { throw Self.outside }
        let descriptor = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else { throw errno == ELOOP ? Self.outside : Self.gone(path) }
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { throw Self.outside }
        #if canImport(Darwin)
            let time = info.st_mtimespec
        #else
            let time = info.st_mtim
        #endif
        let mtime = Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
        var file = File(path: path, hash: stored.hash, handle: handle, bytes: nil)
        if Int64(info.st_size) != stored.size || mtime != stored.mtime || !Self.isHexDigest(stored.hash) {
            // Changed since it was indexed: key it by what it holds now.
            var digest = SHA256()
            try file.contents().withUnsafeBytes { digest.update($0) }
            file.hash = digest.hexDigest()
        }
        return file
    }

    static func isHexDigest(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    static let notIndexed = APIError(
        .notFound, "no such image in the index: the page serves only indexed images, by their absolute path",
        type: "invalid_request_error", code: "not_indexed")

    static let outside = APIError(
        .forbidden,
        "the indexed path now leads through a symbolic link or to something other than a file; "
            + "run `clip index` again", type: "invalid_request_error", code: "outside_index")

    static func gone(_ path: String) -> APIError {
        APIError(
            .notFound, "the indexed image is no longer readable; run `clip index` again",
            type: "invalid_request_error", code: "image_gone")
    }
}
