import CLIPImage
import CLIPTensor
import Foundation

// openai/clip clip.py `_transform` as a callable returning tensors: what `CLIP.load` hands back
// as `preprocess`. The pixel work is CLIPImage's Pillow-exact ``CLIPPreprocessor``; this file
// only shapes its output. Symbols: B images, S image side.

extension CLIPPreprocessor {
    /// One image file → pixels (1, 3, S, S), ready for `model.encodeImage(_:)`.
    ///
    /// ```swift
    /// let (model, preprocess) = try await CLIP.load("ViT-B/32")
    /// let image = try preprocess(URL(fileURLWithPath: "CLIP.png"))   // (1, 3, 224, 224)
    /// ```
    ///
    /// - Throws: ``ImageError`` when the file cannot be read or decoded.
    public func callAsFunction(_ url: URL) throws -> Tensor {
        Tensor(shape: [1, 3, size, size], scalars: try preprocess(contentsOf: url))
    }

    /// Image files → pixels (B, 3, S, S) in the order given, decoded on all cores.
    ///
    /// ```swift
    /// let batch = try preprocess([URL(fileURLWithPath: "a.jpg"), URL(fileURLWithPath: "b.png")])  // (2, 3, S, S)
    /// ```
    ///
    /// - Throws: the ``ImageError`` of the first file (in the order given) that fails.
    public func callAsFunction(_ urls: [URL]) throws -> Tensor {
        Tensor(shape: [urls.count, 3, size, size], scalars: try preprocessBatch(contentsOf: urls))
    }

    /// An already decoded image → pixels (1, 3, S, S).
    ///
    /// ```swift
    /// let image = try ImageDecoder.decode(contentsOf: url)
    /// let pixels = preprocess(image)   // (1, 3, S, S)
    /// ```
    public func callAsFunction(_ image: DecodedImage) -> Tensor {
        Tensor(shape: [1, 3, size, size], scalars: preprocess(image))
    }
}
