// Pillow's resampling, ported from Pillow 13.0.0 src/libImaging/Resample.c (bicubic,
// a = -0.5), src/libImaging/Geometry.c (ImagingScaleAffine, used for NEAREST) and the pass
// order of src/PIL/Image.py `Image.resize`.
//
// Bicubic: coefficients in double precision (support widened by the scale factor when
// downscaling), 8-bit images use them as 22-bit fixed point integers with rounding and a
// clamp to 0...255 after each pass; `I;16` uses them as doubles with a clamp to 0...65535
// after each pass (CLIP16, Pillow >= 12.3; 11.x kept the low byte of an overshoot). Horizontal
// pass first, on just the rows the vertical pass needs, then the vertical pass; except for
// images more than 100 times taller than wide that shrink vertically, which Pillow >= 12.2
// resizes vertically first (two `im.resize` calls).
//
// Every output pixel depends only on its own row and column coefficients, so computing only
// a window of the output (the centre crop) gives the same values as Pillow's full resize.

import CImageCodecs

/// A rectangle of the resized image to compute: columns `x..<x+width`, rows `y..<y+height`.
struct ResampleWindow: Equatable {
    var x: Int, y: Int, width: Int, height: Int
}

/// Pillow's `precompute_coeffs` for one axis and the bicubic filter, with `box` = the whole axis.
struct ResampleCoefficients {
    /// Maximum taps per output sample.
    let ksize: Int
    /// First input sample for each output sample of the range.
    let starts: [Int]
    /// Number of taps for each output sample of the range.
    let counts: [Int]
    /// `range.count * ksize` normalised weights.
    let weights: [Double]

    /// Coefficients for output samples `range` of an `inSize -> outSize` resize. Each output
    /// sample's taps depend only on its own index, so a window needs no more than itself
    /// (a 1,000,000 x 1 image scaled to 224 rows would otherwise need gigabytes).
    init(inSize: Int, outSize: Int, range: Range<Int>) {
        precondition(inSize > 0 && outSize > 0 && range.lowerBound >= 0 && range.upperBound <= outSize)
        // Pillow passes the box as floats: (double)(in1 - in0) / outSize.
        let scale = Double(Float(inSize)) / Double(outSize)
        let filterscale = max(scale, 1.0)
        let support = Self.support * filterscale
        let ksize = Int(support.rounded(.up)) * 2 + 1
        var starts = [Int](repeating: 0, count: range.count)
        var counts = [Int](repeating: 0, count: range.count)
        var weights = [Double](repeating: 0, count: range.count * ksize)
        let ss = 1.0 / filterscale
        for xx in range {
            let center = (Double(xx) + 0.5) * scale
            // C's (int) cast truncates toward zero, as Int(_:) does.
            var xmin = Int(center - support + 0.5)
            if xmin < 0 { xmin = 0 }
            var xmax = Int(center + support + 0.5)
            if xmax > inSize { xmax = inSize }
            xmax -= xmin
            let i = xx - range.lowerBound
            var ww = 0.0
            for x in 0..<xmax {
                let w = Self.bicubic((Double(x + xmin) - center + 0.5) * ss)
                weights[i * ksize + x] = w
                ww += w
            }
            if ww != 0 {
                for x in 0..<xmax { weights[i * ksize + x] /= ww }
            }
            starts[i] = xmin
            counts[i] = xmax
        }
        self.ksize = ksize
        self.starts = starts
        self.counts = counts
        self.weights = weights
    }

    static let support = 2.0

    /// Keys' cubic convolution with a = -0.5, evaluated in Pillow's operation order.
    @inline(__always)
    static func bicubic(_ value: Double) -> Double {
        let a = -0.5
        let x = value < 0 ? -value : value
        if x < 1.0 { return ((a + 2.0) * x - (a + 3.0)) * x * x + 1 }
        if x < 2.0 { return (((x - 5) * x + 8) * x - 4) * a }
        return 0.0
    }

    /// `normalize_coeffs_8bpc`: weights as fixed point with PRECISION_BITS fraction bits.
    func fixedPoint() -> [Int32] {
        weights.map { w in
            w < 0
                ? Int32(-0.5 + w * Double(1 << PillowResample.precisionBits))
                : Int32(0.5 + w * Double(1 << PillowResample.precisionBits))
        }
    }
}

