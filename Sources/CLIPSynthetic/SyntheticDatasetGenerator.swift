import CLIPImage
import CLIPTensor
import CLIPTraining
import Dispatch
import Foundation

/// Writes a synthetic captioned image dataset: scenes of one to three shapes of one colour
/// and size in one region, rendered to small PNGs, captioned from their attributes ("two
/// small red circles on the left"). Some colour–shape combinations are held out: they never
/// appear in train or val, only in a zero-shot split laid out one class per folder.
///
/// Layout of `output`:
/// ```text
/// train.csv, val.csv            filepath<TAB>title, paths relative to the folder (open_clip's format);
///                               val captions are all distinct while distinct scenes last
/// train/000000.png ...          val/000000.png ...
/// zeroshot_unseen/<class>/…png  held-out combinations only ("blue triangle/000000.png")
/// zeroshot_unseen.csv           their captions, for retrieval on unseen combinations
/// zeroshot_all/<class>/…png     every combination, fresh images (seen classes included)
/// shards/train-000000.tar …     with `webDataset`: 000000.png + 000000.txt per sample
/// sidecar/train/000000.png+.txt with `sidecar`
/// manifest.json                 settings, vocabulary, held-out combinations, counts
/// ```
/// Everything depends only on the configuration: each image is drawn from a generator seeded
/// by (seed, split, index), so the files are identical whatever the thread count.
///
/// ```swift
/// var config = SyntheticDatasetConfiguration(count: 2000)
/// config.webDataset = true
/// let summary = try SyntheticDatasetGenerator(configuration: config).write(to: URL(fileURLWithPath: "synth"))
/// print(summary.heldOut)   // ["blue triangle", ...]
/// ```
public struct SyntheticDatasetGenerator: Sendable {
    public let configuration: SyntheticDatasetConfiguration

    /// The val split's scenes, fixed up front so that no caption repeats (until every
    /// distinct caption is used): retrieval scores on val then have one right answer per query.
    private(set) var valScenes: [SyntheticScene]

    /// Throws ``DataError/invalidSetting(_:)`` for out-of-range settings.
    public init(configuration: SyntheticDatasetConfiguration) throws {
        try configuration.validate()
        self.configuration = configuration
        valScenes = []
        valScenes = distinctScenes(count: valCount)
    }

    /// Images in train and val.
    public var valCount: Int { Int((Double(configuration.count) * configuration.valFraction).rounded()) }
    public var trainCount: Int { configuration.count - valCount }

    /// `count` scenes without a held-out combination, each distinct scene once per round, in
    /// a seeded order (a new order each round).
    private func distinctScenes(count: Int) -> [SyntheticScene] {
        let held = Set(heldOutCombinations)
        var pool: [SyntheticScene] = []
        for combination in SyntheticCombination.all where !held.contains(combination) {
            for size in SyntheticSize.allCases {
                for position in SyntheticPosition.allCases {
                    for n in SyntheticCount.allCases {
                        pool.append(
                            SyntheticScene(
                                shape: combination.shape, colour: combination.colour, size: size, position: position,
                                count: n))
                    }
                }
            }
        }
        var random = SeededRandom(seed: configuration.seed, streams: 5)
        var scenes: [SyntheticScene] = []
        scenes.reserveCapacity(count)
        while scenes.count < count {
            var round = pool
            random.shuffle(&round)
            scenes += round.prefix(count - scenes.count)
        }
        return scenes
    }

    /// The held-out colour–shape combinations: `holdoutFraction` of all pairs, drawn with the
    /// seed, never taking a pair that would leave its colour or its shape with fewer than
    /// three training pairs (the model must see each attribute in enough contexts to compose).
    public var heldOutCombinations: [SyntheticCombination] {
        let all = SyntheticCombination.all
        let target =
            configuration.holdoutFraction > 0
            ? max(1, Int((configuration.holdoutFraction * Double(all.count)).rounded())) : 0
        var order = all
        var random = SeededRandom(seed: configuration.seed, streams: 4)
        random.shuffle(&order)
        var held: [SyntheticCombination] = []
        var colourLeft = Dictionary(grouping: all, by: \.colour).mapValues(\.count)
        var shapeLeft = Dictionary(grouping: all, by: \.shape).mapValues(\.count)
        for combination in order where held.count < target {
            guard colourLeft[combination.colour, default: 0] > 3, shapeLeft[combination.shape, default: 0] > 3 else {
                continue
            }
            held.append(combination)
            colourLeft[combination.colour, default: 0] -= 1
            shapeLeft[combination.shape, default: 0] -= 1
        }
        return held.sorted()
    }

