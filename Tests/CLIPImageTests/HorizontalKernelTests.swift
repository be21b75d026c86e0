import CLIPTestSupport
import Foundation
import Testing

@testable import CLIPImage

/// The SIMD horizontal passes (Sources/CImageCodecs/clip_resample.c) against the scalar port of
/// Pillow's loop, and row-split resampling against the serial one: the bytes must be identical.
/// Pillow itself is the scalar code's reference (PreprocessTests, 63 fixtures).
@Suite struct HorizontalKernelTests {
    /// One random resize: input size, output size, window, content kind.
    struct Case: CustomStringConvertible {
        var width: Int, height: Int, channels: Int, outWidth: Int, outHeight: Int
        var window: ResampleWindow
        var pixels: [UInt8]
        var description: String {
            "\(width)x\(height)x\(channels) -> \(outWidth)x\(outHeight) window \(window.x),\(window.y) \(window.width)x\(window.height)"
        }
    }

    /// Random sizes from 1 px to 3000 px wide (up to ~240 taps per sample), up- and
    /// downscaling, random windows, and contents that reach the clamps (0/255 stripes).
    static func randomCases(count: Int, seed: UInt64) -> [Case] {
        var g = SeededGenerator(seed: seed)
        return (0..<count).map { i in
            let channels = 1 + i % 4
            let width = [
                Int.random(in: 1...40, using: &g), Int.random(in: 1...400, using: &g),
                Int.random(in: 1000...3000, using: &g),
            ][i % 3]
            let height = Int.random(in: 1...12, using: &g)
            let outWidth =
                i % 5 == 0
                ? Int.random(in: 1...(3 * width + 2), using: &g)
                : Int.random(in: 1...max(1, min(width, 300)), using: &g)
            let outHeight = i % 4 == 0 ? Int.random(in: 1...20, using: &g) : height
            let wx = Int.random(in: 0..<outWidth, using: &g), wy = Int.random(in: 0..<outHeight, using: &g)
            let window = ResampleWindow(
                x: wx, y: wy, width: Int.random(in: 1...(outWidth - wx), using: &g),
                height: Int.random(in: 1...(outHeight - wy), using: &g))
            let n = width * height * channels
            let pixels: [UInt8]
            switch i % 3 {
            case 0: pixels = (0..<n).map { _ in UInt8.random(in: 0...255, using: &g) }
            case 1: pixels = (0..<n).map { ($0 / channels) % 2 == 0 ? 0 : 255 }  // overshoot: both clamps
            default: pixels = (0..<n).map { _ in Bool.random(using: &g) ? 255 : UInt8.random(in: 0...8, using: &g) }
            }
            return Case(
                width: width, height: height, channels: channels, outWidth: outWidth, outHeight: outHeight,
                window: window, pixels: pixels)
        }
    }

    static func resample(_ c: Case, kernel: PillowResample.HorizontalKernel, rows: RowParallelism = .serial) -> [UInt8]
    {
        c.pixels.withUnsafeBufferPointer {
            PillowResample.bicubic8(
                $0, width: c.width, height: c.height, channels: c.channels, outWidth: c.outWidth,
                outHeight: c.outHeight, window: c.window, kernel: kernel, rows: rows)
        }
    }

    @Test func simdKernelsMatchScalar() {
        let kernels = PillowResample.HorizontalKernel.available
        print("SIMD kernels on this CPU: \(kernels)")
        let cases = Self.randomCases(count: 600, seed: 4)
        for kernel in kernels {
            var differing = 0, values = 0, failedCases = 0
            var perChannels = [Int](repeating: 0, count: 5)
            for c in cases {
                let expected = Self.resample(c, kernel: .scalar)
                let got = Self.resample(c, kernel: kernel)
                let diff = zip(got, expected).filter { $0 != $1 }.count + abs(got.count - expected.count)
                values += expected.count
                perChannels[c.channels] += 1
                if diff > 0 {
                    differing += diff
                    failedCases += 1
                    if failedCases <= 5 { Issue.record("\(kernel) \(c): \(diff) of \(expected.count) values differ") }
                }
            }
            print(
                "\(kernel): \(differing) of \(values) values differ over \(cases.count) resizes (per channel count \(perChannels[1...]))"
            )
            #expect(differing == 0)
        }
    }

    /// Rows split into small chunks run in reverse order, as helpers may take them.
    @Test func rowChunksInAnyOrderMatchSerial() {
        let reversed = RowParallelism { count, body in
            for start in stride(from: 0, to: count, by: 3).reversed() { body(start..<min(start + 3, count)) }
        }
        var differing = 0
        for c in Self.randomCases(count: 120, seed: 7) {
            for kernel in [PillowResample.HorizontalKernel.scalar, .automatic] {
                let expected = Self.resample(c, kernel: kernel)
                let got = Self.resample(c, kernel: kernel, rows: reversed)
                differing += zip(got, expected).filter { $0 != $1 }.count + abs(got.count - expected.count)
            }
        }
        print("row chunks in reverse order: \(differing) values differ")
        #expect(differing == 0)
    }

    /// Batches on 1...4 threads, including fewer images than threads (one image's rows shared).
    @Test(arguments: [1, 2, 3, 4])
    func batchIsIndependentOfThreads(_ threads: Int) throws {
        let files = [
            "chelsea_baseline.jpg", "camera_i16.png", "coffee_rgba_lossy.webp", "chelsea.gif", "rocket_cmyk.jpg",
            "astronaut_gray.jpg", "camera_la.png",
        ].map(ImageFixtures.image)
        let preprocessor = CLIPPreprocessor(size: 48)
        let single = try files.map { try preprocessor.preprocess(contentsOf: $0) }
        for count in [1, 2, files.count] {
            let batch = try preprocessor.preprocessBatch(contentsOf: Array(files.prefix(count)), threads: threads)
            #expect(batch == Array(single.prefix(count).joined()), "\(count) images on \(threads) threads")
        }
    }
}
