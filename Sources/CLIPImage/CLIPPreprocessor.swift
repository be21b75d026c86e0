import Foundation

/// OpenAI CLIP's image preprocessing (openai/CLIP clip/clip.py `_transform`, with torchvision
/// 0.20 transforms and Pillow 13.0.0), reproduced exactly:
/// `Resize(n, BICUBIC)` on the image as opened → `CenterCrop(n)` → `convert("RGB")` →
/// `ToTensor()` → `Normalize(mean, std)`.
///
/// ```swift
/// let preprocessor = CLIPPreprocessor(size: 224)
/// let pixels = try preprocessor.preprocess(contentsOf: url)            // (3, 224, 224)
/// let batch = try preprocessor.preprocessBatch(contentsOf: [a, b, c])  // (3, 3, 224, 224)
/// ```
public struct CLIPPreprocessor: Sendable {
    /// OpenAI's per-channel mean, as float32 (torch.as_tensor of the Python doubles).
    public static let mean: [Float] = [
        Float(0.48145466 as Double), Float(0.4578275 as Double), Float(0.40821073 as Double),
    ]
    /// OpenAI's per-channel standard deviation, as float32.
    public static let std: [Float] = [
        Float(0.26862954 as Double), Float(0.26130258 as Double), Float(0.27577711 as Double),
    ]

    /// Side of the square output (224 for ViT-B/32, 336 for ViT-L/14@336px ...).
    public let size: Int
    /// Options for reading files.
    public var decodeOptions: DecodeOptions
    /// Fast path, off by default: decode JPEGs with libjpeg's DCT scaling to the smallest
    /// 1/2, 1/4 or 1/8 size whose shorter side is still ≥ 2·``size``, then resize as usual.
    /// Much faster on large photos, but the pixels no longer match Pillow's.
    public var fastJPEGDownscale = false

    /// `size` must be positive (a programmer error otherwise).
    public init(size: Int, decodeOptions: DecodeOptions = DecodeOptions()) {
        precondition(size > 0, "preprocess size must be positive")
        self.size = size
        self.decodeOptions = decodeOptions
    }

    /// torchvision's `_compute_resized_output_size` for an int size: the shorter side becomes
    /// `size`, the longer `int(size * long / short)` (true division, then truncation).
    public static func resizedSize(width: Int, height: Int, size: Int) -> (width: Int, height: Int) {
        let (short, long) = width <= height ? (width, height) : (height, width)
        let newLong = Int(Double(size * long) / Double(short))
        return width <= height ? (size, newLong) : (newLong, size)
    }

    /// Resize, centre-crop and convert to RGB: `size * size * 3` bytes, row-major, the pixels
    /// `ToTensor` sees.
    public func resizeAndCrop(_ image: DecodedImage) -> [UInt8] {
        resizeAndCrop(image, rows: .serial)
    }

    /// ``resizeAndCrop(_:)`` with the resampling rows run by `rows` (a batch's idle workers).
    func resizeAndCrop(_ image: DecodedImage, rows: RowParallelism) -> [UInt8] {
        let n = size
        let (rw, rh) = Self.resizedSize(width: image.width, height: image.height, size: n)
        // torchvision's CenterCrop: zero padding when smaller (never after Resize), then
        // offsets int(round((H - n) / 2.0)) with round half to even.
        let padLeft = rw < n ? (n - rw) / 2 : 0, padTop = rh < n ? (n - rh) / 2 : 0
        let paddedW = max(rw, n), paddedH = max(rh, n)
        let cropLeft = Int((Double(paddedW - n) / 2.0).rounded(.toNearestOrEven))
        let cropTop = Int((Double(paddedH - n) / 2.0).rounded(.toNearestOrEven))
        // The crop in resized coordinates, clipped to the resized image.
        let x0 = cropLeft - padLeft, y0 = cropTop - padTop
        let vx0 = max(x0, 0), vy0 = max(y0, 0)
        let vx1 = min(x0 + n, rw), vy1 = min(y0 + n, rh)
        let window = ResampleWindow(x: vx0, y: vy0, width: vx1 - vx0, height: vy1 - vy0)
        // (window.height, window.width, bpp)
        let cropped = Self.resize(image, to: (rw, rh), window: window, rows: rows)
        let bpp = image.mode.bytesPerPixel
        var square: [UInt8]
        if window.width == n && window.height == n {
            square = cropped
        } else {
            // Padding is zero in the image's own mode (index 0 for P, white for CMYK after conversion).
            square = [UInt8](repeating: 0, count: n * n * bpp)
            for y in 0..<window.height {
                for x in 0..<window.width {
                    let d = ((y + vy0 - y0) * n + (x + vx0 - x0)) * bpp, s = (y * window.width + x) * bpp
                    for c in 0..<bpp { square[d + c] = cropped[s + c] }
                }
            }
        }
        return PillowConvert.toRGB(square, mode: image.mode, palette: image.palette)
    }

