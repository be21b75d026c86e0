import CLIPImage
import CLIPTensor
import Foundation
import Testing

@testable import CLIPSynthetic
@testable import CLIPTraining

/// The synthetic generator: same seed → same bytes, captions that say what the pixels show,
/// held-out combinations absent from train/val and present in the zero-shot folders.
@Suite struct SyntheticDatasetTests {
    static func generate(seed: UInt64 = 0, count: Int = 60, extras: Bool = false) throws -> (
        URL, SyntheticDatasetSummary
    ) {
        let folder = try DataFixtures.temporaryFolder()
        var config = SyntheticDatasetConfiguration(count: count)
        config.imageSize = 32
        config.seed = seed
        config.zeroShotPerClass = 2
        config.holdoutFraction = 0.1
        config.webDataset = extras
        config.sidecar = extras
        config.shardSize = 20
        return (folder, try SyntheticDatasetGenerator(configuration: config).write(to: folder))
    }

    static func files(_ root: URL) throws -> [String: Data] {
        var out: [String: Data] = [:]
        let paths = FileManager.default.enumerator(atPath: root.path)?.allObjects as? [String] ?? []
        for path in paths {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(
                atPath: root.appendingPathComponent(path).path, isDirectory: &isDirectory), !isDirectory.boolValue
            {
                out[path] = try Data(contentsOf: root.appendingPathComponent(path))
            }
        }
        return out
    }

    @Test func sameSeedSameFiles() throws {
        let (a, summary) = try Self.generate(extras: true)
        let (b, _) = try Self.generate(extras: true)
        let (c, _) = try Self.generate(seed: 1)
        defer { for f in [a, b, c] { try? FileManager.default.removeItem(at: f) } }
        let fa = try Self.files(a), fb = try Self.files(b), fc = try Self.files(c)
        #expect(fa.keys.sorted() == fb.keys.sorted())
        let differing = fa.keys.sorted().filter { fa[$0] != fb[$0] }
        #expect(differing.isEmpty, "first differing file: \(differing.first ?? "")")
        #expect(fa["train.csv"] != fc["train.csv"], "another seed gives other data")
        #expect(summary.trainCount == 54 && summary.valCount == 6)
        #expect(summary.heldOut.count == 5, "10 % of 48 combinations: \(summary.heldOut)")
        #expect(summary.shards["train"] == "shards/train-{000000..000002}.tar")
        #expect(fa.keys.contains("manifest.json") && fa.keys.contains("sidecar/val/000005.txt"))
    }

