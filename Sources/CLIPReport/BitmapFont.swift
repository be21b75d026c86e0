// Text on raster images without a font library: X11's public-domain misc-fixed 6x10 font
// (FixedFont6x10.generated.swift, made by scripts/fonts/generate_fixed_font.py), printable
// ASCII only; any other character is drawn as '?'.

/// A fixed-width bitmap font that draws into RGB pixel buffers.
///
/// ```swift
/// var canvas = RGBCanvas(width: 80, height: 12)
/// BitmapFont.fixed6x10.draw("cat 12", into: &canvas, x: 1, y: 1, colour: (0, 0, 0))
/// ```
public struct BitmapFont: Sendable {
    /// Cell size of one character, in pixels before scaling.
    public let width: Int, height: Int
    let rows: [UInt8]

    /// misc-fixed 6x10: 6 pixels wide, 10 high (ascent 8, descent 2).
    public static let fixed6x10 = BitmapFont(width: 6, height: 10, rows: fixed6x10Rows)

    /// The width of `text` drawn at `scale`.
    public func width(of text: String, scale: Int = 1) -> Int { text.unicodeScalars.count * width * scale }

    /// Draws `text` with its top-left corner at (x, y); `vertical` turns it 90° counter-clockwise
    /// (read bottom to top, (x, y) then being the bottom-left corner). Pixels outside the canvas are dropped.
    public func draw(
        _ text: String, into canvas: inout RGBCanvas, x: Int, y: Int, colour: (UInt8, UInt8, UInt8), scale: Int = 1,
        vertical: Bool = false
    ) {
        for (index, scalar) in text.unicodeScalars.enumerated() {
            let code = (32...126).contains(scalar.value) ? Int(scalar.value) : Int(UInt8(ascii: "?"))
            let glyph = (code - 32) * height
            for gy in 0..<height {
                let bits = rows[glyph + gy]
                for gx in 0..<width where bits & (1 << (width - 1 - gx)) != 0 {
                    for sy in 0..<scale {
                        for sx in 0..<scale {
                            // Along the text: u; across it: v (top of the glyph at v = 0).
                            let u = (index * width + gx) * scale + sx, v = gy * scale + sy
                            if vertical {
                                canvas.set(x: x + v, y: y - u, colour)
                            } else {
                                canvas.set(x: x + u, y: y + v, colour)
                            }
                        }
                    }
                }
            }
        }
    }
}

/// An 8-bit RGB image being drawn: `height` rows of `width × 3` bytes.
public struct RGBCanvas: Sendable {
    public let width: Int, height: Int
    public private(set) var pixels: [UInt8]

    /// A canvas filled with `background`.
    public init(width: Int, height: Int, background: (UInt8, UInt8, UInt8) = (255, 255, 255)) {
        precondition(width > 0 && height > 0, "a canvas needs a positive size")
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 0, count: width * height * 3)
        for i in 0..<(width * height) {
            pixels[3 * i] = background.0
            pixels[3 * i + 1] = background.1
            pixels[3 * i + 2] = background.2
        }
    }

    /// Sets one pixel; coordinates outside the canvas are ignored.
    public mutating func set(x: Int, y: Int, _ colour: (UInt8, UInt8, UInt8)) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let i = 3 * (y * width + x)
        pixels[i] = colour.0
        pixels[i + 1] = colour.1
        pixels[i + 2] = colour.2
    }

    /// Fills the rectangle of `w × h` pixels at (x, y), clipped to the canvas.
    public mutating func fill(x: Int, y: Int, w: Int, h: Int, _ colour: (UInt8, UInt8, UInt8)) {
        let x0 = max(x, 0), x1 = min(x + w, width), y0 = max(y, 0), y1 = min(y + h, height)
        guard x0 < x1, y0 < y1 else { return }
        for row in y0..<y1 {
            for column in x0..<x1 { set(x: column, y: row, colour) }
        }
    }

    /// The colour at (x, y).
    public func pixel(x: Int, y: Int) -> (UInt8, UInt8, UInt8) {
        let i = 3 * (y * width + x)
        return (pixels[i], pixels[i + 1], pixels[i + 2])
    }
}
