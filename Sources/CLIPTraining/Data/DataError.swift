import Foundation

/// Why a training dataset could not be opened or written. Problems with single samples are
/// not errors: the loader skips and counts them (see ``SkipReason``).
public enum DataError: LocalizedError, Equatable, Sendable {
    /// The path names nothing.
    case notFound(path: String)
    /// The path exists but is not a CSV/TSV file, a tar shard list or a folder.
    case unrecognisedSource(path: String)
    /// A file could not be read.
    case unreadable(path: String, reason: String)
    /// The dataset has no samples.
    case empty(path: String)
    /// A shard list pattern with unbalanced braces or a bad range.
    case invalidShardPattern(pattern: String, detail: String)
    /// A tar shard is gzip/bzip2/xz/zstd-compressed; shards are read as plain tar.
    case compressedShard(path: String)
    /// A tar header failed its checksum or is malformed before any member could be read.
    case corruptShard(path: String, offset: Int, detail: String)
    /// A member name too long for a ustar header.
    case tarNameTooLong(String)
    /// A saved data position belongs to a different dataset or batch layout.
    case positionMismatch(detail: String)
    /// Writing generated data failed.
    case writeFailed(path: String, reason: String)
    /// A generator or loader setting is out of range.
    case invalidSetting(String)

    public var errorDescription: String? {
        switch self {
        case .notFound(let path): "no such file or directory: \(path)"
        case .unrecognisedSource(let path): "\(path) is not a .csv/.tsv file, a .tar shard list or a folder"
        case .unreadable(let path, let reason): "cannot read \(path): \(reason)"
        case .empty(let path): "\(path) holds no samples"
        case .invalidShardPattern(let pattern, let detail): "bad shard list '\(pattern)': \(detail)"
        case .compressedShard(let path): "\(path) is a compressed tar file"
        case .corruptShard(let path, let offset, let detail): "\(path): corrupt tar header at byte \(offset): \(detail)"
        case .tarNameTooLong(let name): "tar member name longer than 255 bytes: \(name)"
        case .positionMismatch(let detail): "saved data position does not fit this dataset: \(detail)"
        case .writeFailed(let path, let reason): "cannot write \(path): \(reason)"
        case .invalidSetting(let detail): detail
        }
    }

    public var recoverySuggestion: String? {
        switch self {
        case .notFound: "Check the path; shard lists may use braces like data/{000..009}.tar."
        case .unrecognisedSource:
            "Pass a caption table (.csv/.tsv), tar shards (.tar, brace-expanded) or a folder of images with .txt sidecars."
        case .unreadable: "Check the file's permissions."
        case .empty:
            "Check the caption column names (--csv-img-key, --csv-caption-key) and that images sit next to .txt captions."
        case .invalidShardPattern:
            "Use {a,b} for alternatives and {000..099} for zero-padded ranges; separate lists with '::'."
        case .compressedShard: "Decompress the shards first (e.g. gunzip), WebDataset shards are normally plain tar."
        case .corruptShard: "Re-create or re-download the shard."
        case .tarNameTooLong: "Use shorter sample keys."
        case .positionMismatch: "Resume with the same training data, batch size and seed as the saved run."
        case .writeFailed: "Check that the output folder is writable and the disk has space."
        case .invalidSetting: "See `clip synth --help` for the allowed ranges."
        }
    }
}
