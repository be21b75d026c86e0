import CLIPImage
import CLIPModel
import CLIPTensor
import Foundation

// Encodes many image files in fixed-size batches so memory stays bounded, skipping files that
// cannot be read instead of failing the whole evaluation (issue 6: a bad sample is skipped and
// counted, never fatal). Symbols: B batch, E embedding width.

/// An image file that could not be evaluated, and why.
public struct SkippedImage: Sendable, Equatable {
    /// The file.
    public var path: String
    /// The decoder's message.
    public var reason: String
}

/// Batched image encoding that skips unreadable files.
///
/// ```swift
/// let skipped = try ImageFeatureBatches.encode(urls, model: model, batchSize: 32) { indices, features in
///     // features: (indices.count, E), one row per readable image of this batch
/// }
/// ```
public enum ImageFeatureBatches {
    /// Calls `body` once per batch with the indices (into `urls`) of the readable images and
    /// their unnormalised features (B, E). Returns the files that were skipped.
    /// - Throws: model errors, and whatever `body` throws; unreadable images are not errors.
    public static func encode(
        _ urls: [URL], model: CLIP, batchSize: Int = 32,
        progress: ((_ done: Int, _ total: Int) -> Void)? = nil,
        _ body: (_ indices: [Int], _ features: Tensor) throws -> Void
    ) throws -> [SkippedImage] {
        precondition(batchSize > 0, "batchSize must be positive")
        var skipped: [SkippedImage] = []
        for start in stride(from: 0, to: urls.count, by: batchSize) {
            var indices = Array(start..<min(start + batchSize, urls.count))
            let end = start + indices.count
            var features: Tensor?
            do {
                features = try model.encodeImage(indices.map { urls[$0] }, maxBatch: batchSize)
            } catch is ImageError {
                // Rare path: find the unreadable files one by one (same decoder options as the
                // batch), then encode the rest of the batch.
                let preprocessor = model.preprocessor
                var good: [Int] = []
                for index in indices {
                    do {
                        _ = try preprocessor.preprocess(contentsOf: urls[index])
                        good.append(index)
                    } catch {
                        skipped.append(
                            SkippedImage(
                                path: urls[index].path,
                                reason: (error as? LocalizedError)?.errorDescription ?? "\(error)"))
                    }
                }
                indices = good
                if !good.isEmpty {
                    features = try model.encodeImage(good.map { urls[$0] }, maxBatch: batchSize)
                }
            }
            if let features, !indices.isEmpty { try body(indices, features) }
            progress?(end, urls.count)
        }
        return skipped
    }
}
