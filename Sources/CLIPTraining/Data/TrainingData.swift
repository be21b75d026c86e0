import Foundation

/// Opens `--train-data PATH` in the format the path shows, as open_clip's `--dataset-type
/// auto` does: a `.csv`/`.tsv` file is a caption table, a path containing `.tar` (possibly
/// brace-expanded or a `::` list) is WebDataset shards, a folder is images with sidecar
/// `.txt` captions.
///
/// ```swift
/// let dataset = try TrainingData.open("synth/train.csv")
/// let shards = try TrainingData.open("synth/shards/train-{000000..000001}.tar")
/// let folder = try TrainingData.open("synth/sidecar/train")
/// ```
public enum TrainingData {
    /// Column names and separator for caption tables (open_clip's defaults).
    public struct CSVOptions: Sendable, Equatable {
        public var imageKey: String
        public var captionKey: String
        public var separator: Character

        public init(imageKey: String = "filepath", captionKey: String = "title", separator: Character = "\t") {
            self.imageKey = imageKey
            self.captionKey = captionKey
            self.separator = separator
        }
    }

    /// The dataset at `path`. Throws ``DataError`` or ``DelimitedTextError``.
    public static func open(_ path: String, csv: CSVOptions = CSVOptions()) throws -> any TrainingDataset {
        let lower = path.lowercased()
        if lower.contains(".tar") {
            return try TarShardDataset(pattern: path)
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw DataError.notFound(path: path)
        }
        if isDirectory.boolValue {
            return try SidecarFolderDataset(folder: URL(fileURLWithPath: path))
        }
        if lower.hasSuffix(".csv") || lower.hasSuffix(".tsv") || lower.hasSuffix(".txt") {
            return try CSVDataset(
                url: URL(fileURLWithPath: path), imageKey: csv.imageKey, captionKey: csv.captionKey,
                separator: csv.separator)
        }
        throw DataError.unrecognisedSource(path: path)
    }
}
