import CLIPImage
import Foundation

// One body for the four image-decoder targets: the decoder (libraries through CImageCodecs, then
// EXIF orientation and CLIP's preprocessing). Inputs of other formats are rejected from the
// corpus, so each target stays on its decoder. Images are limited to 1 megapixel to keep runs
// fast; larger headers are refused by the same check that enforces Pillow's limit.

private let preprocessor = CLIPPreprocessor(size: 8)

/// Decodes and preprocesses `size` bytes if they sniff as `format`; any error but a typed
/// ``ImageError`` is a finding. Returns libFuzzer's verdict (-1: not added to the corpus).
public func fuzzImageDecoder(_ data: UnsafePointer<UInt8>, _ size: Int, format: ImageFormat) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    guard ImageFormat.sniff(bytes) == format else { return -1 }
    var options = DecodeOptions()
    options.maxPixels = 1 << 20
    options.applyEXIFOrientation = size % 2 == 0
    do {
        let image = try ImageDecoder.decode(data: Data(buffer: bytes), name: "fuzz", options: options)
        precondition(image.pixels.count == image.width * image.height * image.mode.bytesPerPixel, "pixel count")
        blackHole(preprocessor.preprocess(image).count)
    } catch is ImageError {
    } catch {
        fatalError("untyped error \(error)")
    }
    return 0
}