    /// The splits a dataset has.
    public enum Split: Int, CaseIterable, Sendable {
        case train = 0
        case val = 1
        case zeroShotUnseen = 2
        case zeroShotAll = 3
    }

    /// The scene of image `index` of `split`; for the zero-shot splits `index` runs over
    /// classes × `zeroShotPerClass`. Train and val scenes never use a held-out combination.
    public func scene(split: Split, index: Int, heldOut: Set<SyntheticCombination>) -> SyntheticScene {
        var random = SeededRandom(seed: configuration.seed, streams: 2, split.rawValue, index)
        return scene(split: split, index: index, heldOut: heldOut, random: &random)
    }

    private func scene(split: Split, index: Int, heldOut: Set<SyntheticCombination>, random: inout SeededRandom)
        -> SyntheticScene
    {
        func pick<T: CaseIterable>(_: T.Type) -> T where T.AllCases: RandomAccessCollection, T.AllCases.Index == Int {
            let cases = T.allCases
            return cases[cases.startIndex + random.nextInt(below: cases.count)]
        }
        var combination: SyntheticCombination
        switch split {
        case .val:
            return valScenes[index]
        case .train:
            repeat {
                combination = SyntheticCombination(colour: pick(SyntheticColour.self), shape: pick(SyntheticShape.self))
            } while heldOut.contains(combination)
        case .zeroShotUnseen:
            let classes = heldOut.sorted()
            combination = classes[index / configuration.zeroShotPerClass]
        case .zeroShotAll:
            combination = SyntheticCombination.all[index / configuration.zeroShotPerClass]
        }
        return SyntheticScene(
            shape: combination.shape, colour: combination.colour, size: pick(SyntheticSize.self),
            position: pick(SyntheticPosition.self), count: pick(SyntheticCount.self))
    }

    /// The scene and PNG bytes of one image.
    public func image(split: Split, index: Int, heldOut: Set<SyntheticCombination>) throws -> (
        scene: SyntheticScene, png: Data
    ) {
        var random = SeededRandom(seed: configuration.seed, streams: 2, split.rawValue, index)
        let scene = scene(split: split, index: index, heldOut: heldOut, random: &random)
        let rgb = SyntheticRenderer(size: configuration.imageSize).render(scene, random: &random)
        let png = try PNGEncoder.encode(
            pixels: rgb, width: configuration.imageSize, height: configuration.imageSize,
            channels: 3, compressionLevel: configuration.compressionLevel)
        return (scene, png)
    }