    /// Pillow's `Image.resize((w, h), BICUBIC)` for the image's mode, computing only `window`.
    static func resize(
        _ image: DecodedImage, to size: (Int, Int), window: ResampleWindow,
        rows: RowParallelism = .serial
    ) -> [UInt8] {
        let (w, h) = size
        let bpp = image.mode.bytesPerPixel
        if w == image.width && h == image.height {
            // Unchanged size: torchvision returns the image as it is; only crop.
            var out = [UInt8](repeating: 0, count: window.width * window.height * bpp)
            for y in 0..<window.height {
                let s = ((window.y + y) * image.width + window.x) * bpp
                out.replaceSubrange(
                    (y * window.width * bpp)..<((y + 1) * window.width * bpp),
                    with: image.pixels[s..<(s + window.width * bpp)])
            }
            return out
        }
        switch image.mode {
        case .bilevel, .p:
            return image.pixels.withUnsafeBufferPointer {
                PillowResample.nearest(
                    $0, width: image.width, height: image.height, bytesPerPixel: bpp,
                    outWidth: w, outHeight: h, window: window)
            }
        case .l, .rgb, .cmyk:
            return image.pixels.withUnsafeBufferPointer {
                PillowResample.bicubic8(
                    $0, width: image.width, height: image.height, channels: bpp,
                    outWidth: w, outHeight: h, window: window, rows: rows)
            }
        case .la, .rgba:
            // Image.resize converts LA -> La and RGBA -> RGBa around the resampling.
            var premultiplied = image.pixels
            PillowConvert.premultiply(&premultiplied, channels: bpp)
            var out = premultiplied.withUnsafeBufferPointer {
                PillowResample.bicubic8(
                    $0, width: image.width, height: image.height, channels: bpp,
                    outWidth: w, outHeight: h, window: window, rows: rows)
            }
            PillowConvert.unpremultiply(&out, channels: bpp)
            return out
        case .i16:
            var samples = [UInt16](repeating: 0, count: image.width * image.height)
            for i in samples.indices { samples[i] = UInt16(image.pixels[2 * i]) | UInt16(image.pixels[2 * i + 1]) << 8 }
            let out = PillowResample.bicubic16(
                samples, width: image.width, height: image.height,
                outWidth: w, outHeight: h, window: window)
            var bytes = [UInt8](repeating: 0, count: out.count * 2)
            for (i, v) in out.enumerated() {
                bytes[2 * i] = UInt8(truncatingIfNeeded: v)
                bytes[2 * i + 1] = UInt8(truncatingIfNeeded: v >> 8)
            }
            return bytes
        }
    }

    /// `ToTensor` + `Normalize` in float32, in torchvision's order: (x / 255 - mean) / std.
    /// Each channel maps 256 possible bytes, so the values come from a table.
    static let normalizationTable: [Float] = (0..<3).flatMap { c in
        (0..<256).map { v in (Float(v) / Float(255) - mean[c]) / std[c] }
    }