    /// Every caption is the scene's; held-out pairs never reach train or val; zero-shot
    /// folders hold exactly their class; the tar and sidecar variants hold the same pairs.
    @Test func captionsAndSplitsAreConsistent() throws {
        let (root, summary) = try Self.generate(count: 80, extras: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let held = Set(summary.heldOut)
        let train = try CSVDataset(url: root.appendingPathComponent("train.csv"))
        let val = try CSVDataset(url: root.appendingPathComponent("val.csv"))
        for dataset in [train, val] {
            for caption in dataset.captions {
                let words = caption.split(separator: " ").map(String.init)
                // "<count> <size> <colour> <shape(s)> <position phrase>"
                #expect(["one", "two", "three"].contains(words[0]), "\(caption)")
                #expect(
                    words[0] == "one" ? !words[3].hasSuffix("s") || words[3] == "cross" : words[3].hasSuffix("s"),
                    "\(caption)")
                let shape = words[0] == "one" ? words[3] : String(words[3].dropLast(words[3] == "crosses" ? 2 : 1))
                #expect(!held.contains("\(words[2]) \(shape)"), "held-out pair in training data: \(caption)")
            }
        }
        #expect(Set(val.captions).count == val.captions.count, "val captions repeat: \(val.captions)")
        let shards = try TarShardDataset(
            pattern: root.appendingPathComponent(try #require(summary.shards["train"])).path)
        let sidecar = try SidecarFolderDataset(folder: root.appendingPathComponent("sidecar/train"))
        #expect(shards.count == train.count && sidecar.count == train.count)
        for i in [0, 17, train.count - 1] {
            #expect(try shards.sample(at: i).caption.read() == train.captions[i])
            #expect(try sidecar.sample(at: i).caption.read() == train.captions[i])
            #expect(try shards.sample(at: i).image.read() == (try Data(contentsOf: train.images[i])))
        }
        let classes = try FileManager.default.contentsOfDirectory(
            atPath: root.appendingPathComponent("zeroshot_unseen").path
        ).sorted()
        #expect(classes == summary.heldOut.sorted())
        let unseen = try CSVDataset(url: root.appendingPathComponent("zeroshot_unseen.csv"))
        for (url, caption) in zip(unseen.images, unseen.captions) {
            let className = url.deletingLastPathComponent().lastPathComponent
            let colour = String(className.split(separator: " ")[0]), shape = String(className.split(separator: " ")[1])
            #expect(caption.contains(" \(colour) \(shape)"), "\(url.path): \(caption)")
        }
        let all = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("zeroshot_all").path)
        #expect(all.count == SyntheticCombination.all.count)
    }

    /// The pixels show the caption: the object colour covers the expected region and area,
    /// the group's centroid reads as the stated position, and the shapes do not overlap.
    @Test(arguments: SyntheticPosition.allCases)
    func renderedObjectsSitInTheirRegion(position: SyntheticPosition) throws {
        for (count, trial) in SyntheticCount.allCases.flatMap({ c in (0..<8).map { (c, $0) } }) {
            let scene = SyntheticScene(shape: .square, colour: .red, size: .large, position: position, count: count)
            var random = SeededRandom(seed: 5, streams: count.rawValue, trial)
            let size = 64
            let rgb = SyntheticRenderer(size: size).render(scene, random: &random)
            var xs: [Int] = [], ys: [Int] = []
            for y in 0..<size {
                for x in 0..<size {
                    let i = (y * size + x) * 3
                    // Object pixels: clearly red (the background is dark, ≤ 60 per channel).
                    if rgb[i] > 150 && rgb[i + 1] < 100 && rgb[i + 2] < 100 {
                        xs.append(x)
                        ys.append(y)
                    }
                }
            }
            let area = xs.count
            let region = position.region
            // A large square covers ~(2 × 0.78 × 0.135 × 64)² ≈ 180 px; overlaps would cover less.
            #expect(area > count.rawValue * 120, "\(scene.caption): only \(area) red pixels")
            let centroid = (
                Double(xs.reduce(0, +)) / Double(max(area, 1)) / Double(size) + 0.5 / Double(size),
                Double(ys.reduce(0, +)) / Double(max(area, 1)) / Double(size) + 0.5 / Double(size)
            )
            #expect(
                SyntheticRenderer.centroidFits(position, centroid)
                    || SyntheticRenderer.centroidFits(
                        position,
                        (
                            0.5 + (centroid.0 - 0.5) * 1.05, 0.5 + (centroid.1 - 0.5) * 1.05
                        )),
                "\(scene.caption): centroid \(centroid)")
            let minX = Double(xs.min() ?? 0) / Double(size), maxX = Double((xs.max() ?? 0) + 1) / Double(size)
            let minY = Double(ys.min() ?? 0) / Double(size), maxY = Double((ys.max() ?? 0) + 1) / Double(size)
            #expect(
                minX >= region.x0 - 0.02 && maxX <= region.x1 + 0.02 && minY >= region.y0 - 0.02
                    && maxY <= region.y1 + 0.02,
                "\(scene.caption): object box x \(minX)...\(maxX) y \(minY)...\(maxY) outside \(region)")
        }
    }

    @Test func pngEncoderRoundTrips() throws {
        var random = SeededRandom(seed: 1)
        let rgb = (0..<(7 * 5 * 3)).map { _ in UInt8(random.nextInt(below: 256)) }
        let png = try PNGEncoder.encode(pixels: rgb, width: 7, height: 5, channels: 3)
        let decoded = try ImageDecoder.decode(data: png, name: "roundtrip.png")
        #expect(decoded.mode == .rgb && decoded.width == 7 && decoded.height == 5)
        #expect(decoded.pixels == rgb)
        let gray = try ImageDecoder.decode(
            data: try PNGEncoder.encode(pixels: [0, 128, 255, 7], width: 2, height: 2, channels: 1), name: "g.png")
        #expect(gray.mode == .l && gray.pixels == [0, 128, 255, 7])
        #expect(throws: PNGEncodingError.self) {
            try PNGEncoder.encode(pixels: [1, 2], width: 2, height: 2, channels: 3)
        }
    }

    @Test func settingsAreValidated() {
        var config = SyntheticDatasetConfiguration(count: 10)
        config.imageSize = 8
        #expect(throws: DataError.self) { try SyntheticDatasetGenerator(configuration: config) }
        config = SyntheticDatasetConfiguration(count: 0)
        #expect(throws: DataError.self) { try SyntheticDatasetGenerator(configuration: config) }
        config = SyntheticDatasetConfiguration(count: 10)
        config.holdoutFraction = 0.9
        #expect(throws: DataError.self) { try SyntheticDatasetGenerator(configuration: config) }
    }

    /// Held-out selection keeps every colour and shape in at least three training pairs.
    @Test(arguments: [0.0, 0.1, 0.3, 0.5])
    func heldOutKeepsEveryAttribute(fraction: Double) throws {
        var config = SyntheticDatasetConfiguration(count: 10)
        config.holdoutFraction = fraction
        let held = Set(try SyntheticDatasetGenerator(configuration: config).heldOutCombinations)
        let seen = SyntheticCombination.all.filter { !held.contains($0) }
        for colour in SyntheticColour.allCases { #expect(seen.filter { $0.colour == colour }.count >= 3) }
        for shape in SyntheticShape.allCases { #expect(seen.filter { $0.shape == shape }.count >= 3) }
        #expect(fraction == 0 ? held.isEmpty : !held.isEmpty)
    }
}
