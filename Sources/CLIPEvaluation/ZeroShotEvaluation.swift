import CLIPModel
import CLIPTensor
import Foundation

// Zero-shot classification accuracy on a labelled folder, as open_clip_train/zero_shot.py
// (open_clip 2.29.0) computes it for ImageNet: class weights from prompt templates
// (build_zero_shot_classifier: mean of normalised prompt embeddings, renormalised), logits =
// normalised image features · weightsᵀ, top-k accuracy = fraction of images whose class is
// among the k highest logits. open_clip asks for top-5 and needs at least 5 classes; we use
// k = min(5, classes). Ties are broken by class index (see ``Ranking``).
// Symbols: B images in a batch, K classes, E embedding width.

/// Top-1 and top-5 accuracy of zero-shot classification.
public struct ZeroShotReport: Sendable, Equatable {
    /// Class names (folder names), in label order.
    public var classNames: [String]
    /// Fraction of evaluated images whose class has the highest logit.
    public var top1: Double
    /// Fraction whose class is among the `topK` highest logits.
    public var top5: Double
    /// The k of ``top5``: min(5, classes).
    public var topK: Int
    /// Images evaluated (unreadable ones excluded).
    public var images: Int
    /// Evaluated images per class.
    public var imagesPerClass: [Int]
    /// Top-1 accuracy per class; nil for a class without evaluated images.
    public var top1PerClass: [Double?]
    /// confusion[true][predicted]: images of each class by their top-1 prediction (K × K).
    public var confusion: [[Int]]
    /// Files that could not be read.
    public var skipped: [SkippedImage]

    /// Number of classes.
    public var classes: Int { classNames.count }
}

/// Counts top-1/top-k hits from logits, one image at a time.
///
/// ```swift
/// var tally = ZeroShotTally(classes: 3)
/// tally.add(logits: [0.1, 0.7, 0.2], label: 2)   // top-1 miss, top-3 hit
/// tally.top1   // 0.0
/// ```
public struct ZeroShotTally: Sendable, Equatable {
    /// Number of classes K.
    public let classes: Int
    /// The k of top-k: min(5, K).
    public let topK: Int
    /// Images counted, per class.
    public private(set) var imagesPerClass: [Int]
    /// Top-1 hits per class.
    public private(set) var top1HitsPerClass: [Int]
    /// Top-k hits over all classes.
    public private(set) var topKHits = 0
    /// confusion[true][predicted], counting each image's top-1 class (ties: the lower index).
    public private(set) var confusion: [[Int]]

    /// An empty tally for `classes` classes.
    public init(classes: Int) {
        precondition(classes > 0, "need at least one class")
        self.classes = classes
        topK = min(5, classes)
        imagesPerClass = Array(repeating: 0, count: classes)
        top1HitsPerClass = Array(repeating: 0, count: classes)
        confusion = Array(repeating: Array(repeating: 0, count: classes), count: classes)
    }

    /// Counts one image with scores `logits` (K values, higher is better) and true class `label`.
    public mutating func add<Scores: RandomAccessCollection>(logits: Scores, label: Int)
    where Scores.Element == Float, Scores.Index == Int {
        precondition(
            logits.count == classes && label >= 0 && label < classes,
            "logits need \(classes) entries and a label below that")
        let rank = Ranking.rank(of: label, in: logits)
        imagesPerClass[label] += 1
        if rank == 0 { top1HitsPerClass[label] += 1 }
        if rank < topK { topKHits += 1 }
        // The first highest logit, as Ranking breaks ties (rank 0 exactly when it is the label).
        var predicted = 0
        for j in 1..<classes where logits[logits.startIndex + j] > logits[logits.startIndex + predicted] {
            predicted = j
        }
        confusion[label][rank == 0 ? label : predicted] += 1
    }

    /// Images counted.
    public var images: Int { imagesPerClass.reduce(0, +) }
    /// Top-1 accuracy (0 when nothing was counted).
    public var top1: Double { images == 0 ? 0 : Double(top1HitsPerClass.reduce(0, +)) / Double(images) }
    /// Top-k accuracy, k = ``topK``.
    public var top5: Double { images == 0 ? 0 : Double(topKHits) / Double(images) }
    /// Top-1 accuracy of each class; nil where the class had no image.
    public var top1PerClass: [Double?] {
        zip(top1HitsPerClass, imagesPerClass).map { hits, n in n == 0 ? nil : Double(hits) / Double(n) }
    }
}

/// Zero-shot evaluation of a model on a labelled image folder.
///
/// ```swift
/// let model = try CLIP.load(URL(fileURLWithPath: "model.safetensors"))
/// let report = try ZeroShotEvaluation.evaluate(model: model, folder: URL(fileURLWithPath: "val"),
///                                              templates: ZeroShotClassifier.openAIImageNetTemplates)
/// print(report.top1, report.top5, report.skipped.count)
/// ```
public enum ZeroShotEvaluation {
    /// The default template, open_clip's and OpenAI's simplest prompt.
    public static let defaultTemplates = ["a photo of a {}."]

    /// Classifies every image of `folder` among its classes (prompt names: underscores become
    /// spaces) and measures accuracy. Images are encoded `batchSize` at a time.
    /// - Throws: ``EvaluationError`` for a missing or empty folder, when no image is readable,
    ///   or for an empty template list; model errors.
    public static func evaluate(
        model: CLIP, folder: URL, templates: [String] = defaultTemplates, batchSize: Int = 32,
        progress: ((_ done: Int, _ total: Int) -> Void)? = nil
    ) throws -> ZeroShotReport {
        try evaluate(
            model: model, dataset: LabelledImageFolder(folder), templates: templates, batchSize: batchSize,
            progress: progress)
    }

    /// Like ``evaluate(model:folder:templates:batchSize:progress:)`` on an already listed folder.
    public static func evaluate(
        model: CLIP, dataset: LabelledImageFolder, templates: [String] = defaultTemplates, batchSize: Int = 32,
        progress: ((_ done: Int, _ total: Int) -> Void)? = nil
    ) throws -> ZeroShotReport {
        guard !templates.isEmpty else { throw EvaluationError.noTemplates }
        guard !dataset.images.isEmpty else {
            throw EvaluationError.noImages(dataset.root.path, skipped: 0, firstReason: nil)
        }
        let classifier = try ZeroShotClassifier(model: model, classNames: dataset.promptNames, templates: templates)
        let weightsT = classifier.classWeights.transposed(0, 1)  // (E, K)
        var tally = ZeroShotTally(classes: dataset.classNames.count)
        let k = dataset.classNames.count
        let skipped = try ImageFeatureBatches.encode(
            dataset.images.map(\.url), model: model, batchSize: batchSize, progress: progress
        ) { indices, features in
            // Cosine similarities: the logit scale does not change the order.
            let logits = Tensor.matmul(Tensor.l2Normalized(features), weightsT).scalars  // (B, K)
            for (row, index) in indices.enumerated() {
                tally.add(logits: logits[(row * k)..<((row + 1) * k)], label: dataset.images[index].label)
            }
        }
        guard tally.images > 0 else {
            throw EvaluationError.noImages(
                dataset.root.path, skipped: skipped.count, firstReason: skipped.first?.reason)
        }
        return ZeroShotReport(
            classNames: dataset.classNames, top1: tally.top1, top5: tally.top5, topK: tally.topK, images: tally.images,
            imagesPerClass: tally.imagesPerClass, top1PerClass: tally.top1PerClass, confusion: tally.confusion,
            skipped: skipped)
    }
}
