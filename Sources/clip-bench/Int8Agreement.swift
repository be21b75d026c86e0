import ArgumentParser
import CLIP
import Foundation

/// `clip-bench int8-agreement`: one checkpoint at fp32 and at int8 on labelled image folders:
/// per-image embedding cosine, zero-shot top-1 agreement (the share of images whose predicted
/// class is the same), both accuracies, and the cosine of the zero-shot class weights (text).
/// JSON out, one object per folder; the README's int8 accuracy table comes from it.
struct Int8Agreement: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "int8-agreement",
        abstract: "int8 vs fp32 on one model: embedding cosines and zero-shot top-1 agreement per image (JSON).")

    @Option(help: "Checkpoint to load (any format clip reads).")
    var model: String

    @Option(name: .customLong("zeroshot-folder"), help: "A folder of class subfolders (repeatable).")
    var folders: [String] = []

    @Option(help: "Prompt templates, one per line with {} for the class name (default \"a photo of a {}.\").")
    var templates: String?

    @Option(name: .customLong("image"), help: "Extra images to compare embeddings on (repeatable).")
    var images: [String] = []

    @Option(help: "Images per encodeImage call.")
    var batchSize = 64

    func run() throws {
        let url = URL(fileURLWithPath: model)
        let fp32 = try CLIP.load(url, precision: .fp32)
        let int8 = try CLIP.load(url, precision: .int8)
        let prompts =
            try templates.map {
                try String(contentsOfFile: $0, encoding: .utf8).split(separator: "\n").map(String.init).filter {
                    !$0.isEmpty
                }
            } ?? ["a photo of a {}."]
        var results: [String: Any] = ["int8_kernel": "\(Int8KernelPath.best)"]
        if !images.isEmpty {
            let cosines = try imageCosines(images.map { URL(fileURLWithPath: $0) }, fp32, int8)
            results["images"] = ["count": cosines.count, "cosine_min": cosines.min() ?? 0]
        }
        for folder in folders {
            let dataset = try LabelledImageFolder(URL(fileURLWithPath: folder))
            let a = try ZeroShotClassifier(model: fp32, classNames: dataset.promptNames, templates: prompts)
            let b = try ZeroShotClassifier(model: int8, classNames: dataset.promptNames, templates: prompts)
            let e = a.classWeights.size(-1)
            let classCosines = (0..<dataset.classNames.count).map { k in
                zip(a.classWeights.scalars[(k * e)..<((k + 1) * e)], b.classWeights.scalars[(k * e)..<((k + 1) * e)])
                    .reduce(Float(0)) { $0 + $1.0 * $1.1 }  // both rows are unit vectors
            }
            var same = 0, right32 = 0, right8 = 0
            var cosines: [Float] = []
            for start in stride(from: 0, to: dataset.images.count, by: batchSize) {
                let items = Array(dataset.images[start..<min(start + batchSize, dataset.images.count)])
                let urls = items.map(\.url)
                let f32 = try fp32.encodeImage(urls), f8 = try int8.encodeImage(urls)
                cosines += Self.rowCosines(f32, f8)
                let top32 = a.classify(imageFeatures: f32, top: 1), top8 = b.classify(imageFeatures: f8, top: 1)
                for (i, item) in items.enumerated() {
                    let truth = dataset.promptNames[item.label]
                    if top32[i][0].label == top8[i][0].label { same += 1 }
                    if top32[i][0].label == truth { right32 += 1 }
                    if top8[i][0].label == truth { right8 += 1 }
                }
            }
            let n = Double(dataset.images.count)
            let sorted = cosines.sorted()
            results[folder] = [
                "images": dataset.images.count, "classes": dataset.classNames.count,
                "top1_agreement": Double(same) / n, "top1_fp32": Double(right32) / n, "top1_int8": Double(right8) / n,
                "image_cosine_min": sorted.first ?? 0,
                "image_cosine_median": sorted.isEmpty ? 0 : sorted[sorted.count / 2],
                "class_weight_cosine_min": classCosines.min() ?? 0,
            ]
        }
        let data = try JSONSerialization.data(withJSONObject: results, options: [.sortedKeys, .prettyPrinted])
        print(String(decoding: data, as: UTF8.self))
    }

    func imageCosines(_ urls: [URL], _ fp32: CLIP, _ int8: CLIP) throws -> [Float] {
        Self.rowCosines(try fp32.encodeImage(urls), try int8.encodeImage(urls))
    }

    /// Cosine between matching rows of (B, E) features.
    static func rowCosines(_ a: Tensor, _ b: Tensor) -> [Float] {
        let x = Tensor.l2Normalized(a).scalars, y = Tensor.l2Normalized(b).scalars
        let e = a.size(-1)
        return (0..<a.shape[0]).map { r in
            zip(x[(r * e)..<((r + 1) * e)], y[(r * e)..<((r + 1) * e)]).reduce(Float(0)) { $0 + $1.0 * $1.1 }
        }
    }
}
