import CLIP
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Thumbnails of indexed images, made on demand with ``Thumbnail`` (swift-clip's own decoder
/// and Pillow-exact bicubic filter, written as JPEG) and kept on disk next to the index:
/// `DB.thumbnails/ab/abcdef…-256.jpg`, keyed by the content hash and the size, so a renamed or
/// duplicated photo shares its thumbnail and an edited one gets a new one.
///
/// Files are written through `OutputFile` (temporary file, then rename): a request that runs
/// at the same time as another, or a server killed mid-write, never sees half a JPEG. When the
/// folder is not writable the thumbnail is still served, just made again next time.
///
/// The folder is bounded (``limit``, `clip serve --thumbnail-cache-mb`): past it, the least
/// recently used thumbnails go first (a hit refreshes a file's time at most once an hour), down
/// to 90 % of the limit; at startup, thumbnails of images no longer in the index go too
/// (``prune(indexed:sparing:now:)``). The cache touches nothing but its own files: `DB.thumbnails` and its
/// `ab/` folders must be real folders (a symbolic link there turns the disk cache off, it is
/// never followed), only regular files named like a thumbnail (or a thumbnail's temporary file)
/// are read or deleted, through descriptors opened with `O_NOFOLLOW`, and everything else in
/// the folder is left alone.
struct ThumbnailCache: Sendable {
    /// The sizes (longest side, pixels) the page may ask for; others answer 422, so that
    /// requests cannot fill the disk with arbitrary sizes.
    static let sizes = [128, 256, 512]
    static let quality = 82
    /// The default bound of the folder: 1 GiB (about 70,000 thumbnails of 256 pixels).
    static let defaultLimit: Int64 = 1 << 30

    let folder: URL
    /// The most bytes the folder's thumbnails may take; 0 keeps none on disk.
    let limit: Int64
    /// The running total, so that a write knows when to prune without listing the folder.
    let usage = CacheUsage()

    /// `DB.thumbnails` beside the index file `DB`.
    init(index: URL, limit: Int64 = Self.defaultLimit) {
        folder = URL(fileURLWithPath: index.path + ".thumbnails")
        self.limit = max(0, limit)
    }

    /// Where the thumbnail of content `hash` at `size` is kept.
    func url(hash: String, size: Int) -> URL {
        folder.appendingPathComponent(String(hash.prefix(2))).appendingPathComponent(Self.name(hash: hash, size: size))
    }

    static func name(hash: String, size: Int) -> String { "\(hash)-\(size).jpg" }

    /// The JPEG thumbnail of `file`, from the cache or made now (and cached). Making one
    /// (decode, resample, encode: tens to hundreds of milliseconds for a photo) runs on
    /// ``workers``, off the threads that answer requests, so a page of 60 new thumbnails does not
    /// hold up `/search` or the health check.
    func thumbnail(of file: IndexedImageFiles.File, size: Int) async throws -> Data {
        if let data = cached(hash: file.hash, size: size) { return data }
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
            store(jpeg, hash: file.hash, size: size)
            return jpeg
        }
    }

    /// The cached thumbnail, read through no symbolic link; nil when absent, empty or not a
    /// regular file. A hit older than an hour gets the current time (least recently used goes first).
    func cached(hash: String, size: Int) -> Data? {
        guard limit > 0, let folder = ContainedFolder(folder, create: false),
            let shard = folder.subfolder(String(hash.prefix(2)), create: false)
        else { return nil }
        let descriptor = openat(shard.descriptor, Self.name(hash: hash, size: size), O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_size > 0 else { return nil }
        if ContainedFolder.modificationTime(info) < Date().timeIntervalSince1970 - 3600 { futimens(descriptor, nil) }
        guard let data = try? handle.readToEnd(), !data.isEmpty else { return nil }
        return data
    }

    /// Keeps `jpeg` (best effort: a thumbnail not kept is made again), then prunes when the
    /// folder has grown past ``limit``.
    func store(_ jpeg: Data, hash: String, size: Int) {
        guard limit > 0, Int64(jpeg.count) <= limit, let folder = ContainedFolder(folder, create: true),
            let shard = folder.subfolder(String(hash.prefix(2)), create: true)
        else { return }
        let name = Self.name(hash: hash, size: size)
        // OutputFile follows a link at the target: write only where nothing or a regular file is.
        var existing = stat()
        if fstatat(shard.descriptor, name, &existing, AT_SYMLINK_NOFOLLOW) == 0,
            existing.st_mode & S_IFMT != S_IFREG
        {
            return
        }
        // Not fsynced: a lost thumbnail is made again.
        guard (try? OutputFile.write(jpeg, to: url(hash: hash, size: size), durable: false)) != nil else { return }
        if usage.add(Int64(jpeg.count), limit: limit) {
            prune(indexed: nil, sparing: name)
            usage.finishPruning()
        }
    }

    /// Half the cores (at least one) make thumbnails; the others stay for the model and requests.
    static let workers = BlockingWorkers(
        label: "clip-server.thumbnails", width: max(1, ProcessInfo.processInfo.activeProcessorCount / 2))
}

/// The bytes the cache holds, as far as this process knows, and whether a prune is running.
final class CacheUsage: Sendable {
    private let state = NSLock()
    nonisolated(unsafe) private var bytes: Int64?
    nonisolated(unsafe) private var pruning = false

    /// Counts a new file; true when the caller should prune now (over the limit, or the total
    /// not yet known, and no prune running).
    func add(_ count: Int64, limit: Int64) -> Bool {
        state.withLock {
            if let known = bytes { bytes = known + count }
            guard !pruning, (bytes ?? Int64.max) > limit else { return false }
            pruning = true
            return true
        }
    }

    /// The total a prune found; starts counting from it.
    func set(_ total: Int64) { state.withLock { bytes = total } }

    func finishPruning() { state.withLock { pruning = false } }

    /// Marks a prune as running unless one is; true when the caller may run it.
    func beginPruning() -> Bool {
        state.withLock {
            guard !pruning else { return false }
            pruning = true
            return true
        }
    }
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

    /// Runs `work` on one of the threads without waiting for it.
    func start(_ work: @escaping @Sendable () -> Void) {
        queue.async { [slots] in
            slots.wait()
            defer { slots.signal() }
            work()
        }
    }
}
