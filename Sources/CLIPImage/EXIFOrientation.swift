import Foundation

/// The EXIF orientation tag (0x0112) and the transpose Pillow's `ImageOps.exif_transpose`
/// applies for it (Pillow 11.0.0, src/PIL/ImageOps.py): 2 flip left-right, 3 rotate 180,
/// 4 flip top-bottom, 5 transpose, 6 rotate 270, 7 transverse, 8 rotate 90.
struct EXIFOrientation: Equatable {
    var value: Int

    /// Reads the tag from a JPEG APP1 "Exif" segment, a PNG eXIf chunk or a WebP EXIF chunk.
    /// Returns nil when absent, malformed or 1 (nothing to do).
    static func read(from data: Data, format: ImageFormat) -> EXIFOrientation? {
        let bytes = [UInt8](data)
        let tiff: ArraySlice<UInt8>?
        switch format {
        case .jpeg: tiff = jpegEXIF(bytes)
        case .png: tiff = pngEXIF(bytes)
        case .webp: tiff = webpEXIF(bytes)
        case .gif: tiff = nil
        }
        guard let tiff, let value = orientation(inTIFF: tiff), (2...8).contains(value) else { return nil }
        return EXIFOrientation(value: value)
    }

    private static func jpegEXIF(_ b: [UInt8]) -> ArraySlice<UInt8>? {
        var i = 2
        while i + 4 <= b.count, b[i] == 0xFF {
            let marker = b[i + 1]
            if marker == 0xDA || marker == 0xD9 { return nil }  // image data starts: no more metadata
            if marker == 0xFF {
                i += 1
                continue
            }  // fill byte
            let length = Int(b[i + 2]) << 8 | Int(b[i + 3])
            guard length >= 2, i + 2 + length <= b.count else { return nil }
            let payload = b[(i + 4)..<(i + 2 + length)]
            if marker == 0xE1, payload.starts(with: Array("Exif\0\0".utf8)) {
                return payload.dropFirst(6)
            }
            i += 2 + length
        }
        return nil
    }

    private static func pngEXIF(_ b: [UInt8]) -> ArraySlice<UInt8>? {
        var i = 8
        while i + 8 <= b.count {
            let length = Int(b[i]) << 24 | Int(b[i + 1]) << 16 | Int(b[i + 2]) << 8 | Int(b[i + 3])
            let type = String(decoding: b[(i + 4)..<(i + 8)], as: UTF8.self)
            guard length >= 0, i + 8 + length <= b.count else { return nil }
            if type == "eXIf" { return stripExifPrefix(b[(i + 8)..<(i + 8 + length)]) }
            if type == "IEND" { return nil }
            i += 12 + length
        }
        return nil
    }

    private static func webpEXIF(_ b: [UInt8]) -> ArraySlice<UInt8>? {
        var i = 12
        while i + 8 <= b.count {
            let type = String(decoding: b[i..<(i + 4)], as: UTF8.self)
            let length = Int(b[i + 4]) | Int(b[i + 5]) << 8 | Int(b[i + 6]) << 16 | Int(b[i + 7]) << 24
            guard i + 8 + length <= b.count else { return nil }
            if type == "EXIF" { return stripExifPrefix(b[(i + 8)..<(i + 8 + length)]) }
            i += 8 + length + (length & 1)  // chunks are padded to even sizes
        }
        return nil
    }

    private static func stripExifPrefix(_ s: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        s.starts(with: Array("Exif\0\0".utf8)) ? s.dropFirst(6) : s
    }

    /// Finds tag 0x0112 in IFD0 of a TIFF structure.
    static func orientation(inTIFF slice: ArraySlice<UInt8>) -> Int? {
        let t = Array(slice)
        guard t.count >= 8 else { return nil }
        let little: Bool
        switch (t[0], t[1]) {
        case (0x49, 0x49): little = true
        case (0x4D, 0x4D): little = false
        default: return nil
        }
        func u16(_ o: Int) -> Int? {
            guard o >= 0, o + 2 <= t.count else { return nil }
            return little ? Int(t[o]) | Int(t[o + 1]) << 8 : Int(t[o]) << 8 | Int(t[o + 1])
        }
        func u32(_ o: Int) -> Int? {
            guard let a = u16(o), let b = u16(o + 2) else { return nil }
            return little ? a | b << 16 : a << 16 | b
        }
        guard let ifd = u32(4), let count = u16(ifd) else { return nil }
        for entry in 0..<count {
            let o = ifd + 2 + entry * 12
            guard let tag = u16(o), let type = u16(o + 2) else { return nil }
            if tag == 0x0112 {
                switch type {
                case 3: return u16(o + 8)  // SHORT
                case 4: return u32(o + 8)  // LONG, written by a few tools
                default: return nil
                }
            }
        }
        return nil
    }

    /// Returns `image` turned upright. The mapping gives, for each output pixel, its source.
    func apply(to image: DecodedImage) -> DecodedImage {
        let w = image.width, h = image.height, bpp = image.mode.bytesPerPixel
        let swaps = value >= 5
        let outW = swaps ? h : w, outH = swaps ? w : h
        var out = [UInt8](repeating: 0, count: image.pixels.count)
        image.pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<outH {
                    for x in 0..<outW {
                        let (sx, sy): (Int, Int)
                        switch value {
                        case 2: (sx, sy) = (w - 1 - x, y)  // FLIP_LEFT_RIGHT
                        case 3: (sx, sy) = (w - 1 - x, h - 1 - y)  // ROTATE_180
                        case 4: (sx, sy) = (x, h - 1 - y)  // FLIP_TOP_BOTTOM
                        case 5: (sx, sy) = (y, x)  // TRANSPOSE
                        case 6: (sx, sy) = (y, h - 1 - x)  // ROTATE_270 (clockwise 90)
                        case 7: (sx, sy) = (w - 1 - y, h - 1 - x)  // TRANSVERSE
                        default: (sx, sy) = (w - 1 - y, x)  // 8: ROTATE_90 (counter-clockwise)
                        }
                        let s = (sy * w + sx) * bpp, d = (y * outW + x) * bpp
                        for c in 0..<bpp { dst[d + c] = src[s + c] }
                    }
                }
            }
        }
        return DecodedImage(mode: image.mode, width: outW, height: outH, pixels: out, palette: image.palette)
    }
}
