import CImageCodecs
import Foundation

/// Writes 8-bit images as PNG files with libpng (used by the synthetic dataset generator).
///
/// ```swift
/// let rgb = [UInt8](repeating: 200, count: 64 * 64 * 3)
/// let png = try PNGEncoder.encode(pixels: rgb, width: 64, height: 64, channels: 3)
/// try png.write(to: URL(fileURLWithPath: "grey.png"))
/// ```
public enum PNGEncoder {
    /// Encodes `height` rows of `width * channels` interleaved 8-bit samples: 1 = grey (`L`),
    /// 2 = grey + alpha (`LA`), 3 = `RGB`, 4 = `RGBA`. `compressionLevel` is zlib's 0...9
    /// (1 is fast and still small for flat synthetic images).
    public static func encode(pixels: [UInt8], width: Int, height: Int, channels: Int, compressionLevel: Int = 6) throws
        -> Data
    {
        guard (1...4).contains(channels) else {
            throw PNGEncodingError(detail: "channels must be 1...4, got \(channels)")
        }
        guard width > 0, height > 0, width <= Int(Int32.max) / channels, height <= Int(Int32.max) else {
            throw PNGEncodingError(detail: "image size \(width)x\(height) is not encodable")
        }
        guard pixels.count == width * height * channels else {
            throw PNGEncodingError(detail: "\(pixels.count) bytes for a \(width)x\(height)x\(channels) image")
        }
        var buffer = clip_png_buffer()
        let status = pixels.withUnsafeBufferPointer { src in
            clip_png_encode(
                src.baseAddress, Int32(width), Int32(height), Int32(channels), Int32(clamping: compressionLevel),
                &buffer)
        }
        defer { clip_png_buffer_free(&buffer) }
        guard status == 0, let bytes = buffer.data else {
            let message = withUnsafeBytes(of: &buffer.message) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            throw PNGEncodingError(detail: message)
        }
        return Data(bytes: bytes, count: buffer.size)
    }

    /// Encodes a decoded `L`, `LA`, `RGB` or `RGBA` image.
    public static func encode(_ image: DecodedImage, compressionLevel: Int = 6) throws -> Data {
        let channels: Int
        switch image.mode {
        case .l: channels = 1
        case .la: channels = 2
        case .rgb: channels = 3
        case .rgba: channels = 4
        default: throw PNGEncodingError(detail: "mode \(image.mode.rawValue) is not written; convert to RGB first")
        }
        return try encode(
            pixels: image.pixels, width: image.width, height: image.height, channels: channels,
            compressionLevel: compressionLevel)
    }
}

/// Why ``PNGEncoder`` could not write an image.
public struct PNGEncodingError: LocalizedError, Equatable, Sendable {
    /// What libpng or the argument check reported.
    public var detail: String

    public var errorDescription: String? { "cannot encode PNG: \(detail)" }
    public var recoverySuggestion: String? { "Pass 8-bit samples with 1 to 4 channels and a positive size." }
}
