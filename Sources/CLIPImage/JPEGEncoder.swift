import CImageCodecs
import Foundation

/// Writes 8-bit grey or RGB images as baseline JPEG files with libjpeg-turbo (the search page's
/// thumbnails: a photo's thumbnail is several times smaller as JPEG than as PNG).
///
/// ```swift
/// let rgb = [UInt8](repeating: 200, count: 64 * 64 * 3)
/// let jpeg = try JPEGEncoder.encode(pixels: rgb, width: 64, height: 64, channels: 3, quality: 85)
/// ```
public enum JPEGEncoder {
    /// Encodes `height` rows of `width * channels` interleaved 8-bit samples: 1 = grey (`L`),
    /// 3 = `RGB`. `quality` is libjpeg's 1...100 (clamped); RGB is written with 4:2:0 chroma.
    public static func encode(pixels: [UInt8], width: Int, height: Int, channels: Int, quality: Int = 85) throws
        -> Data
    {
        guard channels == 1 || channels == 3 else {
            throw JPEGEncodingError(detail: "channels must be 1 (grey) or 3 (RGB), got \(channels)")
        }
        guard (1...65535).contains(width), (1...65535).contains(height) else {
            throw JPEGEncodingError(detail: "image size \(width)x\(height) is not encodable (1...65535 a side)")
        }
        guard pixels.count == width * height * channels else {
            throw JPEGEncodingError(detail: "\(pixels.count) bytes for a \(width)x\(height)x\(channels) image")
        }
        var buffer = clip_jpeg_buffer()
        let status = pixels.withUnsafeBufferPointer { src in
            clip_jpeg_encode(
                src.baseAddress, Int32(width), Int32(height), Int32(channels), Int32(clamping: quality), &buffer)
        }
        defer { clip_jpeg_buffer_free(&buffer) }
        guard status == 0, let bytes = buffer.data else {
            let message = withUnsafeBytes(of: &buffer.message) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            throw JPEGEncodingError(detail: message)
        }
        return Data(bytes: bytes, count: buffer.size)
    }

    /// Encodes a decoded `L` or `RGB` image.
    public static func encode(_ image: DecodedImage, quality: Int = 85) throws -> Data {
        let channels: Int
        switch image.mode {
        case .l: channels = 1
        case .rgb: channels = 3
        default: throw JPEGEncodingError(detail: "mode \(image.mode.rawValue) is not written; convert to RGB first")
        }
        return try encode(
            pixels: image.pixels, width: image.width, height: image.height, channels: channels, quality: quality)
    }
}

/// Why ``JPEGEncoder`` could not write an image.
public struct JPEGEncodingError: LocalizedError, Equatable, Sendable {
    /// What libjpeg or the argument check reported.
    public var detail: String

    public var errorDescription: String? { "cannot encode JPEG: \(detail)" }
    public var recoverySuggestion: String? {
        "Pass 8-bit grey or RGB samples and a size of 1...65535 pixels a side."
    }
}