    /// Generates every split into `output` (created if needed) and returns what was written.
    public func write(to output: URL) throws -> SyntheticDatasetSummary {
        let start = DispatchTime.now().uptimeNanoseconds
        let held = heldOutCombinations
        let heldSet = Set(held)
        let valCount = self.valCount, trainCount = self.trainCount
        let digits = max(
            6,
            String(
                max(
                    configuration.count, held.count * configuration.zeroShotPerClass,
                    SyntheticCombination.all.count * configuration.zeroShotPerClass)
            ).count)
        let number: @Sendable (Int) -> String = { i in
            let s = String(i)
            return String(repeating: "0", count: max(0, digits - s.count)) + s
        }
        try Self.makeFolder(output)

        // One job per image: render, encode, write. Returns the captions in index order.
        func generate(_ split: Split, count: Int, relativePath: @escaping @Sendable (Int, SyntheticScene) -> String)
            throws -> [(path: String, scene: SyntheticScene, png: Data)]
        {
            var results = [(path: String, scene: SyntheticScene, png: Data)?](repeating: nil, count: count)
            var failures = [String?](repeating: nil, count: count)
            var folders = Set<String>()
            for i in 0..<count {
                let scene = scene(split: split, index: i, heldOut: heldSet)
                folders.insert((relativePath(i, scene) as NSString).deletingLastPathComponent)
            }
            for folder in folders { try Self.makeFolder(output.appendingPathComponent(folder)) }
            results.withUnsafeMutableBufferPointer { out in
                failures.withUnsafeMutableBufferPointer { errs in
                    // Each job writes only its own slots.
                    nonisolated(unsafe) let out = out
                    nonisolated(unsafe) let errs = errs
                    let chunk = 64
                    DispatchQueue.concurrentPerform(iterations: (count + chunk - 1) / chunk) { c in
                        for i in (c * chunk)..<min(count, (c + 1) * chunk) {
                            do {
                                let (scene, png) = try image(split: split, index: i, heldOut: heldSet)
                                let path = relativePath(i, scene)
                                try Self.write(png, to: output.appendingPathComponent(path))
                                out[i] = (path, scene, png)
                            } catch {
                                errs[i] = (error as? LocalizedError)?.errorDescription ?? "\(error)"
                            }
                        }
                    }
                }
            }
            if let first = failures.compactMap({ $0 }).first {
                throw DataError.writeFailed(path: output.path, reason: first)
            }
            return results.compactMap { $0 }
        }

        let train = try generate(.train, count: trainCount) { i, _ in "train/\(number(i)).png" }
        let val = try generate(.val, count: valCount) { i, _ in "val/\(number(i)).png" }
        try Self.writeTable(train.map { ($0.path, $0.scene.caption) }, to: output.appendingPathComponent("train.csv"))
        try Self.writeTable(val.map { ($0.path, $0.scene.caption) }, to: output.appendingPathComponent("val.csv"))

        var unseen: [(path: String, scene: SyntheticScene, png: Data)] = []
        if !held.isEmpty {
            unseen = try generate(.zeroShotUnseen, count: held.count * configuration.zeroShotPerClass) { i, scene in
                "zeroshot_unseen/\(scene.className)/\(number(i)).png"
            }
            try Self.writeTable(
                unseen.map { ($0.path, $0.scene.caption) }, to: output.appendingPathComponent("zeroshot_unseen.csv"))
        }
        let all = try generate(.zeroShotAll, count: SyntheticCombination.all.count * configuration.zeroShotPerClass) {
            i, scene in
            "zeroshot_all/\(scene.className)/\(number(i)).png"
        }

        var shardPatterns: [String: String] = [:]
        if configuration.webDataset {
            try Self.makeFolder(output.appendingPathComponent("shards"))
            for (name, items) in [("train", train), ("val", val)] where !items.isEmpty {
                let shardCount = (items.count + configuration.shardSize - 1) / configuration.shardSize
                for shard in 0..<shardCount {
                    var tar = TarWriter()
                    for i in (shard * configuration.shardSize)..<min(items.count, (shard + 1) * configuration.shardSize)
                    {
                        try tar.append(name: "\(number(i)).png", contents: items[i].png)
                        try tar.append(name: "\(number(i)).txt", contents: Data(items[i].scene.caption.utf8))
                    }
                    try Self.write(
                        tar.finish(), to: output.appendingPathComponent("shards/\(name)-\(Self.sixDigits(shard)).tar"))
                }
                shardPatterns[name] =
                    shardCount == 1
                    ? "shards/\(name)-000000.tar" : "shards/\(name)-{000000..\(Self.sixDigits(shardCount - 1))}.tar"
            }
        }
        if configuration.sidecar {
            for (name, items) in [("train", train), ("val", val)] {
                let folder = output.appendingPathComponent("sidecar/\(name)")
                try Self.makeFolder(folder)
                for (i, item) in items.enumerated() {
                    try Self.write(item.png, to: folder.appendingPathComponent("\(number(i)).png"))
                    try Self.write(Data(item.scene.caption.utf8), to: folder.appendingPathComponent("\(number(i)).txt"))
                }
            }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let summary = SyntheticDatasetSummary(
            configuration: configuration, trainCount: train.count, valCount: val.count,
            zeroShotUnseenCount: unseen.count, zeroShotAllCount: all.count,
            heldOut: held.map(\.name), shapes: SyntheticShape.allCases.map(\.rawValue),
            colours: SyntheticColour.allCases.map(\.rawValue), sizes: SyntheticSize.allCases.map(\.rawValue),
            positions: SyntheticPosition.allCases.map(\.phrase), counts: SyntheticCount.allCases.map(\.word),
            shards: shardPatterns, seconds: seconds)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        var manifest = summary
        manifest.seconds = 0  // keep the file reproducible
        try Self.write(try encoder.encode(manifest), to: output.appendingPathComponent("manifest.json"))
        return summary
    }

    static func sixDigits(_ i: Int) -> String {
        let s = String(i)
        return String(repeating: "0", count: max(0, 6 - s.count)) + s
    }

    static func makeFolder(_ url: URL) throws {
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw DataError.writeFailed(path: url.path, reason: (error as NSError).localizedDescription)
        }
    }

