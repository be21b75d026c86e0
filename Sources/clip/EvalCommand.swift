import ArgumentParser
import CLIP
import CLISupport
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
            best classes. Unreadable images are skipped, counted and named on stderr. --plot FILE.png
            also writes the confusion matrix as an image: rows are the true classes, columns the
            top-1 predictions, each cell coloured by its share of the row (green on the diagonal,
            red elsewhere) with its count, classes labelled in the same sorted order.

            Retrieval (--retrieval FILE): a CSV/TSV with an image-path column and a caption column
            (open_clip's --csv-img-key/--csv-caption-key/--csv-separator; defaults filepath, title,
            tab). Relative paths are resolved against the table's folder; rows naming the same image
            give it several captions, and an image→text query counts as found at k when any of its
            captions is among the k best. Prints image_to_text_R@1/5/10, text_to_image_R@1/5/10,
            open_clip's mean and median ranks, "images", "texts", "skipped" (unreadable images) and
            "skipped_texts" (empty captions and captions of unreadable images).

            Examples:
              clip eval --model model.safetensors --zeroshot-folder data/val --templates openai-imagenet
              clip eval --model model.safetensors --zeroshot-folder data/val --plot confusion.png
              clip eval --model model.safetensors --retrieval data/val.csv --csv-separator , --csv-caption-key caption
            """)

    @OptionGroup var modelOptions: ModelOptions

    @OptionGroup var precisionOption: PrecisionOption

    @Option(name: .customLong("zeroshot-folder"), help: "Folder with one subfolder of images per class.")
    var zeroshotFolder: String?

    @OptionGroup var templateOptions: TemplateOptions

    @Flag(help: "Add per-class top-1 accuracy to the zero-shot JSON (\"per_class\", null for a class without images).")
    var perClass = false

    @Option(help: ArgumentHelp("Write the zero-shot confusion matrix as a PNG image.", valueName: "file.png"))
    var plot: String?

    @Option(help: "Caption table (CSV/TSV) for image↔text retrieval.")
    var retrieval: String?

    @OptionGroup var captionTable: CaptionTableOptions

    @Option(help: "Images encoded per batch (bounds memory).")
    var batchSize = 32

    func validate() throws {
        switch (zeroshotFolder, retrieval) {
        case (nil, nil): throw ValidationError("give --zeroshot-folder DIR or --retrieval FILE")
        case (.some, .some): throw ValidationError("give either --zeroshot-folder or --retrieval, not both")
        default: break
        }
        if zeroshotFolder != nil, captionTable.isSet {
            throw ValidationError("--csv-img-key, --csv-caption-key and --csv-separator apply to --retrieval")
        }
        if retrieval != nil, templateOptions.templates != nil || perClass || plot != nil {
            throw ValidationError("--templates, --per-class and --plot apply to --zeroshot-folder")
        }
        if plot == "-" { throw ValidationError("--plot needs a file: standard output carries the JSON") }
        // A batch of 224-pixel images is 0.6 MB of pixels per image: 4096 is already 2.4 GB.
        try OptionRange.check("--batch-size", batchSize, 1...4096)
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
        let prompts = try templateOptions.prompts()
        // List the folder before loading the model, so a wrong path fails fast.
        let dataset: LabelledImageFolder
        do { dataset = try LabelledImageFolder(folder) } catch { throw fail(error, .input) }
        let model = try modelOptions.load(precision: precisionOption.value)
        let report: ZeroShotReport
        let bar = ProgressBar(label: "evaluating images", total: Int64(dataset.images.count), unit: .items)
        do {
            defer { bar.finish() }
            report = try ZeroShotEvaluation.evaluate(
                model: model, dataset: dataset, templates: prompts, batchSize: batchSize, progress: bar.reporter)
        } catch {
            throw fail(error, .input)
        }
        warnSkipped(report.skipped)
        if let plot {
            let image = ConfusionMatrixImage(counts: report.confusion, labels: report.classNames)
            let png: Data
            do { png = try image.png() } catch { throw fail(error, .io) }
            try Output.write(png, to: plot)
        }
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
            dataset = try RetrievalDataset(
                csv: table, imageKey: captionTable.imageKey, captionKey: captionTable.captionKey,
                separator: try captionTable.separator())
        } catch {
            throw fail(error, .input)
        }
        let model = try modelOptions.load(precision: precisionOption.value)
        let report: RetrievalReport
        let bar = ProgressBar(label: "evaluating images and captions", total: nil, unit: .items)
        do {
            defer { bar.finish() }
            report = try RetrievalEvaluation.evaluate(
                model: model, dataset: dataset, batchSize: batchSize, progress: bar.reporter)
        } catch {
            throw fail(error, .input)
        }
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
