import CLIPImage
import CLIPTraining
import Foundation
import Testing

/// The crop-and-resize of RandomResizedCrop against torchvision 0.20 / Pillow 11: fixed boxes
/// on RGB, RGBA, L and P images (fixtures from scripts/reference/check_augmentation.py).
@Suite struct DataAugmentationTests {
    struct Case: Decodable, CustomTestStringConvertible {
        var image: String, mode: String, size: Int, top: Int, left: Int, height: Int, width: Int, rgb: String
        var testDescription: String { "\(image) \(mode) box(\(top),\(left),\(height),\(width)) → \(size)" }
    }

    static let cases: [Case] = {
        struct File: Decodable { var cases: [Case] }
        guard
            let url = Bundle.module.url(
                forResource: "augmentation", withExtension: "json", subdirectory: "Fixtures/data"),
            let data = try? Data(contentsOf: url), let file = try? JSONDecoder().decode(File.self, from: data)
        else { return [] }
        return file.cases
    }()

    @Test func fixturesArePresent() { #expect(Self.cases.count == 40) }

    @Test(arguments: cases)
    func resizedCropMatchesTorchvision(_ c: Case) throws {
        let folder = try #require(Bundle.module.url(forResource: "Fixtures/data", withExtension: nil))
        let image = try ImageDecoder.decode(contentsOf: folder.appendingPathComponent(c.image))
        #expect(image.mode.rawValue == c.mode)
        let got = CLIPPreprocessor(size: c.size).resizedCrop(
            image, top: c.top, left: c.left, height: c.height, width: c.width)
        let expected = Self.bytes(hex: c.rgb)
        let mismatch = zip(got, expected).enumerated().first { $0.element.0 != $0.element.1 }
        #expect(
            got.count == expected.count && mismatch == nil,
            "first mismatch at byte \(mismatch?.offset ?? -1): \(mismatch.map { "\($0.element.0) vs \($0.element.1)" } ?? "count \(got.count) vs \(expected.count)"); max diff \(zip(got, expected).map { abs(Int($0) - Int($1)) }.max() ?? 0)"
        )
    }

    static func bytes(hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var high: UInt8? = nil
        for c in hex.utf8 {
            let v = c >= 97 ? c - 87 : c - 48
            if let h = high {
                out.append(h << 4 | v)
                high = nil
            } else {
                high = v
            }
        }
        return out
    }
}
