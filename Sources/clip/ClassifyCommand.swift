import ArgumentParser
import CLIP
import CLISupport
import Foundation

/// `clip classify`: zero-shot classification of images among labels.
struct ClassifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classify",
        abstract: "Zero-shot classify images among labels (prompt-ensembled like OpenAI's ImageNet evaluation).",
        discussion: """
            Each label is embedded through every template ("{}" is replaced by the label) and the
            normalised mean is the class weight. Probabilities are the softmax of the scaled cosines.

            Examples:
              clip classify --model ViT-B-32.pt cat.jpg --labels cat,dog,car
              clip classify --model ViT-B-32.pt *.jpg --labels-file labels.txt --templates openai-imagenet --top 3 --json
            """)

    @OptionGroup var modelOptions: ModelOptions

    @OptionGroup var precisionOption: PrecisionOption

    @Argument(help: "Image files.")
    var images: [String] = []

    @Option(help: "Comma-separated labels.")
    var labels: String?

    @Option(help: "A file with one label per line.")
    var labelsFile: String?

    @OptionGroup var templateOptions: TemplateOptions

    @Option(help: "Show the K best labels per image.")
    var top: Int?

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func validate() throws {
        try OptionRange.check("--top", top, 1...1_000_000)
    }

    func run() throws {
        var classNames =
            labels.map {
                $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            } ?? []
        if let labelsFile { classNames += try InputLists.lines(labelsFile) }
        guard !classNames.isEmpty else {
            throw fail("no labels", hint: "Give --labels a,b,c or --labels-file FILE.", .usage)
        }
        guard !images.isEmpty else { throw fail("no images", hint: "Pass image files as arguments.", .usage) }
        let prompts = try templateOptions.prompts()
        let model = try modelOptions.load(precision: precisionOption.value)
        EndOfTextWarning.check(classNames, tokenizer: try model.tokenizer, what: "label")
        let classifier: ZeroShotClassifier
        let features: Tensor
        do {
            classifier = try ZeroShotClassifier(model: model, classNames: classNames, templates: prompts)
            features = try model.encodeImage(images.map { URL(fileURLWithPath: $0) })
        } catch {
            throw fail(error, .input)
        }
        let results = classifier.classify(imageFeatures: features, top: top)
        if json {
            let objects: [[String: Any]] = zip(images, results).map { path, scores in
                [
                    "image": path,
                    "predictions": scores.map {
                        ["label": $0.label, "probability": Double($0.probability), "logit": Double($0.logit)]
                    },
                ]
            }
            let data = try JSONSerialization.data(withJSONObject: objects, options: [.prettyPrinted, .sortedKeys])
            try Output.print(String(decoding: data, as: UTF8.self))
        } else {
            let width = min(40, classNames.map(\.count).max() ?? 0)
            for (path, scores) in zip(images, results) {
                try Output.print(path)
                for (rank, s) in scores.enumerated() {
                    let label =
                        s.label.count >= width
                        ? s.label : s.label + String(repeating: " ", count: width - s.label.count)
                    try Output.print("  \(rank + 1). \(label)  \(String(format: "%6.2f%%", 100 * s.probability))")
                }
            }
        }
    }
}