enum PillowResample {
    /// 32 - 8 - 2: 8 bits of result, 2 bits of headroom for negative lobes.
    static let precisionBits: Int32 = 22

    @inline(__always)
    static func clip8(_ accumulator: Int32) -> UInt8 {
        let v = accumulator >> precisionBits
        return v < 0 ? 0 : v > 255 ? 255 : UInt8(truncatingIfNeeded: v)
    }

    /// Which code runs the horizontal 8-bit pass. All give the same bytes (Tests:
    /// HorizontalKernelTests); `.scalar` is the portable reference.
    enum HorizontalKernel: Equatable, Sendable {
        /// The fastest SIMD kernel this CPU has (clip_resample.c), else `.scalar`.
        case automatic
        case scalar
        case sse41
        case avx2

        var code: Int32 {
            switch self {
            case .automatic: Int32(CLIP_KERNEL_AUTO)
            case .scalar: -1
            case .sse41: Int32(CLIP_KERNEL_SSE41)
            case .avx2: Int32(CLIP_KERNEL_AVX2)
            }
        }

        /// The SIMD kernels this CPU supports (none off x86-64).
        static var available: [HorizontalKernel] {
            let mask = clip_resample_kernels()
            return [.sse41, .avx2].filter { mask & $0.code != 0 }
        }
    }

    /// Bicubic resize of 8-bit interleaved samples (`channels` 1...4) to `outWidth x outHeight`,
    /// returning only `window` (`window.height * window.width * channels` bytes). `rows` may
    /// run the row chunks of each pass on several threads; every row is computed by the same
    /// code whichever thread runs it, so the bytes do not depend on the split.
    static func bicubic8(
        _ src: UnsafeBufferPointer<UInt8>, width: Int, height: Int, channels: Int,
        outWidth: Int, outHeight: Int, window: ResampleWindow,
        kernel: HorizontalKernel = .automatic, rows parallelism: RowParallelism = .serial
    ) -> [UInt8] {
        guard resizesVerticallyFirst(width: width, height: height, outHeight: outHeight) else {
            return bicubic8Passes(
                src, width: width, height: height, channels: channels, outWidth: outWidth, outHeight: outHeight,
                window: window, kernel: kernel, rows: parallelism)
        }
        // The window's rows at full width (the image is narrow), then its columns.
        let rows = bicubic8Passes(
            src, width: width, height: height, channels: channels, outWidth: width, outHeight: outHeight,
            window: ResampleWindow(x: 0, y: window.y, width: width, height: window.height), kernel: kernel,
            rows: parallelism)
        return rows.withUnsafeBufferPointer {
            bicubic8Passes(
                $0, width: width, height: window.height, channels: channels, outWidth: outWidth,
                outHeight: window.height,
                window: ResampleWindow(x: window.x, y: 0, width: window.width, height: window.height),
                kernel: kernel, rows: parallelism)
        }
    }

    /// Pillow >= 12.2 `Image.resize`: an image more than 100 times taller than wide that
    /// shrinks vertically is resized vertically first (at full width), then horizontally.
    static func resizesVerticallyFirst(width: Int, height: Int, outHeight: Int) -> Bool {
        height > width * 100 && outHeight < height
    }

