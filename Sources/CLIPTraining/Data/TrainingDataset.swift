import Foundation

/// Where a sample's image bytes live.
///
/// ```swift
/// let bytes = try dataset.sample(at: 0).image.read()   // the encoded PNG/JPEG/WebP file
/// ```
public enum ImageSource: Sendable, Equatable {
    /// A file on disk (CSV rows, sidecar folders).
    case file(URL)
    /// A byte range of a file (a tar member): `length` bytes from `offset`.
    case fileRange(URL, offset: Int, length: Int, name: String)

    /// A name for messages: the path, or `shard.tar:member` for tar members.
    public var name: String {
        switch self {
        case .file(let url): url.path
        case .fileRange(let url, _, _, let member): "\(url.path):\(member)"
        }
    }

    /// Reads the encoded image.
    public func read() throws -> Data {
        switch self {
        case .file(let url):
            do {
                return try Data(contentsOf: url, options: .mappedIfSafe)
            } catch {
                throw DataError.unreadable(path: url.path, reason: (error as NSError).localizedDescription)
            }
        case .fileRange(let url, let offset, let length, _):
            return try FileRange.read(url, offset: offset, length: length)
        }
    }
}

/// Where a sample's caption lives: inline (CSV) or in a file or tar member, read on demand.
///
/// ```swift
/// let caption = try dataset.sample(at: 0).caption.read()   // nil when there is none
/// ```
public enum CaptionSource: Sendable, Equatable {
    case text(String)
    case file(URL)
    case fileRange(URL, offset: Int, length: Int)
    /// The sample has no caption at all (an image without a sidecar or `.txt` member).
    case missing

    /// The caption, decoded as UTF-8 (invalid bytes become U+FFFD), or nil when missing.
    public func read() throws -> String? {
        switch self {
        case .text(let text): return text
        case .missing: return nil
        case .file(let url):
            guard FileManager.default.fileExists(atPath: url.path) else { return nil }
            do {
                return String(decoding: try Data(contentsOf: url), as: UTF8.self)
            } catch {
                throw DataError.unreadable(path: url.path, reason: (error as NSError).localizedDescription)
            }
        case .fileRange(let url, let offset, let length):
            return String(decoding: try FileRange.read(url, offset: offset, length: length), as: UTF8.self)
        }
    }
}

/// One image–caption pair of a dataset, not yet read.
///
/// ```swift
/// let sample = TrainingSample(image: .file(URL(fileURLWithPath: "cat.jpg")), caption: .text("a cat"))
/// ```
public struct TrainingSample: Sendable, Equatable {
    /// The image's bytes.
    public var image: ImageSource
    /// The caption.
    public var caption: CaptionSource

    public init(image: ImageSource, caption: CaptionSource) {
        self.image = image
        self.caption = caption
    }
}

/// An indexed collection of image–caption pairs: CSV/TSV tables (``CSVDataset``), WebDataset
/// tar shards (``TarShardDataset``) and folders with sidecar captions (``SidecarFolderDataset``).
/// Indices are stable: the same files give the same index for the same pair, so a shuffled
/// order and a saved ``DataPosition`` mean the same samples on every run.
///
/// ```swift
/// let dataset = try TrainingData.open("data/train.csv")
/// print(dataset.count, dataset.sample(at: 0).image.name)
/// ```
public protocol TrainingDataset: Sendable {
    /// Number of samples (including ones that will turn out to be bad).
    var count: Int { get }
    /// The sample at `index` (0..<count). Cheap: nothing is read yet.
    func sample(at index: Int) -> TrainingSample
    /// A short description for logs ("CSV data/train.csv, 9000 rows").
    var summary: String { get }
}

/// Positional reads without moving a shared file offset, so worker threads can read tar
/// members of one shard at the same time.
enum FileRange {
    static func read(_ url: URL, offset: Int, length: Int) throws -> Data {
        let fd = open(url.path, O_RDONLY)
        guard fd >= 0 else {
            throw DataError.unreadable(path: url.path, reason: String(cString: strerror(errno)))
        }
        defer { close(fd) }
        var data = Data(count: length)
        var done = 0
        let failure: Int32? = data.withUnsafeMutableBytes { buffer -> Int32? in
            guard let base = buffer.baseAddress else { return nil }
            while done < length {
                let n = pread(fd, base + done, length - done, off_t(offset + done))
                if n < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                if n == 0 { return 0 }
                done += n
            }
            return nil
        }
        if let failure {
            throw DataError.unreadable(
                path: url.path,
                reason: failure == 0 ? "file ends early (truncated shard)" : String(cString: strerror(failure)))
        }
        return data
    }
}
