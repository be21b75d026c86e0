import Foundation
import Testing

@testable import CLIPImage

// Thumbnails for the search page and the JPEG encoder they are written with. A thumbnail is a
// preview, not a model input: it is checked for size, orientation and mean colour (a bicubic
// reduction keeps the mean within a few levels), not against Pillow byte for byte.

@Suite("thumbnails and JPEG encoding")
struct ThumbnailTests {
    @Test(arguments: [
        (97, 61, 32, 32, 20),  // landscape: the long side becomes maxSide
        (61, 97, 32, 20, 32),  // portrait
        (100, 100, 64, 64, 64),
        (20, 10, 64, 20, 10),  // already fits: kept
        (4000, 1, 256, 256, 1),  // a line stays at least 1 pixel tall
    ])
    func fittedSize(width: Int, height: Int, maxSide: Int, expectedWidth: Int, expectedHeight: Int) {
        let size = Thumbnail.fittedSize(width: width, height: height, maxSide: maxSide)
        #expect(size.width == expectedWidth && size.height == expectedHeight)
    }

    /// Mean of each RGB channel.
    static func meanRGB(_ image: DecodedImage) -> [Double] {
        let rgb = PillowConvert.toRGB(image.pixels, mode: image.mode, palette: image.palette)
        var sums = [0.0, 0.0, 0.0]
        for i in 0..<(rgb.count / 3) { for c in 0..<3 { sums[c] += Double(rgb[i * 3 + c]) } }
        return sums.map { $0 / Double(rgb.count / 3) }
    }

    @Test func jpegRoundTripIsCloseToTheSource() throws {
        // A smooth gradient: quality 95 keeps every sample within a few levels.
        let (w, h) = (48, 40)
        var rgb = [UInt8](repeating: 0, count: w * h * 3)
        for y in 0..<h {
            for x in 0..<w {
                rgb[(y * w + x) * 3] = UInt8(x * 5)
                rgb[(y * w + x) * 3 + 1] = UInt8(y * 6)
                rgb[(y * w + x) * 3 + 2] = 128
            }
        }
        let data = try JPEGEncoder.encode(pixels: rgb, width: w, height: h, channels: 3, quality: 95)
        #expect(Array(data.prefix(2)) == [0xFF, 0xD8])
        let decoded = try ImageDecoder.decode(data: data, name: "roundtrip.jpg")
        #expect(decoded.mode == .rgb && decoded.width == w && decoded.height == h)
        let difference = zip(decoded.pixels, rgb).map { abs(Int($0) - Int($1)) }.max() ?? 0
        print("JPEG q95 round trip: max |decoded − source| = \(difference) (tolerance 8)")
        #expect(difference <= 8)
        let grey = try JPEGEncoder.encode(
            pixels: [UInt8](repeating: 77, count: 9 * 7), width: 9, height: 7, channels: 1)
        let greyDecoded = try ImageDecoder.decode(data: grey, name: "grey.jpg")
        #expect(greyDecoded.mode == .l && greyDecoded.pixels.allSatisfy { abs(Int($0) - 77) <= 1 })
    }

    @Test func jpegRejectsWhatItCannotWrite() {
        #expect(throws: JPEGEncodingError.self) {
            try JPEGEncoder.encode(pixels: [0, 0, 0, 0], width: 1, height: 1, channels: 4)
        }
        #expect(throws: JPEGEncodingError.self) {
            try JPEGEncoder.encode(pixels: [0, 0], width: 1, height: 1, channels: 3)
        }
        #expect(throws: JPEGEncodingError.self) {
            try JPEGEncoder.encode(pixels: [], width: 0, height: 1, channels: 1)
        }
    }

    @Test(arguments: ["chelsea_baseline.jpg", "coffee_rgb16.png", "chelsea.gif", "camera_l.png", "cmyk_gradient.jpg"])
    func thumbnailKeepsTheMeanColour(file: String) throws {
        let url = ImageFixtures.directory.appendingPathComponent("images/\(file)")
        let full = try ImageDecoder.decode(contentsOf: url)
        let data = try Thumbnail.jpeg(data: try Data(contentsOf: url), name: file, maxSide: 64, quality: 95)
        let thumbnail = try ImageDecoder.decode(data: data, name: file)
        let expected = Thumbnail.fittedSize(width: full.width, height: full.height, maxSide: 64)
        #expect(thumbnail.width == expected.width && thumbnail.height == expected.height)
        let difference = zip(Self.meanRGB(thumbnail), Self.meanRGB(full)).map { abs($0 - $1) }.max() ?? 0
        print(
            "\(file): \(full.width)x\(full.height) -> \(thumbnail.width)x\(thumbnail.height), "
                + "max |mean RGB difference| = \(difference) (tolerance 2)")
        #expect(difference <= 2)
    }

    @Test func exifOrientationIsApplied() throws {
        // chelsea_exif6.jpg is stored landscape with orientation 6 (rotate 90°): upright it is portrait.
        let url = ImageFixtures.directory.appendingPathComponent("images/chelsea_exif6.jpg")
        let stored = try ImageDecoder.decode(contentsOf: url)
        let thumbnail = try ImageDecoder.decode(
            data: try Thumbnail.jpeg(data: try Data(contentsOf: url), name: "exif6", maxSide: 50), name: "t")
        #expect(stored.width > stored.height)
        #expect(thumbnail.height == 50 && thumbnail.width < 50)
    }

    @Test func transparencyBecomesWhite() throws {
        let clear = DecodedImage(mode: .rgba, width: 8, height: 8, pixels: [UInt8](repeating: 0, count: 8 * 8 * 4))
        let thumbnail = Thumbnail.make(clear, maxSide: 4)
        #expect(thumbnail.mode == .rgb && thumbnail.width == 4 && thumbnail.pixels.allSatisfy { $0 == 255 })
        // Opaque red stays red.
        let red = DecodedImage(
            mode: .rgba, width: 8, height: 8, pixels: (0..<64).flatMap { _ in [UInt8(255), 0, 0, 255] })
        #expect(Thumbnail.make(red, maxSide: 4).pixels == (0..<16).flatMap { _ in [UInt8(255), 0, 0] })
    }
}
