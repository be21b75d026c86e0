import Foundation

/// Why an image could not be read. Every case names the file.
public enum ImageError: LocalizedError, Equatable, Sendable {
    /// The file could not be read at all (missing, a directory, no permission).
    case unreadable(file: String, reason: String)
    /// Not JPEG, PNG, WebP or GIF, or a variant of them we do not decode.
    case unsupportedFormat(file: String, detail: String)
    /// The data ends before the image does.
    case truncated(file: String, detail: String)
    /// The decoder rejected the data.
    case corrupt(file: String, detail: String)
    /// The header announces more pixels than allowed (decompression-bomb guard).
    case tooManyPixels(file: String, detail: String)
    /// A progressive JPEG with more scans than allowed (a known denial-of-service pattern).
    case tooManyScans(file: String, detail: String)
    /// Zero width or height.
    case empty(file: String, detail: String)
    /// Not enough memory for the pixels.
    case outOfMemory(file: String)

    /// The file the error is about.
    public var file: String {
        switch self {
        case .unreadable(let file, _), .unsupportedFormat(let file, _), .truncated(let file, _),
            .corrupt(let file, _), .tooManyPixels(let file, _), .tooManyScans(let file, _),
            .empty(let file, _), .outOfMemory(let file):
            file
        }
    }

    public var errorDescription: String? {
        switch self {
        case .unreadable(let file, let reason): "cannot read \(file): \(reason)"
        case .unsupportedFormat(let file, let detail): "\(file): unsupported image format: \(detail)"
        case .truncated(let file, let detail): "\(file): image file is truncated: \(detail)"
        case .corrupt(let file, let detail): "\(file): corrupt image data: \(detail)"
        case .tooManyPixels(let file, let detail): "\(file): image too large: \(detail)"
        case .tooManyScans(let file, let detail): "\(file): \(detail)"
        case .empty(let file, let detail): "\(file): \(detail)"
        case .outOfMemory(let file): "\(file): out of memory while decoding"
        }
    }

    public var recoverySuggestion: String? {
        switch self {
        case .unreadable: "Check the path and the file's permissions."
        case .unsupportedFormat: "Convert the image to JPEG, PNG, WebP or GIF."
        case .truncated: "The download or copy was probably cut short; fetch the file again."
        case .corrupt: "Open the file in an image viewer; re-export it if it is damaged."
        case .tooManyPixels: "Downscale the image first, or raise DecodeOptions.maxPixels if you trust the file."
        case .tooManyScans: "Re-encode the JPEG, or raise DecodeOptions.maxProgressiveScans if you trust the file."
        case .empty: "The image has no pixels; check how it was produced."
        case .outOfMemory: "Free memory or process fewer images at once."
        }
    }
}
