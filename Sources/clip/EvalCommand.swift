import ArgumentParser
import CLIP
import Foundation

/// `clip eval`: zero-shot accuracy on a labelled folder, or image↔text retrieval on a caption table.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract:
            "Evaluate a model: zero-shot top-1/top-5 accuracy on a labelled folder, or image↔text retrieval recall@1/5/10.",
        discussion: """
            Zero-shot (--zeroshot-folder DIR): every immediate subfolder of DIR is a class (sorted by
            code point; underscores become spaces in the prompt), images below it are its examples.
            Prints {"top1", "top5", "images", "classes", "skipped"}; top5 counts the min(5, classes)
            best classes. Unreadable images are skipped, counted and named on stderr.

            Retrieval (--retrieval FILE): a CSV/TSV with an image-path column and a caption column
            (open_clip's --csv-img-key/--csv-caption-key/--csv-separator; defaults filepath, title,
            tab). Relative paths are resolved against the table's folder; rows naming the same image
            give it several captions, and an image→text query counts as found at k when any of its
            captions is among the k best. Prints image_to_text_R@1/5/10, text_to_image_R@1/5/10,
            open_clip's mean and median ranks, "images", "texts", "skipped" (unreadable images) and
            "skipped_texts" (empty captions and captions of unreadable images).

            Examples:
              clip eval --model model.safetensors --zeroshot-folder data/val --templates openai-imagenet
              clip eval --model model.safetensors --retrieval data/val.csv --csv-separator , --csv-caption-key caption
            """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(name: .customLong("zeroshot-folder"), help: "Folder with one subfolder of images per class.")
    var zeroshotFolder: String?

    @Option(
        help:
            "Prompt templates for zero-shot: 'openai-imagenet' (OpenAI's 80), or a file with one template per line using {} for the class. Default: \"a photo of a {}.\""
    )
    var templates: String?

    @Flag(help: "Add per-class top-1 accuracy to the zero-shot JSON (\"per_class\", null for a class without images).")
    var perClass = false

    @Option(help: "Caption table (CSV/TSV) for image↔text retrieval.")
    var retrieval: String?

    @Option(name: .customLong("csv-img-key"), help: "Image-path column of the retrieval table. Default: filepath")
    var csvImageKey: String?

    @Option(name: .customLong("csv-caption-key"), help: "Caption column of the retrieval table. Default: title")
    var csvCaptionKey: String?

    @Option(name: .customLong("csv-separator"), help: "Column separator: one character, or '\\t'/tab. Default: tab")
    var csvSeparator: String?

    @Option(help: "Images encoded per batch (bounds memory).")
    var batchSize = 32

    func validate() throws {
        switch (zeroshotFolder, retrieval) {
        case (nil, nil): throw ValidationError("give --zeroshot-folder DIR or --retrieval FILE")
        case (.some, .some): throw ValidationError("give either --zeroshot-folder or --retrieval, not both")
        default: break
        }
        if zeroshotFolder != nil, csvImageKey != nil || csvCaptionKey != nil || csvSeparator != nil {
            throw ValidationError("--csv-img-key, --csv-caption-key and --csv-separator apply to --retrieval")
        }
        if retrieval != nil, templates != nil || perClass {
            throw ValidationError("--templates and --per-class apply to --zeroshot-folder")
        }
        // A batch of 224-pixel images is 0.6 MB of pixels per image: 4096 is already 2.4 GB.
        try OptionRange.check("--batch-size", batchSize, 1...4096)
        if let csvSeparator {
            do { _ = try DelimitedText.separator(fromArgument: csvSeparator) } catch {
                throw ValidationError("--csv-separator must be one character or '\\t', got '\(csvSeparator)'")
            }
        }
    }

    func run() throws {
        let object: [String: Any]
        if let zeroshotFolder {
            object = try runZeroShot(URL(fileURLWithPath: zeroshotFolder))
        } else if let retrieval {
            object = try runRetrieval(URL(fileURLWithPath: retrieval))
        } else {
            return
        }
        let data = try JSONSerialization.data(
            withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        try Output.print(String(decoding: data, as: UTF8.self))
    }

    private func runZeroShot(_ folder: URL) throws -> [String: Any] {
        var prompts = ZeroShotEvaluation.defaultTemplates
        if let templates {
            prompts =
                templates == "openai-imagenet"
                ? ZeroShotClassifier.openAIImageNetTemplates : try InputLists.lines(templates)
        }
        // List the folder before loading the model, so a wrong path fails fast.
        let dataset: LabelledImageFolder
        do { dataset = try LabelledImageFolder(folder) } catch { throw fail(error, .input) }
        let model = try modelOptions.load()
        let report: ZeroShotReport
        do {
            report = try ZeroShotEvaluation.evaluate(
                model: model, dataset: dataset, templates: prompts, batchSize: batchSize,
                progress: Progress.reporter("images"))
        } catch {
            throw fail(error, .input)
        }
        Progress.finish()
        warnSkipped(report.skipped)
        var object: [String: Any] = [
            "top1": report.top1, "top5": report.top5, "images": report.images,
            "classes": report.classes, "skipped": report.skipped.count,
        ]
        if perClass {
            var perClassObject: [String: Any] = [:]
            for (name, accuracy) in zip(report.classNames, report.top1PerClass) {
                perClassObject[name] = accuracy ?? NSNull()
            }
            object["per_class"] = perClassObject
        }
        return object
    }

    private func runRetrieval(_ table: URL) throws -> [String: Any] {
        let dataset: RetrievalDataset
        do {
            let separator = try DelimitedText.separator(fromArgument: csvSeparator ?? "\t")
            dataset = try RetrievalDataset(
                csv: table, imageKey: csvImageKey ?? "filepath", captionKey: csvCaptionKey ?? "title",
                separator: separator)
        } catch {
            throw fail(error, .input)
        }
        let model = try modelOptions.load()
        let report: RetrievalReport
        do {
            report = try RetrievalEvaluation.evaluate(
                model: model, dataset: dataset, batchSize: batchSize,
                progress: Progress.reporter("images and captions"))
        } catch {
            throw fail(error, .input)
        }
        Progress.finish()
        warnSkipped(report.skipped)
        var object: [String: Any] = report.metrics.dictionary
        object["images"] = report.images
        object["texts"] = report.texts
        object["skipped"] = report.skipped.count
        object["skipped_texts"] = report.skippedTexts
        return object
    }

    private func warnSkipped(_ skipped: [SkippedImage]) {
        for image in skipped.prefix(10) { warn("skipped \(image.reason)") }
        if skipped.count > 10 { warn("skipped \(skipped.count - 10) more unreadable images") }
    }
}

/// A one-line progress counter on stderr, shown only when stderr is a terminal (so logs and
/// test captures stay clean).
private enum Progress {
    static let enabled = isatty(STDERR_FILENO) == 1

    static func reporter(_ what: String) -> ((Int, Int) -> Void)? {
        guard enabled else { return nil }
        return { done, total in
            FileHandle.standardError.write(Data("\revaluating: \(done)/\(total) \(what)".utf8))
        }
    }

    static func finish() {
        if enabled { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