    /// Pillow's `ImagingResampleInner` for 8-bit samples: horizontal pass, then vertical.
    private static func bicubic8Passes(
        _ src: UnsafeBufferPointer<UInt8>, width: Int, height: Int, channels: Int,
        outWidth: Int, outHeight: Int, window: ResampleWindow,
        kernel: HorizontalKernel, rows parallelism: RowParallelism
    ) -> [UInt8] {
        precondition((1...4).contains(channels) && src.count == width * height * channels)
        let needHorizontal = outWidth != width
        let needVertical = outHeight != height
        let vertical = ResampleCoefficients(
            inSize: height, outSize: outHeight, range: window.y..<window.y + window.height)
        // Input rows the vertical pass reads for the window rows.
        let firstRow: Int, endRow: Int
        if needVertical {
            firstRow = vertical.starts.min() ?? 0
            endRow = zip(vertical.starts, vertical.counts).map { $0 + $1 }.max() ?? firstRow
        } else {
            firstRow = window.y
            endRow = window.y + window.height
        }
        let rowLength = window.width * channels
        // (endRow - firstRow, window.width, channels)
        // Every row is written below (by the horizontal pass or the copy), so no zero fill.
        let tempCount = (endRow - firstRow) * rowLength
        var temp = [UInt8](unsafeUninitializedCapacity: tempCount) { _, initialized in initialized = tempCount }
        if needHorizontal {
            let horizontal = ResampleCoefficients(
                inSize: width, outSize: outWidth, range: window.x..<window.x + window.width)
            let kk = horizontal.fixedPoint()
            // The SIMD kernels read the coefficients split into 15-bit halves (clip_resample.h).
            let useSIMD = kernel != .scalar && !HorizontalKernel.available.isEmpty
            var split: [Int16] = []
            if useSIMD {
                split = [Int16](
                    repeating: 0, count: 2 * window.width * Int(clip_resample_padded_taps(Int32(horizontal.ksize))))
                kk.withUnsafeBufferPointer { k in
                    split.withUnsafeMutableBufferPointer {
                        clip_resample_split(k.baseAddress, Int32(horizontal.ksize), Int32(window.width), $0.baseAddress)
                    }
                }
            }
            temp.withUnsafeMutableBufferPointer { dst in
                // Each chunk writes only its own rows of temp.
                nonisolated(unsafe) let dst = dst
                parallelism.run(endRow - firstRow) { chunk in
                    let rows = (firstRow + chunk.lowerBound)..<(firstRow + chunk.upperBound)
                    if useSIMD,
                        horizontalPassSIMD8(
                            src, width: width, channels: channels, rows: rows, firstRow: firstRow,
                            coefficients: horizontal, split: split, kernel: kernel, into: dst)
                    {
                        return
                    }
                    kk.withUnsafeBufferPointer { k in
                        horizontalPass8(
                            src, width: width, channels: channels, rows: rows, firstRow: firstRow,
                            coefficients: horizontal, k: k, window: window, into: dst)
                    }
                }
            }
        } else {
            for row in firstRow..<endRow {
                let s = (row * width + window.x) * channels, d = (row - firstRow) * rowLength
                for i in 0..<rowLength { temp[d + i] = src[s + i] }
            }
        }
        guard needVertical else { return temp }
        let kk = vertical.fixedPoint()
        var out = [UInt8](repeating: 0, count: window.height * rowLength)
        temp.withUnsafeBufferPointer { tmp in
            out.withUnsafeMutableBufferPointer { dst in
                // Each chunk writes only its own output rows.
                nonisolated(unsafe) let dst = dst
                parallelism.run(window.height) { chunk in
                    kk.withUnsafeBufferPointer { k in
                        verticalPass8(
                            tmp, rowLength: rowLength, firstRow: firstRow, coefficients: vertical, k: k,
                            rows: chunk, into: dst)
                    }
                }
            }
        }
        return out
    }

    /// Output rows `rows` of the vertical pass over the horizontally resampled `tmp`.
    private static func verticalPass8(
        _ tmp: UnsafeBufferPointer<UInt8>, rowLength: Int, firstRow: Int, coefficients vertical: ResampleCoefficients,
        k: UnsafeBufferPointer<Int32>, rows: Range<Int>, into dst: UnsafeMutableBufferPointer<UInt8>
    ) {
        var accumulator = [Int32](repeating: 0, count: rowLength)
        accumulator.withUnsafeMutableBufferPointer { acc in
            for yy in rows {
                let ymin = vertical.starts[yy] - firstRow, taps = vertical.counts[yy]
                for i in 0..<rowLength { acc[i] = 1 << (precisionBits - 1) }
                // Integer sums: the order of the taps does not change the result,
                // so the inner loop runs along the row, where it vectorises.
                for t in 0..<taps {
                    let weight = k[yy * vertical.ksize + t]
                    guard let accumulators = acc.baseAddress,
                        let row = tmp.baseAddress?.advanced(by: (ymin + t) * rowLength)
                    else { continue }
                    for i in 0..<rowLength {
                        accumulators[i] &+= Int32(truncatingIfNeeded: row[i]) &* weight
                    }
                }
                let base = yy * rowLength
                for i in 0..<rowLength { dst[base + i] = clip8(acc[i]) }
            }
        }
    }

