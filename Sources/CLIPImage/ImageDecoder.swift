import CImageCodecs
import Foundation

/// Decodes JPEG, PNG, WebP and GIF (first frame) files into ``DecodedImage``s with the mode
/// and samples Pillow 13.0.0 gives, recognising the format from the content.
///
/// ```swift
/// let image = try ImageDecoder.decode(contentsOf: URL(fileURLWithPath: "photo.jpg"))
/// ```
/// Errors are ``ImageError``s that name the file.
public enum ImageDecoder {
    /// Reads and decodes the file at `url`.
    public static func decode(contentsOf url: URL, options: DecodeOptions = DecodeOptions()) throws -> DecodedImage {
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .mappedIfSafe)
        } catch {
            throw ImageError.unreadable(file: url.path, reason: Self.describe(error, at: url.path))
        }
        return try decode(data: data, name: url.path, options: options)
    }

    /// Decodes an in-memory file; `name` is used in errors.
    public static func decode(data: Data, name: String, options: DecodeOptions = DecodeOptions()) throws -> DecodedImage
    {
        guard let format = ImageFormat.sniff(data) else {
            throw ImageError.unsupportedFormat(file: name, detail: ImageFormat.describeUnsupported(data))
        }
        var limits = clip_decode_limits()
        limits.max_pixels = UInt64(max(0, options.maxPixels ?? 0))
        limits.max_scans = Int32(clamping: options.maxProgressiveScans ?? 0)
        limits.jpeg_min_short_side = Int32(clamping: max(0, options.jpegMinimumShortSide ?? 0))
        var image: DecodedImage
        if format == .jpeg {
            image = try decodeJPEG(data: data, name: name, limits: limits)
        } else {
            var raw = clip_image()
            let status: Int32 = data.withUnsafeBytes { buffer in
                let base = buffer.bindMemory(to: UInt8.self).baseAddress
                switch format {
                case .jpeg: return clip_jpeg_decode(base, buffer.count, limits, &raw)
                case .png: return clip_png_decode(base, buffer.count, limits, &raw)
                case .webp: return clip_webp_decode(base, buffer.count, limits, &raw)
                case .gif: return clip_gif_decode(base, buffer.count, limits, &raw)
                }
            }
            defer { clip_image_free(&raw) }
            guard status == Int32(CLIP_OK.rawValue) else {
                throw Self.error(status: status, message: Self.message(of: &raw), format: format, file: name)
            }
            image = try Self.wrap(&raw, file: name)
        }
        if options.applyEXIFOrientation, let orientation = EXIFOrientation.read(from: data, format: format) {
            image = orientation.apply(to: image)
        }
        return image
    }

    /// JPEGs decode straight into the array's storage (size from the header first): a photo is
    /// the largest buffer of the whole pipeline, and copying it cost as much as resampling.
    private static func decodeJPEG(data: Data, name: String, limits: clip_decode_limits) throws -> DecodedImage {
        var raw = clip_image()
        var status: Int32 = data.withUnsafeBytes { buffer in
            clip_jpeg_size(buffer.bindMemory(to: UInt8.self).baseAddress, buffer.count, limits, &raw)
        }
        guard status == Int32(CLIP_OK.rawValue) else {
            throw Self.error(status: status, message: Self.message(of: &raw), format: .jpeg, file: name)
        }
        guard let mode = Self.mode(raw.mode), raw.width > 0, raw.height > 0 else {
            throw ImageError.corrupt(file: name, detail: "decoder returned no pixels")
        }
        let count = Int(raw.width) * Int(raw.height) * mode.bytesPerPixel
        let pixels = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            status = data.withUnsafeBytes { bytes in
                clip_jpeg_decode_into(
                    bytes.bindMemory(to: UInt8.self).baseAddress, bytes.count, limits,
                    buffer.baseAddress, count, &raw)
            }
            initialized = status == Int32(CLIP_OK.rawValue) ? count : 0
        }
        guard status == Int32(CLIP_OK.rawValue) else {
            throw Self.error(status: status, message: Self.message(of: &raw), format: .jpeg, file: name)
        }
        return DecodedImage(mode: mode, width: Int(raw.width), height: Int(raw.height), pixels: pixels)
    }

    private static func wrap(_ raw: inout clip_image, file: String) throws -> DecodedImage {
        guard let mode = Self.mode(raw.mode), raw.width > 0, raw.height > 0, let pixels = raw.pixels else {
            throw ImageError.corrupt(file: file, detail: "decoder returned no pixels")
        }
        let count = Int(raw.width) * Int(raw.height) * mode.bytesPerPixel
        let samples = Array(UnsafeBufferPointer(start: pixels, count: count))
        var palette: [UInt8] = []
        if mode == .p {
            palette = withUnsafeBytes(of: &raw.palette) { Array($0.prefix(768)) }
            // Pillow's palette has exactly the file's entries; the rest of its 256 slots are 0.
            let used = Int(raw.palette_count) * 3
            for i in used..<768 { palette[i] = 0 }
        }
        return DecodedImage(
            mode: mode, width: Int(raw.width), height: Int(raw.height), pixels: samples, palette: palette)
    }

    private static func mode(_ value: Int32) -> PixelMode? {
        switch UInt32(bitPattern: value) {
        case CLIP_MODE_1.rawValue: .bilevel
        case CLIP_MODE_L.rawValue: .l
        case CLIP_MODE_LA.rawValue: .la
        case CLIP_MODE_P.rawValue: .p
        case CLIP_MODE_RGB.rawValue: .rgb
        case CLIP_MODE_RGBA.rawValue: .rgba
        case CLIP_MODE_CMYK.rawValue: .cmyk
        case CLIP_MODE_I16.rawValue: .i16
        default: nil
        }
    }

    private static func message(of raw: inout clip_image) -> String {
        withUnsafeBytes(of: &raw.message) { bytes in
            let text = bytes.prefix { $0 != 0 }
            return String(decoding: text, as: UTF8.self)
        }
    }

    private static func error(status: Int32, message: String, format: ImageFormat, file: String) -> ImageError {
        let detail = "\(format.rawValue): \(message)"
        switch UInt32(bitPattern: status) {
        case CLIP_ERR_TRUNCATED.rawValue: return .truncated(file: file, detail: detail)
        case CLIP_ERR_TOO_LARGE.rawValue: return .tooManyPixels(file: file, detail: message)
        case CLIP_ERR_UNSUPPORTED.rawValue: return .unsupportedFormat(file: file, detail: message)
        case CLIP_ERR_NO_MEMORY.rawValue: return .outOfMemory(file: file)
        case CLIP_ERR_TOO_MANY_SCANS.rawValue: return .tooManyScans(file: file, detail: message)
        case CLIP_ERR_EMPTY.rawValue: return .empty(file: file, detail: message)
        default: return .corrupt(file: file, detail: detail)
        }
    }

    private static func describe(_ error: any Error, at path: String) -> String {
        // Foundation words a folder or a FIFO as a permission problem: say what it is.
        var info = stat()
        if stat(path, &info) == 0, info.st_mode & S_IFMT != S_IFREG {
            return info.st_mode & S_IFMT == S_IFDIR ? "it is a folder" : "not a regular file (a FIFO, device or socket)"
        }
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain,
            let code = POSIXErrorCode(rawValue: Int32(underlying.code))
        {
            return String(cString: strerror(code.rawValue))
        }
        if nsError.domain == NSCocoaErrorDomain && nsError.code == NSFileReadNoSuchFileError {
            return "no such file"
        }
        return nsError.localizedDescription
    }
}
