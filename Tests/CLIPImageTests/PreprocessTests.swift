import CLIPImage
import Foundation
import Testing

/// OpenAI's `_transform` against Pillow 13.0.0 + torchvision's steps
/// (scripts/reference/make_image_fixtures.py): uint8 pixels after resize, crop and
/// convert("RGB") identical; normalised values within 1e-6.
@Suite struct PreprocessTests {
    @Test(arguments: ImageFixtures.cases)
    func pixelsMatchPillow(_ fixture: PreprocessCase) throws {
        let image = try ImageDecoder.decode(contentsOf: ImageFixtures.image(fixture.file))
        let got = CLIPPreprocessor(size: fixture.size).resizeAndCrop(image)
        let expected = [UInt8](
            try Data(contentsOf: ImageFixtures.expected(ImageFixtures.stem(fixture.file, fixture.size) + ".rgb")))
        let mismatch = ImageFixtures.compare(got, expected, size: fixture.size)
        print(
            "\(fixture) (\(image.mode.rawValue) \(image.width)x\(image.height)): \(mismatch ?? "0 of \(expected.count) values differ")"
        )
        #expect(mismatch == nil, "\(fixture): \(mismatch ?? "")")
    }

    @Test func normalisationTableMatchesTorchvisionFloat32() throws {
        let expected = try ImageFixtures.floats(ImageFixtures.directory.appendingPathComponent("normalize_table.f32"))
        let preprocessor = CLIPPreprocessor(size: 1)
        var maxDiff: Float = 0
        for c in 0..<3 {
            for v in 0..<256 {
                var rgb: [UInt8] = [0, 0, 0]
                rgb[c] = UInt8(v)
                var out = [Float](repeating: 0, count: 3)
                out.withUnsafeMutableBufferPointer { preprocessor.normalize(rgb, into: $0) }
                maxDiff = max(maxDiff, abs(out[c] - expected[c * 256 + v]))
            }
        }
        print("normalisation table: max |diff| \(maxDiff)")
        #expect(maxDiff <= 1e-6)
    }

    @Test(arguments: [("chelsea_baseline.jpg", 64), ("rocket_cmyk.jpg", 64), ("coffee_rgba.png", 64)])
    func fullTensorsMatch(_ file: String, _ size: Int) throws {
        let got = try CLIPPreprocessor(size: size).preprocess(contentsOf: ImageFixtures.image(file))
        let expected = try ImageFixtures.floats(ImageFixtures.expected(ImageFixtures.stem(file, size) + ".f32"))
        #expect(got.count == expected.count)
        let maxDiff = zip(got, expected).map { abs($0 - $1) }.max() ?? .infinity
        print("\(file) @\(size): max |diff| \(maxDiff)")
        #expect(maxDiff <= 1e-6)
    }

    @Test func batchMatchesSingleImagesInOrder() throws {
        let files = [
            "chelsea_baseline.jpg", "camera_i16.png", "coffee_rgba_lossy.webp", "chelsea.gif", "rocket_cmyk.jpg",
        ]
        let preprocessor = CLIPPreprocessor(size: 32)
        let batch = try preprocessor.preprocessBatch(contentsOf: files.map(ImageFixtures.image))
        let stride = 3 * 32 * 32
        #expect(batch.count == files.count * stride)
        for (i, file) in files.enumerated() {
            let single = try preprocessor.preprocess(contentsOf: ImageFixtures.image(file))
            #expect(Array(batch[(i * stride)..<((i + 1) * stride)]) == single, "\(file) at index \(i)")
        }
    }

    @Test func batchReportsTheFirstFailingFile() {
        let files = ["chelsea_baseline.jpg", "truncated.jpg", "not_supported.bmp"].map(ImageFixtures.image)
        #expect { try CLIPPreprocessor(size: 16).preprocessBatch(contentsOf: files) } throws: {
            ($0 as? ImageError)?.file == files[1].path
        }
    }

    @Test func exifOrientationIsOptional() throws {
        let url = ImageFixtures.image("chelsea_exif6.jpg")
        guard let entry = ImageFixtures.entries.first(where: { $0.file == "chelsea_exif6.jpg" }),
            let upright = entry.exif
        else {
            Issue.record("manifest lacks the EXIF fixture")
            return
        }
        let plain = try ImageDecoder.decode(contentsOf: url)
        #expect(plain.width == entry.width && plain.height == entry.height, "EXIF must be ignored by default")
        var options = DecodeOptions()
        options.applyEXIFOrientation = true
        let rotated = try ImageDecoder.decode(contentsOf: url, options: options)
        #expect(rotated.width == upright.width && rotated.height == upright.height)
        let got = CLIPPreprocessor(size: 64).resizeAndCrop(rotated)
        let expected = [UInt8](
            try Data(contentsOf: ImageFixtures.expected(ImageFixtures.stem(entry.file, 64) + "_exif.rgb")))
        let mismatch = ImageFixtures.compare(got, expected, size: 64)
        #expect(mismatch == nil, "exif_transpose: \(mismatch ?? "")")
    }

    /// torchvision's `_compute_resized_output_size`: int(n * long / short).
    @Test(arguments: [
        (320, 213, 224, 336, 224), (213, 320, 224, 224, 336), (1000, 7, 5, 714, 5), (7, 1000, 16, 16, 2285),
        (500, 500, 224, 224, 224), (640, 480, 224, 298, 224), (3, 5, 64, 64, 106), (1, 1, 3, 3, 3),
    ])
    func resizedSize(_ w: Int, _ h: Int, _ n: Int, _ ew: Int, _ eh: Int) {
        let size = CLIPPreprocessor.resizedSize(width: w, height: h, size: n)
        #expect(size.width == ew && size.height == eh)
    }
}

/// Extreme aspect ratios resize to enormous widths (200000 x 1 at n = 224 is 44,800,000 x 224);
/// only the crop window may be computed, or this would need gigabytes.
@Suite struct ExtremeAspectTests {
    @Test(arguments: [PixelMode.rgb, .p, .i16, .rgba])
    func hugeResizedWidthOnlyComputesTheCrop(_ mode: PixelMode) {
        let width = 200_000
        let pixels = (0..<(width * mode.bytesPerPixel)).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let palette = mode == .p ? (0..<768).map { UInt8(truncatingIfNeeded: $0) } : []
        let image = DecodedImage(mode: mode, width: width, height: 1, pixels: pixels, palette: palette)
        let rgb = CLIPPreprocessor(size: 224).resizeAndCrop(image)
        #expect(rgb.count == 224 * 224 * 3)
        // One source row: every output row is the same.
        #expect(Array(rgb[0..<(224 * 3)]) == Array(rgb[(223 * 224 * 3)...]))
    }
}
