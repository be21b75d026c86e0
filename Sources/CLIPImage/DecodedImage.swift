/// A decoded image exactly as Pillow holds it after `Image.open(path).load()`: its mode, its
/// size and its samples, row by row, interleaved.
///
/// ```swift
/// let image = try ImageDecoder.decode(contentsOf: URL(fileURLWithPath: "cat.jpg"))
/// print(image.mode, image.width, image.height)   // RGB 451 300
/// ```
public struct DecodedImage: Sendable, Equatable {
    /// The Pillow mode of ``pixels``.
    public var mode: PixelMode
    /// Width in pixels (> 0).
    public var width: Int
    /// Height in pixels (> 0).
    public var height: Int
    /// `height * width * mode.bytesPerPixel` bytes; `I;16` samples are little-endian.
    public var pixels: [UInt8]
    /// For mode `P`: 256 RGB triples (768 bytes). Entries past the file's own palette are
    /// black, as in Pillow. Empty for other modes.
    public var palette: [UInt8]

    /// Wraps existing samples. The sizes must agree (a programmer error otherwise).
    public init(mode: PixelMode, width: Int, height: Int, pixels: [UInt8], palette: [UInt8] = []) {
        precondition(width > 0 && height > 0, "image size must be positive")
        precondition(pixels.count == width * height * mode.bytesPerPixel, "pixel buffer size does not match")
        precondition(mode != .p || palette.count == 768, "mode P needs a 256-entry RGB palette")
        self.mode = mode
        self.width = width
        self.height = height
        self.pixels = pixels
        self.palette = mode == .p ? palette : []
    }
}