    /// Writes the (3, size, size) tensor for `rgb` (from ``resizeAndCrop(_:)``) into `out`.
    public func normalize(_ rgb: [UInt8], into out: UnsafeMutableBufferPointer<Float>) {
        let plane = size * size
        precondition(rgb.count == plane * 3 && out.count >= plane * 3)
        Self.normalizationTable.withUnsafeBufferPointer { table in
            rgb.withUnsafeBufferPointer { src in
                for i in 0..<plane {
                    out[i] = table[Int(src[3 * i])]
                    out[plane + i] = table[256 + Int(src[3 * i + 1])]
                    out[2 * plane + i] = table[512 + Int(src[3 * i + 2])]
                }
            }
        }
    }

    /// The (3, size, size) float32 tensor for a decoded image.
    public func preprocess(_ image: DecodedImage) -> [Float] {
        let rgb = resizeAndCrop(image)
        return [Float](unsafeUninitializedCapacity: 3 * size * size) { buffer, count in
            normalize(rgb, into: buffer)
            count = 3 * size * size
        }
    }

    /// Reads, decodes and preprocesses one file: (3, size, size).
    public func preprocess(contentsOf url: URL) throws -> [Float] {
        try preprocess(ImageDecoder.decode(contentsOf: url, options: effectiveDecodeOptions))
    }

    var effectiveDecodeOptions: DecodeOptions {
        var options = decodeOptions
        if fastJPEGDownscale { options.jpegMinimumShortSide = 2 * size }
        return options
    }

    /// Preprocesses files on all cores: (B, 3, size, size), images in the order given. If
    /// any file fails, throws the error of the first failing file in that order.
    ///
    /// Scheduling is dynamic: each core takes the next file (largest first), and a core that
    /// finds none left helps resample the images still in progress, row chunk by row chunk,
    /// so a short batch or one huge photo still keeps every core busy. The values do not
    /// depend on the scheduling.
    public func preprocessBatch(contentsOf urls: [URL]) throws -> [Float] {
        try preprocessBatch(contentsOf: urls, threads: ProcessInfo.processInfo.activeProcessorCount)
    }

    /// ``preprocessBatch(contentsOf:)`` on `threads` threads (tests compare thread counts).
    func preprocessBatch(contentsOf urls: [URL], threads: Int) throws -> [Float] {
        let stride = 3 * size * size
        var output = [Float](repeating: 0, count: urls.count * stride)
        var errors = [ImageError?](repeating: nil, count: urls.count)
        let options = effectiveDecodeOptions
        // Largest files first: decoding cannot be split, so a big photo taken last would
        // leave the other cores waiting. File size is a cheap stand-in for the work.
        let bytes = urls.map { (try? FileManager.default.attributesOfItem(atPath: $0.path)[.size] as? Int) ?? 0 }
        let order = urls.indices.sorted { bytes[$0] != bytes[$1] ? bytes[$0] > bytes[$1] : $0 < $1 }
        output.withUnsafeMutableBufferPointer { out in
            errors.withUnsafeMutableBufferPointer { errs in
                // Each image writes only its own slice, so sharing the buffers is safe.
                nonisolated(unsafe) let out = out
                nonisolated(unsafe) let errs = errs
                BatchScheduler(order: order).run(threads: threads) { index, rows in
                    do {
                        let image = try ImageDecoder.decode(contentsOf: urls[index], options: options)
                        let rgb = resizeAndCrop(image, rows: rows)
                        normalize(
                            rgb,
                            into: UnsafeMutableBufferPointer(rebasing: out[(index * stride)..<((index + 1) * stride)]))
                    } catch let error as ImageError {
                        errs[index] = error
                    } catch {
                        errs[index] = .corrupt(file: urls[index].path, detail: "\(error)")
                    }
                }
            }
        }
        if let first = errors.compactMap({ $0 }).first { throw first }
        return output
    }
}
