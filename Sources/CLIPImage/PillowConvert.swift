// Pillow's per-pixel mode conversions used by preprocessing, ported from Pillow 13.0.0 (unchanged since 11.0.0)
// src/libImaging/Convert.c: alpha premultiplication around resize (rgbA2rgba / lA2la and
// back, rgba2rgbA / la2lA), and convert("RGB") from every mode we decode (bit2rgb, l2rgb,
// la2rgb, p2rgb, rgba2rgb, cmyk2rgb, I16_RGB).
enum PillowConvert {
    /// Pillow's MULDIV255: a * b / 255 rounded, with integer arithmetic.
    @inline(__always)
    static func mulDiv255(_ a: Int, _ b: Int) -> Int {
        let t = a * b + 128
        return ((t >> 8) + t) >> 8
    }

    @inline(__always)
    static func clip8(_ v: Int) -> UInt8 {
        v <= 0 ? 0 : v < 256 ? UInt8(v) : 255
    }

    /// RGBA -> RGBa or LA -> La in place: colour channels times alpha / 255. The last of
    /// `channels` samples is alpha.
    static func premultiply(_ pixels: inout [UInt8], channels: Int) {
        pixels.withUnsafeMutableBufferPointer { p in
            var i = 0
            while i < p.count {
                let alpha = Int(p[i + channels - 1])
                for c in 0..<(channels - 1) { p[i + c] = UInt8(mulDiv255(Int(p[i + c]), alpha)) }
                i += channels
            }
        }
    }

    /// RGBa -> RGBA or La -> LA in place: colour channels times 255 / alpha, clamped.
    static func unpremultiply(_ pixels: inout [UInt8], channels: Int) {
        pixels.withUnsafeMutableBufferPointer { p in
            var i = 0
            while i < p.count {
                let alpha = Int(p[i + channels - 1])
                if alpha != 255 && alpha != 0 {
                    for c in 0..<(channels - 1) { p[i + c] = clip8((255 * Int(p[i + c])) / alpha) }
                }
                i += channels
            }
        }
    }

    /// `convert("RGB")`: interleaved RGB bytes from samples of `mode`. `I;16` samples come
    /// as little-endian byte pairs.
    static func toRGB(_ src: [UInt8], mode: PixelMode, palette: [UInt8]) -> [UInt8] {
        let count = src.count / mode.bytesPerPixel
        if mode == .rgb { return src }
        var out = [UInt8](repeating: 0, count: count * 3)
        src.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBufferPointer { d in
                for i in 0..<count {
                    let r: UInt8, g: UInt8, b: UInt8
                    switch mode {
                    case .bilevel:
                        let v: UInt8 = s[i] != 0 ? 255 : 0
                        (r, g, b) = (v, v, v)
                    case .l:
                        (r, g, b) = (s[i], s[i], s[i])
                    case .la:
                        (r, g, b) = (s[2 * i], s[2 * i], s[2 * i])
                    case .p:
                        let e = Int(s[i]) * 3
                        (r, g, b) = (palette[e], palette[e + 1], palette[e + 2])
                    case .rgb:
                        (r, g, b) = (s[3 * i], s[3 * i + 1], s[3 * i + 2])
                    case .rgba:
                        (r, g, b) = (s[4 * i], s[4 * i + 1], s[4 * i + 2])
                    case .cmyk:
                        let nk = 255 - Int(s[4 * i + 3])
                        r = clip8(nk - mulDiv255(Int(s[4 * i]), nk))
                        g = clip8(nk - mulDiv255(Int(s[4 * i + 1]), nk))
                        b = clip8(nk - mulDiv255(Int(s[4 * i + 2]), nk))
                    case .i16:
                        // Values above 255 saturate: Pillow does not rescale 16-bit grey.
                        let v = s[2 * i + 1] == 0 ? s[2 * i] : 255
                        (r, g, b) = (v, v, v)
                    }
                    d[3 * i] = r
                    d[3 * i + 1] = g
                    d[3 * i + 2] = b
                }
            }
        }
        return out
    }
}
