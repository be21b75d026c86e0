import ArgumentParser
import CLIP
import CLIPIndex
import Foundation

/// `clip-index bench-scan`: times the top-k scan over N random unit vectors (scripts/bench/index-search).
struct BenchScanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-scan", abstract: "Benchmark: top-k scan over random unit vectors.", shouldDisplay: false)

    @Option var rows = 1_000_000
    @Option var dim = 512
    @Option var top = 10
    @Option var rounds = 7
    @Option var vectors = "f32"

    func run() throws {
        let type = VectorType(rawValue: vectors) ?? .float32
        var generator = SplitMix(seed: 1)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(rows * dim * type.size)
        for _ in 0..<rows { bytes += type.encode(generator.unitVector(dim)) }
        let matrix = VectorMatrix(testIDs: (0..<Int64(rows)).map { $0 }, rows: bytes, dimension: dim, vectorType: type)
        var times: [Double] = []
        for _ in 0..<rounds {
            let query = generator.unitVector(dim)
            let start = DispatchTime.now().uptimeNanoseconds
            _ = try matrix.nearest(to: query, k: top)
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        times.sort()
        print(
            "{\"rows\":\(rows),\"dim\":\(dim),\"vectors\":\"\(vectors)\",\"threads\":\(Parallel.threadCount),"
                + "\"median_ms\":\(String(format: "%.1f", times[times.count / 2])),"
                + "\"min_ms\":\(String(format: "%.1f", times[0]))}")
    }
}

/// `clip-index synth-index`: an index of N synthetic unit vectors bound to a model, for the
/// cold-search benchmark (the vectors are random; paths are /synthetic/NNNNNN.jpg).
struct SynthIndexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth-index", abstract: "Benchmark: an index of synthetic vectors.", shouldDisplay: false)

    @Option var db: String
    @Option var rows = 100_000
    @Option(help: "Checkpoint the index is bound to (its embedding width is used).") var model: String
    @Option(help: "First write a randomly initialised model of this preset (e.g. ViT-B/32) to --model.")
    var randomModel: String?

    func run() throws {
        if let randomModel, !FileManager.default.fileExists(atPath: model) {
            guard let configuration = CLIPConfiguration.preset(randomModel) else {
                throw ValidationError("unknown preset \(randomModel)")
            }
            try CLIP(configuration: configuration, seed: 0).save(to: URL(fileURLWithPath: model))
        }
        let tower = try CLIP.load(URL(fileURLWithPath: model), towers: [.text])
        let dim = tower.configuration.embedDim
        let index = try ImageIndex(at: URL(fileURLWithPath: db))
        try index.bind(IndexedModel(name: IndexModel.storedName(model), dimension: dim))
        var generator = SplitMix(seed: 2)
        for start in stride(from: 0, to: rows, by: 10_000) {
            let entries = (start..<min(start + 10_000, rows)).map { i in
                ImageIndex.Entry(
                    path: String(format: "/synthetic/%07d.jpg", i), size: 1, mtime: 0, hash: String(format: "%064x", i),
                    vector: generator.unitVector(dim))
            }
            try index.add(entries)
        }
        print("{\"rows\":\(try index.count()),\"dim\":\(dim)}")
    }
}

/// A small seeded generator for reproducible synthetic vectors.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func unitVector(_ n: Int) -> [Float] {
        let v = (0..<n).map { _ in Float(Double(next() >> 11) / Double(1 << 53)) - 0.5 }
        let norm = sqrt(v.reduce(0) { $0 + $1 * $1 })
        return v.map { $0 / norm }
    }
}
