import CLIPEvaluation
import Foundation

/// A caption table as open_clip's `CsvDataset` reads it (open_clip_train/data.py): one row
/// per sample, the image path in column `imageKey` (default `filepath`) and the caption in
/// `captionKey` (default `title`), tab-separated by default. Relative paths resolve against
/// the table's folder (open_clip resolves them against the working directory; a table that
/// works there keeps working when its folder is the working directory).
///
/// ```swift
/// let train = try CSVDataset(url: URL(fileURLWithPath: "synth/train.csv"))
/// let other = try CSVDataset(url: url, imageKey: "path", captionKey: "caption", separator: ",")
/// ```
public struct CSVDataset: TrainingDataset {
    /// The table file.
    public let url: URL
    /// Resolved image files, one per row.
    public let images: [URL]
    /// Captions, one per row.
    public let captions: [String]

    /// Reads the table. Throws ``DelimitedTextError`` (missing column, ragged row ...) or
    /// ``DataError/empty(path:)`` for a table with a header only.
    public init(url: URL, imageKey: String = "filepath", captionKey: String = "title", separator: Character = "\t")
        throws
    {
        let table = try DelimitedText.table(contentsOf: url, separator: separator)
        let imageColumn = try table.columnIndex(named: imageKey)
        let captionColumn = try table.columnIndex(named: captionKey)
        guard !table.rows.isEmpty else { throw DataError.empty(path: url.path) }
        let folder = url.deletingLastPathComponent()
        self.url = url
        images = table.rows.map { row in
            let path = row[imageColumn]
            return path.hasPrefix("/") ? URL(fileURLWithPath: path) : folder.appendingPathComponent(path)
        }
        captions = table.rows.map { $0[captionColumn] }
    }

    public var count: Int { images.count }

    public func sample(at index: Int) -> TrainingSample {
        TrainingSample(image: .file(images[index]), caption: .text(captions[index]))
    }

    public var summary: String { "CSV \(url.path), \(count) rows" }
}
