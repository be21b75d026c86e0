import CLIPImage
import Foundation
import Testing

/// Decoding matches Pillow 13.0.0's `Image.open(...).load()`: mode, size and every sample
/// (FNV-1a 64 checksums from scripts/reference/make_image_fixtures.py).
@Suite struct DecodeTests {
    @Test(arguments: ImageFixtures.entries)
    func decodesLikePillow(_ entry: ImageManifest.Entry) throws {
        let image = try ImageDecoder.decode(contentsOf: ImageFixtures.image(entry.file))
        #expect(image.mode.rawValue == entry.mode, "mode of \(entry.file)")
        #expect(
            image.width == entry.width && image.height == entry.height,
            "\(entry.file): got \(image.width)x\(image.height), Pillow \(entry.width)x\(entry.height)")
        let checksum = ImageFixtures.fnv1a64(image.pixels)
        #expect(checksum == entry.fnv1a64, "\(entry.file): decoded samples differ from Pillow's")
    }

    @Test(arguments: ImageFixtures.manifest.errors.sorted { $0.key < $1.key }.map { [$0.key, $0.value] })
    func rejectsWithTypedError(_ pair: [String]) {
        let (file, expected) = (pair[0], pair[1])
        let url = ImageFixtures.image(file)
        do {
            let image = try ImageDecoder.decode(contentsOf: url)
            Issue.record("\(file): expected \(expected), decoded \(image.mode) \(image.width)x\(image.height)")
        } catch let error as ImageError {
            #expect(Self.caseName(error) == expected, "\(file): \(error.localizedDescription)")
            #expect(
                error.localizedDescription.contains(url.path),
                "error should name the file: \(error.localizedDescription)")
            #expect(error.recoverySuggestion != nil)
        } catch {
            Issue.record("\(file): untyped error \(error)")
        }
    }

    @Test func missingFileIsUnreadable() {
        let url = ImageFixtures.image("does-not-exist.png")
        #expect { try ImageDecoder.decode(contentsOf: url) } throws: { error in
            guard let error = error as? ImageError, case .unreadable = error else { return false }
            return error.file == url.path
        }
    }

    @Test func pixelLimitIsCheckedFromTheHeader() {
        var options = DecodeOptions()
        options.maxPixels = 320 * 213 - 1
        #expect {
            try ImageDecoder.decode(contentsOf: ImageFixtures.image("chelsea_baseline.jpg"), options: options)
        } throws: {
            Self.caseName($0 as? ImageError) == "tooManyPixels"
        }
        options.maxPixels = 320 * 213
        #expect(throws: Never.self) {
            try ImageDecoder.decode(contentsOf: ImageFixtures.image("chelsea_baseline.jpg"), options: options)
        }
        options.maxPixels = nil
        #expect {
            try ImageDecoder.decode(contentsOf: ImageFixtures.image("bomb_50000x50000.png"), options: options)
        } throws: {
            // Without the limit the header passes and the missing data is reported instead
            // (or the 7.5 GB buffer is refused where the kernel does not overcommit).
            ["truncated", "corrupt", "outOfMemory"].contains(Self.caseName($0 as? ImageError))
        }
    }

    @Test func progressiveScanCap() throws {
        var options = DecodeOptions()
        options.maxProgressiveScans = 2
        #expect {
            try ImageDecoder.decode(contentsOf: ImageFixtures.image("coffee_progressive.jpg"), options: options)
        } throws: {
            Self.caseName($0 as? ImageError) == "tooManyScans"
        }
        // Baseline JPEGs have one scan.
        _ = try ImageDecoder.decode(contentsOf: ImageFixtures.image("chelsea_baseline.jpg"), options: options)
    }

    @Test(
        arguments: [
            ([0xFF, 0xD8, 0xFF, 0xE0], ImageFormat.jpeg), ([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], .png),
            (Array("RIFF\0\0\0\0WEBP".utf8), .webp), (Array("GIF89a".utf8), .gif), (Array("GIF87a".utf8), .gif),
        ] as [([UInt8], ImageFormat)])
    func sniffsByContent(_ bytes: [UInt8], _ format: ImageFormat) {
        #expect(ImageFormat.sniff(bytes) == format)
    }

    @Test func unknownContentIsUnsupported() {
        #expect { try ImageDecoder.decode(data: Data("hello".utf8), name: "x.jpg") } throws: {
            Self.caseName($0 as? ImageError) == "unsupportedFormat" && ($0 as? ImageError)?.file == "x.jpg"
        }
        #expect { try ImageDecoder.decode(data: Data(), name: "empty.png") } throws: {
            Self.caseName($0 as? ImageError) == "unsupportedFormat"
        }
    }

    static func caseName(_ error: ImageError?) -> String {
        guard let error else { return "untyped" }
        return switch error {
        case .unreadable: "unreadable"
        case .unsupportedFormat: "unsupportedFormat"
        case .truncated: "truncated"
        case .corrupt: "corrupt"
        case .tooManyPixels: "tooManyPixels"
        case .tooManyScans: "tooManyScans"
        case .empty: "empty"
        case .outOfMemory: "outOfMemory"
        }
    }
}