    /// The horizontal pass by a SIMD kernel in clip_resample.c; false when this CPU lacks
    /// `kernel` (nothing written then).
    private static func horizontalPassSIMD8(
        _ src: UnsafeBufferPointer<UInt8>, width: Int, channels: Int, rows: Range<Int>, firstRow: Int,
        coefficients: ResampleCoefficients, split: [Int16], kernel: HorizontalKernel,
        into dst: UnsafeMutableBufferPointer<UInt8>
    ) -> Bool {
        coefficients.starts.withUnsafeBufferPointer { starts in
            coefficients.counts.withUnsafeBufferPointer { counts in
                split.withUnsafeBufferPointer { table in
                    clip_resample_h8(
                        src.baseAddress, src.count, width * channels, Int32(channels),
                        Int32(rows.lowerBound), Int32(rows.upperBound), Int32(firstRow),
                        starts.baseAddress, counts.baseAddress, Int32(starts.count),
                        table.baseAddress, Int32(coefficients.ksize), dst.baseAddress, kernel.code) != 0
                }
            }
        }
    }

    /// The scalar horizontal pass (Pillow's loop), for rows `rows`; row `firstRow` of the
    /// input goes to row 0 of `dst`.
    private static func horizontalPass8(
        _ src: UnsafeBufferPointer<UInt8>, width: Int, channels: Int, rows: Range<Int>, firstRow: Int,
        coefficients: ResampleCoefficients, k: UnsafeBufferPointer<Int32>, window: ResampleWindow,
        into dst: UnsafeMutableBufferPointer<UInt8>
    ) {
        let half: Int32 = 1 << (precisionBits - 1)
        let ksize = coefficients.ksize
        for row in rows {
            let srcRow = row * width * channels
            var d = (row - firstRow) * window.width * channels
            for xx in 0..<window.width {
                let xmin = coefficients.starts[xx], taps = coefficients.counts[xx], kb = xx * ksize
                var p = srcRow + xmin * channels
                switch channels {
                case 1:
                    var s0 = half
                    for t in 0..<taps { s0 &+= Int32(src[p + t]) &* k[kb + t] }
                    dst[d] = clip8(s0)
                case 2:
                    var s0 = half, s1 = half
                    for t in 0..<taps {
                        let w = k[kb + t]
                        s0 &+= Int32(src[p]) &* w
                        s1 &+= Int32(src[p + 1]) &* w
                        p += 2
                    }
                    dst[d] = clip8(s0)
                    dst[d + 1] = clip8(s1)
                case 3:
                    var s0 = half, s1 = half, s2 = half
                    for t in 0..<taps {
                        let w = k[kb + t]
                        s0 &+= Int32(src[p]) &* w
                        s1 &+= Int32(src[p &+ 1]) &* w
                        s2 &+= Int32(src[p &+ 2]) &* w
                        p &+= 3
                    }
                    dst[d] = clip8(s0)
                    dst[d + 1] = clip8(s1)
                    dst[d + 2] = clip8(s2)
                default:
                    var s0 = half, s1 = half, s2 = half, s3 = half
                    for t in 0..<taps {
                        let w = k[kb + t]
                        s0 &+= Int32(src[p]) &* w
                        s1 &+= Int32(src[p + 1]) &* w
                        s2 &+= Int32(src[p + 2]) &* w
                        s3 &+= Int32(src[p + 3]) &* w
                        p += 4
                    }
                    dst[d] = clip8(s0)
                    dst[d + 1] = clip8(s1)
                    dst[d + 2] = clip8(s2)
                    dst[d + 3] = clip8(s3)
                }
                d += channels
            }
        }
    }

    /// Pillow's 16bpc store (13.0): `CLIP16(ROUND_UP(ss))`, the sum rounded half away from
    /// zero and clamped to 0...65535. Pillow 11 kept `CLIP8(v % 256)` as the low byte of a sum
    /// above 65535 (65600 became 0xFF40); the vertical pass then carried that into the result.
    @inline(__always)
    static func store16(_ ss: Double) -> UInt16 {
        let v = Int(ss >= 0.0 ? ss + 0.5 : ss - 0.5)
        return v <= 0 ? 0 : v < 65536 ? UInt16(v) : 65535
    }

