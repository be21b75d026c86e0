/// Limits and choices for ``ImageDecoder``.
///
/// ```swift
/// var options = DecodeOptions()
/// options.applyEXIFOrientation = true
/// let image = try ImageDecoder.decode(contentsOf: url, options: options)
/// ```
public struct DecodeOptions: Sendable, Equatable {
    /// Pillow's `Image.MAX_IMAGE_PIXELS * 2`, the size at which Pillow raises
    /// `DecompressionBombError` instead of only warning.
    public static let pillowPixelLimit = 178_956_970

    /// Largest `width * height` accepted, checked from the header before any pixel is
    /// decoded; nil disables the check.
    public var maxPixels: Int? = DecodeOptions.pillowPixelLimit
    /// Largest number of scans accepted in a progressive JPEG; nil disables the check.
    /// Normal encoders write about 10; thousands of tiny scans make decoding very slow.
    public var maxProgressiveScans: Int? = 1000
    /// Rotate / flip as the EXIF orientation tag says. Off by default, because OpenAI's
    /// preprocessing (plain `Image.open`) ignores the tag.
    public var applyEXIFOrientation = false
    /// libjpeg DCT scaling: when set, JPEGs decode at the smallest of 1/8, 1/4 or 1/2 size
    /// whose shorter side is still at least this many pixels. nil (default) decodes at full
    /// size, exactly as Pillow does; any value changes the pixels. See
    /// ``CLIPPreprocessor/fastJPEGDownscale``.
    public var jpegMinimumShortSide: Int? = nil

    public init() {}
}
