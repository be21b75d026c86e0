/// Pillow's image modes that CLIPImage decodes into, named as Pillow names them.
///
/// Preprocessing must know the mode because OpenAI's transform resizes the image *as
/// opened*, before `convert("RGB")`: Pillow resizes `P` and `1` with nearest neighbour,
/// premultiplies alpha for `LA` and `RGBA`, and keeps 16 bits for `I;16`.
public enum PixelMode: String, Sendable, CaseIterable, Equatable {
    /// Bilevel, stored one byte per pixel as 0 or 255 (as Pillow stores it).
    case bilevel = "1"
    /// 8-bit grey.
    case l = "L"
    /// 8-bit grey and alpha.
    case la = "LA"
    /// 8-bit palette index; the palette is in ``DecodedImage/palette``.
    case p = "P"
    /// 8-bit red, green, blue.
    case rgb = "RGB"
    /// 8-bit red, green, blue, alpha (not premultiplied).
    case rgba = "RGBA"
    /// 8-bit cyan, magenta, yellow, black (Pillow's polarity, 255 = full ink).
    case cmyk = "CMYK"
    /// 16-bit grey, stored little-endian, two bytes per pixel.
    case i16 = "I;16"

    /// Bytes per pixel in ``DecodedImage/pixels``.
    public var bytesPerPixel: Int {
        switch self {
        case .bilevel, .l, .p: 1
        case .la, .i16: 2
        case .rgb: 3
        case .rgba, .cmyk: 4
        }
    }
}
