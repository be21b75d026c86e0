import CLIPModel
import CLIPTensor
import Foundation

// Image↔text retrieval on a caption table: embed every unique image and every caption, then
// rank (see RetrievalMetrics for the exact rules, which follow open_clip's get_clip_metrics).
// Symbols: N images, M captions, E embedding width.

/// Retrieval metrics and what was evaluated.
public struct RetrievalReport: Sendable, Equatable {
    /// Recall@1/5/10 and ranks in both directions.
    public var metrics: RetrievalMetrics
    /// Unique images evaluated.
    public var images: Int
    /// Captions evaluated.
    public var texts: Int
    /// Image files that could not be read (their captions are left out).
    public var skipped: [SkippedImage]
    /// Captions left out: empty rows, and captions of unreadable images.
    public var skippedTexts: Int
}

/// Image↔text retrieval evaluation.
///
/// ```swift
/// let data = try RetrievalDataset(csv: URL(fileURLWithPath: "val.csv"), separator: ",")
/// let report = try RetrievalEvaluation.evaluate(model: model, dataset: data)
/// print(report.metrics.dictionary["image_to_text_R@1"]!)
/// ```
public enum RetrievalEvaluation {
    /// Embeds the dataset's images (`batchSize` at a time, unreadable ones skipped together with
    /// their captions) and captions, and computes ``RetrievalMetrics``.
    /// - Throws: ``EvaluationError/noImages(_:skipped:firstReason:)`` when no image is readable;
    ///   model errors.
    public static func evaluate(
        model: CLIP, dataset: RetrievalDataset, batchSize: Int = 32,
        progress: ((_ done: Int, _ total: Int) -> Void)? = nil
    ) throws -> RetrievalReport {
        var rows: [Tensor] = []
        var kept = [Int?](repeating: nil, count: dataset.imageURLs.count)  // old image index → new
        var next = 0
        let total = dataset.imageURLs.count + dataset.captions.count
        let skipped = try ImageFeatureBatches.encode(
            dataset.imageURLs, model: model, batchSize: batchSize,
            progress: { done, _ in progress?(done, total) },
            { indices, features in
                rows.append(features)
                for index in indices {
                    kept[index] = next
                    next += 1
                }
            })
        guard next > 0 else {
            throw EvaluationError.noImages(
                dataset.source.path, skipped: skipped.count, firstReason: skipped.first?.reason)
        }
        let imageFeatures = Tensor.concatenate(rows, dim: 0)  // (N, E)
        var captions: [String] = [], imageOfText: [Int] = []
        for (caption, image) in zip(dataset.captions, dataset.imageOfCaption) {
            guard let newIndex = kept[image] else { continue }
            captions.append(caption)
            imageOfText.append(newIndex)
        }
        // Captions in chunks only to report progress; encodeText batches internally.
        var textParts: [Tensor] = []
        let chunk = 256
        for start in stride(from: 0, to: captions.count, by: chunk) {
            textParts.append(try model.encodeText(Array(captions[start..<min(start + chunk, captions.count)])))
            progress?(dataset.imageURLs.count + min(start + chunk, captions.count), total)
        }
        let textFeatures = Tensor.concatenate(textParts, dim: 0)  // (M, E)
        let metrics = RetrievalMetrics(
            imageFeatures: imageFeatures, textFeatures: textFeatures, imageOfText: imageOfText)
        return RetrievalReport(
            metrics: metrics, images: next, texts: captions.count, skipped: skipped,
            skippedTexts: dataset.skippedRows + dataset.captions.count - captions.count)
    }
}
