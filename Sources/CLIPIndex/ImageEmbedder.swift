import CLIPImage
import CLIPModel
import CLIPTensor
import Foundation

// Symbols: B images in a batch, E embedding width, S image side.

/// Embeds image files with a CLIP model into unit vectors, exactly as `clip embed` does (OpenAI
/// preprocessing, image tower, L2 normalisation), reporting a failure per file instead of
/// failing the batch.
public struct ImageEmbedder: Sendable {
    public let model: CLIP
    public var preprocessor: CLIPPreprocessor

    /// `maxPixels` refuses larger images (decompression bombs); nil keeps Pillow's limit.
    public init(model: CLIP, maxPixels: Int? = nil) {
        self.model = model
        preprocessor = model.preprocessor
        if let maxPixels { preprocessor.decodeOptions.maxPixels = maxPixels }
    }

    /// One result per URL, in order: the unit embedding (E) or the error that file raised.
    public func embed(_ urls: [URL]) -> [Result<[Float], any Error>] {
        guard !urls.isEmpty else { return [] }
        let side = model.imageSize
        // The whole batch on all cores; if any file fails, find it file by file (failures are rare).
        var pixels: [Float]
        var good: [Int]
        var results = [Result<[Float], any Error>?](repeating: nil, count: urls.count)
        if let batch = try? preprocessor.preprocessBatch(contentsOf: urls) {
            pixels = batch
            good = Array(urls.indices)
        } else {
            pixels = []
            good = []
            for (i, url) in urls.enumerated() {
                do {
                    pixels += try preprocessor.preprocess(contentsOf: url)
                    good.append(i)
                } catch {
                    results[i] = .failure(error)
                }
            }
        }
        if !good.isEmpty {
            do {
                let features = try model.encodeImage(Tensor(shape: [good.count, 3, side, side], scalars: pixels))
                let rows = Tensor.l2Normalized(features).scalars  // (B, E)
                let e = model.configuration.embedDim
                for (row, i) in good.enumerated() { results[i] = .success(Array(rows[(row * e)..<((row + 1) * e)])) }
            } catch {
                for i in good { results[i] = .failure(error) }
            }
        }
        // Every index got a success or a failure above.
        return results.compactMap { $0 }
    }
}
