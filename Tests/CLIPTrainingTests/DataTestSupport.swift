import CLIPImage
import CLIPSynthetic
import CLIPTensor
import CLIPTraining
import Foundation

/// Small on-disk datasets for the data tests: rendered synthetic scenes (16×16 PNGs), so every
/// image is valid unless a test breaks it on purpose.
enum DataFixtures {
    /// A fresh empty folder under the temporary directory.
    static func temporaryFolder(_ name: String = #function) throws -> URL {
        let safe = name.filter { $0.isLetter || $0.isNumber }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(
            "clip-data-\(safe)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Scene `i` of a fixed list and its caption.
    static func scene(_ i: Int) -> SyntheticScene {
        SyntheticScene(
            shape: SyntheticShape.allCases[i % SyntheticShape.allCases.count],
            colour: SyntheticColour.allCases[(i / 2) % SyntheticColour.allCases.count],
            size: i % 3 == 0 ? .large : .small,
            position: SyntheticPosition.allCases[i % SyntheticPosition.allCases.count],
            count: SyntheticCount.allCases[i % 3])
    }

    /// PNG bytes of scene `i` at `size` pixels.
    static func png(_ i: Int, size: Int = 16) throws -> Data {
        var random = SeededRandom(seed: 99, streams: i)
        let rgb = SyntheticRenderer(size: size).render(scene(i), random: &random)
        return try PNGEncoder.encode(pixels: rgb, width: size, height: size, channels: 3, compressionLevel: 1)
    }

    /// `count` images `img/NNN.png` and a tab-separated `train.csv` (filepath, title) in `folder`.
    @discardableResult
    static func writeCSV(count: Int, in folder: URL, captions: [Int: String] = [:]) throws -> URL {
        try FileManager.default.createDirectory(
            at: folder.appendingPathComponent("img"), withIntermediateDirectories: true)
        var text = "filepath\ttitle\n"
        for i in 0..<count {
            let name = String(format: "img/%03d.png", i)
            try png(i).write(to: folder.appendingPathComponent(name))
            text += "\(name)\t\(captions[i] ?? scene(i).caption)\n"
        }
        let url = folder.appendingPathComponent("train.csv")
        try Data(text.utf8).write(to: url)
        return url
    }
}
