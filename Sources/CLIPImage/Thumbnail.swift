import Foundation

/// Small previews for the search page: the image turned upright (EXIF orientation), fitted
/// inside a square of `maxSide` pixels with Pillow's bicubic filter (never enlarged),
/// transparency flattened onto white, as RGB.
///
/// ```swift
/// let data = try Data(contentsOf: URL(fileURLWithPath: "photo.jpg"))
/// let jpeg = try Thumbnail.jpeg(data: data, name: "photo.jpg", maxSide: 256)
/// ```
///
/// JPEGs are decoded with libjpeg's DCT scaling (``DecodeOptions/jpegMinimumShortSide``), so a
/// 12-megapixel photo is read at 1/8 size or so before resampling; the pixels differ slightly
/// from a full-size decode, which does not matter for a preview (CLIP's preprocessing never
/// uses this path).
public enum Thumbnail {
    /// The size of `width x height` fitted inside `maxSide x maxSide`, keeping the aspect
    /// ratio (rounded, at least 1 pixel); images that already fit keep their size.
    public static func fittedSize(width: Int, height: Int, maxSide: Int) -> (width: Int, height: Int) {
        precondition(width > 0 && height > 0 && maxSide > 0, "sizes must be positive")
        let long = max(width, height)
        guard long > maxSide else { return (width, height) }
        let scale = Double(maxSide) / Double(long)
        return (
            max(1, min(maxSide, Int((Double(width) * scale).rounded()))),
            max(1, min(maxSide, Int((Double(height) * scale).rounded())))
        )
    }

    /// The decoder options for a thumbnail of `maxSide`: EXIF orientation applied, JPEGs
    /// decoded at the smallest DCT scale that still covers `maxSide`.
    public static func decodeOptions(maxSide: Int) -> DecodeOptions {
        var options = DecodeOptions()
        options.applyEXIFOrientation = true
        // The fitted image's shorter side is at most maxSide, so a decode whose shorter side is
        // at least maxSide never has to be enlarged.
        options.jpegMinimumShortSide = maxSide
        return options
    }

    /// `image` fitted inside `maxSide x maxSide`, as RGB.
    public static func make(_ image: DecodedImage, maxSide: Int) -> DecodedImage {
        let (w, h) = fittedSize(width: image.width, height: image.height, maxSide: maxSide)
        let window = ResampleWindow(x: 0, y: 0, width: w, height: h)
        switch image.mode {
        case .la, .rgba:
            // Resized with premultiplied alpha (as Pillow), then composited onto white: a
            // transparent logo should not turn black.
            let resized = CLIPPreprocessor.resize(image, to: (w, h), window: window)  // (h, w, 2 or 4)
            let bpp = image.mode.bytesPerPixel
            var rgb = [UInt8](repeating: 0, count: w * h * 3)
            for i in 0..<(w * h) {
                let alpha = Int(resized[i * bpp + bpp - 1])
                for c in 0..<3 {
                    let value = Int(resized[i * bpp + (bpp == 4 ? c : 0)])
                    rgb[i * 3 + c] = UInt8((value * alpha + 255 * (255 - alpha) + 127) / 255)
                }
            }
            return DecodedImage(mode: .rgb, width: w, height: h, pixels: rgb)
        default:
            // Palette, bilevel, CMYK and 16-bit grey become RGB first, so that they are
            // resampled bicubically rather than by nearest neighbour.
            let rgb = DecodedImage(
                mode: .rgb, width: image.width, height: image.height,
                pixels: PillowConvert.toRGB(image.pixels, mode: image.mode, palette: image.palette))
            return DecodedImage(
                mode: .rgb, width: w, height: h, pixels: CLIPPreprocessor.resize(rgb, to: (w, h), window: window))
        }
    }

    /// Decodes an image file's bytes and returns its thumbnail as a JPEG file.
    /// Errors are ``ImageError``s naming `name`, or a ``JPEGEncodingError``.
    public static func jpeg(data: Data, name: String, maxSide: Int, quality: Int = 82) throws -> Data {
        let image = try ImageDecoder.decode(data: data, name: name, options: decodeOptions(maxSide: maxSide))
        return try JPEGEncoder.encode(make(image, maxSide: maxSide), quality: quality)
    }
}