    /// Bicubic resize of `I;16` samples (little-endian), returning only `window`.
    static func bicubic16(
        _ src: [UInt16], width: Int, height: Int, outWidth: Int, outHeight: Int, window: ResampleWindow
    ) -> [UInt16] {
        guard resizesVerticallyFirst(width: width, height: height, outHeight: outHeight) else {
            return bicubic16Passes(
                src, width: width, height: height, outWidth: outWidth, outHeight: outHeight, window: window)
        }
        let rows = bicubic16Passes(
            src, width: width, height: height, outWidth: width, outHeight: outHeight,
            window: ResampleWindow(x: 0, y: window.y, width: width, height: window.height))
        return bicubic16Passes(
            rows, width: width, height: window.height, outWidth: outWidth, outHeight: window.height,
            window: ResampleWindow(x: window.x, y: 0, width: window.width, height: window.height))
    }

    /// Pillow's `ImagingResampleInner` for `I;16`: horizontal pass, then vertical.
    private static func bicubic16Passes(
        _ src: [UInt16], width: Int, height: Int, outWidth: Int, outHeight: Int, window: ResampleWindow
    ) -> [UInt16] {
        let needHorizontal = outWidth != width
        let needVertical = outHeight != height
        let vertical = ResampleCoefficients(
            inSize: height, outSize: outHeight, range: window.y..<window.y + window.height)
        let firstRow = needVertical ? (vertical.starts.min() ?? 0) : window.y
        let endRow =
            needVertical
            ? (zip(vertical.starts, vertical.counts).map { $0 + $1 }.max() ?? firstRow) : window.y + window.height
        var temp = [UInt16](repeating: 0, count: (endRow - firstRow) * window.width)
        if needHorizontal {
            let h = ResampleCoefficients(inSize: width, outSize: outWidth, range: window.x..<window.x + window.width)
            for row in firstRow..<endRow {
                for xx in 0..<window.width {
                    var ss = 0.0
                    for t in 0..<h.counts[xx] {
                        ss += Double(src[row * width + h.starts[xx] + t]) * h.weights[xx * h.ksize + t]
                    }
                    temp[(row - firstRow) * window.width + xx] = store16(ss)
                }
            }
        } else {
            for row in firstRow..<endRow {
                for x in 0..<window.width {
                    temp[(row - firstRow) * window.width + x] = src[row * width + window.x + x]
                }
            }
        }
        guard needVertical else { return temp }
        var out = [UInt16](repeating: 0, count: window.height * window.width)
        for yy in 0..<window.height {
            for x in 0..<window.width {
                var ss = 0.0
                for t in 0..<vertical.counts[yy] {
                    ss +=
                        Double(temp[(vertical.starts[yy] - firstRow + t) * window.width + x])
                        * vertical.weights[yy * vertical.ksize + t]
                }
                out[yy * window.width + x] = store16(ss)
            }
        }
        return out
    }

    /// Nearest neighbour as Pillow resizes `1` and `P` images (ImagingScaleAffine): source
    /// positions accumulate `scale` in double precision from `scale / 2`; samples outside
    /// the source stay 0.
    static func nearest(
        _ src: UnsafeBufferPointer<UInt8>, width: Int, height: Int, bytesPerPixel bpp: Int,
        outWidth: Int, outHeight: Int, window: ResampleWindow
    ) -> [UInt8] {
        // The accumulation must run from 0 to reproduce the rounding; only the window is kept.
        func positions(inSize: Int, outSize: Int, range: Range<Int>) -> [Int] {
            let a = Double(Float(inSize)) / Double(outSize)
            var o = 0.0 + a * 0.5
            var table = [Int](repeating: -1, count: range.count)
            for i in 0..<range.upperBound {
                if i >= range.lowerBound {
                    let c = o < 0.0 ? -1 : Int(o)
                    table[i - range.lowerBound] = c < inSize ? c : -1
                }
                o += a
            }
            return table
        }
        let xs = positions(inSize: width, outSize: outWidth, range: window.x..<window.x + window.width)
        let ys = positions(inSize: height, outSize: outHeight, range: window.y..<window.y + window.height)
        var out = [UInt8](repeating: 0, count: window.width * window.height * bpp)
        for yy in 0..<window.height {
            let sy = ys[yy]
            guard sy >= 0 else { continue }
            for xx in 0..<window.width {
                let sx = xs[xx]
                guard sx >= 0 else { continue }
                for c in 0..<bpp { out[(yy * window.width + xx) * bpp + c] = src[(sy * width + sx) * bpp + c] }
            }
        }
        return out
    }
}
