import Foundation

// A caption table for retrieval evaluation, read like open_clip's CsvDataset
// (open_clip_train/data.py: pandas.read_csv(sep=...), columns --csv-img-key and
// --csv-caption-key, defaults "filepath", "title" and tab). Each row is one (image, caption)
// pair; rows naming the same image give it several captions.

/// Unique images and their captions from a CSV/TSV file.
///
/// Relative image paths are resolved against the folder of the table (open_clip resolves them
/// against the working directory; the table's folder makes a dataset movable). Two rows refer
/// to the same image when their resolved, standardised paths are equal. Rows with an empty
/// path or an empty (all-whitespace) caption are skipped and counted.
///
/// ```swift
/// let data = try RetrievalDataset(csv: URL(fileURLWithPath: "val.tsv"))   // filepath<TAB>title
/// print(data.imageURLs.count, data.captions.count)
/// ```
public struct RetrievalDataset: Sendable {
    /// The table that was read.
    public var source: URL
    /// Unique images in order of first appearance.
    public var imageURLs: [URL]
    /// Captions in row order.
    public var captions: [String]
    /// For each caption, the index of its image in ``imageURLs``.
    public var imageOfCaption: [Int]
    /// For each caption, the line of the table it came from.
    public var lineOfCaption: [Int]
    /// Rows skipped for an empty path or caption.
    public var skippedRows: Int

    /// Reads `csv` with the given column names and separator.
    /// - Throws: ``DelimitedTextError`` for an unreadable or malformed table or a missing
    ///   column, ``EvaluationError/noCaptions(_:)`` when no row is usable.
    public init(csv: URL, imageKey: String = "filepath", captionKey: String = "title", separator: Character = "\t")
        throws
    {
        let table = try DelimitedText.table(contentsOf: csv, separator: separator)
        // Column errors name the file: the table knows its source.
        let imageColumn = try table.columnIndex(named: imageKey)
        let captionColumn = try table.columnIndex(named: captionKey)
        source = csv
        let base = csv.deletingLastPathComponent()
        var indexOfPath: [String: Int] = [:]
        imageURLs = []
        captions = []
        imageOfCaption = []
        lineOfCaption = []
        skippedRows = 0
        for (row, line) in zip(table.rows, table.lineNumbers) {
            let path = row[imageColumn], caption = row[captionColumn]
            guard !path.isEmpty, !caption.allSatisfy(\.isWhitespace) else {
                skippedRows += 1
                continue
            }
            let url = (path.hasPrefix("/") ? URL(fileURLWithPath: path) : base.appendingPathComponent(path))
                .standardizedFileURL
            let image: Int
            if let known = indexOfPath[url.path] {
                image = known
            } else {
                image = imageURLs.count
                indexOfPath[url.path] = image
                imageURLs.append(url)
            }
            captions.append(caption)
            imageOfCaption.append(image)
            lineOfCaption.append(line)
        }
        guard !captions.isEmpty else { throw EvaluationError.noCaptions(csv.path) }
    }
}