    static func write(_ data: Data, to url: URL) throws {
        do {
            try data.write(to: url)
        } catch {
            throw DataError.writeFailed(path: url.path, reason: (error as NSError).localizedDescription)
        }
    }

    /// open_clip's CSV layout: header `filepath<TAB>title`; captions never contain tabs,
    /// newlines or leading quotes, so no field needs quoting.
    static func writeTable(_ rows: [(String, String)], to url: URL) throws {
        var text = "filepath\ttitle\n"
        for (path, caption) in rows { text += "\(path)\t\(caption)\n" }
        try write(Data(text.utf8), to: url)
    }
}

/// Settings of ``SyntheticDatasetGenerator``.
public struct SyntheticDatasetConfiguration: Codable, Sendable, Equatable {
    /// Images in train + val.
    public var count: Int
    /// Side of the square images (16...1024).
    public var imageSize = 64
    public var seed: UInt64 = 0
    /// Share of `count` that goes to val (same distribution as train).
    public var valFraction = 0.1
    /// Share of the colour–shape combinations withheld from train and val.
    public var holdoutFraction = 0.1
    /// Images per class in the zero-shot folders.
    public var zeroShotPerClass = 20
    /// Also write WebDataset tar shards.
    public var webDataset = false
    /// Samples per tar shard.
    public var shardSize = 1000
    /// Also write a folder of images with `.txt` sidecar captions.
    public var sidecar = false
    /// zlib level for the PNGs (1: fast; the images are flat and compress well anyway).
    public var compressionLevel = 1

    public init(count: Int) { self.count = count }

    func validate() throws {
        guard count >= 1 && count <= 10_000_000 else {
            throw DataError.invalidSetting("--count must be 1...10000000, got \(count)")
        }
        guard (16...1024).contains(imageSize) else {
            throw DataError.invalidSetting("--size must be 16...1024, got \(imageSize)")
        }
        guard (0...0.9).contains(valFraction) else {
            throw DataError.invalidSetting("--val-fraction must be 0...0.9, got \(valFraction)")
        }
        guard (0...0.5).contains(holdoutFraction) else {
            throw DataError.invalidSetting("--holdout-fraction must be 0...0.5, got \(holdoutFraction)")
        }
        guard (1...100_000).contains(zeroShotPerClass) else {
            throw DataError.invalidSetting("--zeroshot-per-class must be 1...100000, got \(zeroShotPerClass)")
        }
        guard shardSize >= 1 else { throw DataError.invalidSetting("--shard-size must be positive, got \(shardSize)") }
        guard (0...9).contains(compressionLevel) else {
            throw DataError.invalidSetting("PNG compression level must be 0...9")
        }
    }
}

/// What ``SyntheticDatasetGenerator/write(to:)`` produced; also saved as `manifest.json`.
public struct SyntheticDatasetSummary: Codable, Sendable, Equatable {
    public var configuration: SyntheticDatasetConfiguration
    public var trainCount: Int
    public var valCount: Int
    public var zeroShotUnseenCount: Int
    public var zeroShotAllCount: Int
    /// Held-out combinations ("blue triangle"), which are also the class folder names.
    public var heldOut: [String]
    public var shapes: [String]
    public var colours: [String]
    public var sizes: [String]
    public var positions: [String]
    public var counts: [String]
    /// Shard list pattern per split ("train": "shards/train-{000000..000003}.tar").
    public var shards: [String: String]
    /// Wall time of the generation (0 in manifest.json).
    public var seconds: Double
}
