import ArgumentParser
import CLIP

/// The columns and separator of a caption table (CSV/TSV), named as open_clip names them
/// (`--csv-img-key`, `--csv-caption-key`, `--csv-separator`); shared by `clip eval --retrieval`
/// and, for training data, `clip train`. Unset options are nil so a command can tell whether
/// they were given; ``imageKey``, ``captionKey`` and ``separator()`` apply open_clip's defaults.
struct CaptionTableOptions: ParsableArguments {
    @Option(name: .customLong("csv-img-key"), help: "Image-path column of the caption table. Default: filepath")
    var csvImageKey: String?

    @Option(name: .customLong("csv-caption-key"), help: "Caption column of the caption table. Default: title")
    var csvCaptionKey: String?

    @Option(name: .customLong("csv-separator"), help: "Column separator: one character, or '\\t'/tab. Default: tab")
    var csvSeparator: String?

    /// Whether any of the three options was given.
    var isSet: Bool { csvImageKey != nil || csvCaptionKey != nil || csvSeparator != nil }

    /// The image-path column (default `filepath`).
    var imageKey: String { csvImageKey ?? "filepath" }

    /// The caption column (default `title`).
    var captionKey: String { csvCaptionKey ?? "title" }

    /// The separator character (default tab).
    func separator() throws -> Character {
        try DelimitedText.separator(fromArgument: csvSeparator ?? "\t")
    }

    func validate() throws {
        if let csvSeparator {
            do { _ = try DelimitedText.separator(fromArgument: csvSeparator) } catch {
                throw ValidationError("--csv-separator must be one character or '\\t', got '\(csvSeparator)'")
            }
        }
    }
}
