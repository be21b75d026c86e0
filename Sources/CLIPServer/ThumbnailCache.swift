import CLIP
import Foundation

/// Thumbnails of indexed images, made on demand with ``Thumbnail`` (swift-clip's own decoder
/// and Pillow-exact bicubic filter, written as JPEG) and kept on disk next to the index:
/// `DB.thumbnails/ab/abcdef…-256.jpg`, keyed by the content hash and the size, so a renamed or
/// duplicated photo shares its thumbnail and an edited one gets a new one.
///
/// Files are written through `OutputFile` (temporary file, then rename): a request that runs
/// at the same time as another, or a server killed mid-write, never sees half a JPEG. When the
/// folder is not writable the thumbnail is still served, just made again next time.
struct ThumbnailCache: Sendable {
    /// The sizes (longest side, pixels) the page may ask for; others answer 422, so that
    /// requests cannot fill the disk with arbitrary sizes.
    static let sizes = [128, 256, 512]
    static let quality = 82

    let folder: URL

    /// `DB.thumbnails` beside the index file `DB`.
    init(index: URL) {
        folder = URL(fileURLWithPath: index.path + ".thumbnails")
    }

    /// Where the thumbnail of content `hash` at `size` is kept.
    func url(hash: String, size: Int) -> URL {
        folder.appendingPathComponent(String(hash.prefix(2))).appendingPathComponent("\(hash)-\(size).jpg")
    }

    /// The JPEG thumbnail of `file`, from the cache or made now (and cached). Making one
    /// (decode, resample, encode: tens to hundreds of milliseconds for a photo) runs on
    /// ``workers``, off the threads that answer requests, so a page of 60 new thumbnails does not
    /// hold up `/search` or the health check.
    func thumbnail(of file: IndexedImageFiles.File, size: Int) async throws -> Data {
        let cached = url(hash: file.hash, size: size)
        if let data = try? Data(contentsOf: cached), !data.isEmpty { return data }
        return try await Self.workers.run {
            var file = file
            let bytes = try file.contents()
            let jpeg: Data
            do {
                jpeg = try Thumbnail.jpeg(data: bytes, name: file.path, maxSide: size, quality: Self.quality)
            } catch {
                throw APIError(
                    .unprocessableContent,
                    "cannot make a thumbnail: \((error as? LocalizedError)?.errorDescription ?? "\(error)")",
                    type: "invalid_request_error", code: "invalid_image")
            }
            try? FileManager.default.createDirectory(
                at: cached.deletingLastPathComponent(), withIntermediateDirectories: true)
            // Not fsynced: a lost thumbnail is made again.
            try? OutputFile.write(jpeg, to: cached, durable: false)
            return jpeg
        }
    }

    /// Half the cores (at least one) make thumbnails; the others stay for the model and requests.
    static let workers = BlockingWorkers(
        label: "clip-server.thumbnails", width: max(1, ProcessInfo.processInfo.activeProcessorCount / 2))
}

/// Runs blocking work on at most `width` threads of a dispatch queue and awaits its result.
final class BlockingWorkers: Sendable {
    private let queue: DispatchQueue
    private let slots: DispatchSemaphore

    init(label: String, width: Int) {
        queue = DispatchQueue(label: label, attributes: .concurrent)
        slots = DispatchSemaphore(value: width)
    }

    func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { [slots] in
                slots.wait()
                defer { slots.signal() }
                continuation.resume(with: Result { try work() })
            }
        }
    }
}
