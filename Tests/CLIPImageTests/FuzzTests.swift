import CLIPImage
import CLIPTestSupport
import Foundation
import Testing

/// Damaged files must give an image or an `ImageError`, never a crash: truncated and
/// bit-flipped versions of the fixtures, through decoding (with EXIF parsing on for half of
/// them) and preprocessing.
///
/// Decision on libjpeg's corrupt-data warnings: a JPEG whose data ends early is an error
/// (`.truncated`), as in Pillow without `LOAD_TRUNCATED_IMAGES`; other warnings (bad Huffman
/// codes, extraneous bytes) still give an image, as Pillow gives one too.
@Suite struct FuzzTests {
    static let sources = [
        "chelsea_baseline.jpg", "coffee_progressive.jpg", "rocket_cmyk.jpg", "astronaut_gray.jpg", "chelsea_exif6.jpg",
        "astronaut_interlaced.png", "chelsea_palette_trns.png", "camera_i16.png", "coffee_rgba16.png",
        "camera_gray2.png",
        "chelsea_lossy.webp", "coffee_rgba_lossless.webp", "chelsea.gif", "coffee_transparent.gif", "animated.gif",
    ]

    @Test(arguments: sources)
    func damagedFilesGiveImageOrTypedError(_ file: String) throws {
        let original = [UInt8](try Data(contentsOf: ImageFixtures.image(file)))
        // Seeded from the name (String.hashValue is randomised per process), so runs repeat.
        var rng = SeededGenerator(seed: UInt64(ImageFixtures.fnv1a64(Array(file.utf8)), radix: 16) ?? 1)
        var options = DecodeOptions()
        // Flipped header bits can announce huge images; a small limit keeps the test fast.
        options.maxPixels = 2_000_000
        let preprocessor = CLIPPreprocessor(size: 16)
        var decoded = 0, rejected = 0
        var variants: [[UInt8]] = []
        // Truncations: every prefix length near the start (headers), then spread over the file.
        for length in 0..<min(64, original.count) { variants.append(Array(original.prefix(length))) }
        for _ in 0..<40 { variants.append(Array(original.prefix(Int.random(in: 0..<original.count, using: &rng)))) }
        // Bit flips: 1 to 8 random bits, with a bias toward the first 256 bytes (headers).
        for _ in 0..<110 {
            var bytes = original
            for _ in 0..<Int.random(in: 1...8, using: &rng) {
                let limit = Bool.random(using: &rng) ? min(256, bytes.count) : bytes.count
                bytes[Int.random(in: 0..<limit, using: &rng)] ^= UInt8(1) << UInt8.random(in: 0..<8, using: &rng)
            }
            variants.append(bytes)
        }
        for (index, bytes) in variants.enumerated() {
            options.applyEXIFOrientation = index % 2 == 0
            do {
                let image = try ImageDecoder.decode(data: Data(bytes), name: "\(file)#\(index)", options: options)
                #expect(image.pixels.count == image.width * image.height * image.mode.bytesPerPixel)
                _ = preprocessor.preprocess(image)
                decoded += 1
            } catch let error as ImageError {
                #expect(error.file == "\(file)#\(index)")
                rejected += 1
            } catch {
                Issue.record("\(file)#\(index): untyped error \(error)")
            }
        }
        print("fuzz \(file): \(variants.count) variants, \(decoded) decoded, \(rejected) typed errors")
    }
}
