import CLIPImage
import CLIPTensor
import CLIPTokenizer
import CLIPTraining
import Foundation
import Testing

/// The loader: seeded order, equality of threaded and inline loading, bit-exact resume from a
/// saved position, bad samples skipped and counted, augmentation determinism.
@Suite struct DataLoaderTests {
    static let tokenizer: Tokenizer = {
        do { return try Tokenizer.bundled() } catch { preconditionFailure("bundled tokenizer: \(error)") }
    }()

    static func loader(
        _ dataset: any TrainingDataset, batch: Int = 4, seed: UInt64 = 0, augment: Bool = false,
        workers: Int = 2, dropLast: Bool = true, epochs: Int? = nil
    ) throws -> DataLoader {
        try DataLoader(
            source: dataset, batchSize: batch, imageSize: 16, tokenizer: tokenizer, contextLength: 77, seed: seed,
            augment: augment, workers: workers, prefetchBatches: 2, dropLast: dropLast, epochs: epochs)
    }

    static func scalars(_ t: Tensor) -> [Float] {
        Array(UnsafeBufferPointer(start: t.storage.base + t.offset, count: t.count))
    }

    /// Batches as comparable values: indices, epoch, tokens and every pixel bit.
    struct Snapshot: Equatable {
        var indices: [Int], epoch: Int, tokens: [[Int32]], pixels: [UInt32], position: DataPosition
    }

    static func take(_ loader: DataLoader, _ n: Int) throws -> [Snapshot] {
        var out: [Snapshot] = []
        for _ in 0..<n {
            guard let b = try loader.nextBatch() else { break }
            out.append(
                Snapshot(
                    indices: b.indices, epoch: b.epoch, tokens: b.tokens,
                    pixels: scalars(b.pixels).map(\.bitPattern), position: b.position))
        }
        return out
    }

    static func dataset(count: Int = 10, captions: [Int: String] = [:]) throws -> (CSVDataset, URL) {
        let folder = try DataFixtures.temporaryFolder()
        let url = try DataFixtures.writeCSV(count: count, in: folder, captions: captions)
        return (try CSVDataset(url: url), folder)
    }

    @Test func batchesMatchThePreprocessorAndTokenizer() throws {
        let (data, folder) = try Self.dataset()
        defer { try? FileManager.default.removeItem(at: folder) }
        let loader = try Self.loader(data, batch: 3)
        let batch = try #require(try loader.nextBatch())
        #expect(batch.pixels.shape == [3, 3, 16, 16])
        let pre = CLIPPreprocessor(size: 16)
        for (k, index) in batch.indices.enumerated() {
            let expected = try pre.preprocess(contentsOf: data.images[index])
            let got = Array(Self.scalars(batch.pixels)[(k * 768)..<((k + 1) * 768)])
            #expect(got == expected, "sample \(index): max diff \(zip(got, expected).map { abs($0 - $1) }.max() ?? 0)")
            #expect(
                batch.tokens[k]
                    == (try Self.tokenizer.tokenize([data.captions[index]], contextLength: 77, truncate: true)[0]))
            #expect(batch.captions[k] == data.captions[index])
        }
    }

    @Test func shufflingIsSeededAndCoversEachEpoch() throws {
        let (data, folder) = try Self.dataset()
        defer { try? FileManager.default.removeItem(at: folder) }
        let a = try Self.take(Self.loader(data, batch: 5, epochs: 3), 10)
        let b = try Self.take(Self.loader(data, batch: 5, epochs: 3), 10)
        let inline = try Self.take(Self.loader(data, batch: 5, workers: 0, epochs: 3), 10)
        let other = try Self.take(Self.loader(data, batch: 5, seed: 1, epochs: 3), 10)
        #expect(a.count == 6, "3 epochs of 2 batches, then nil")
        #expect(try Self.loader(data, batch: 4).batchesPerEpoch == 2)
        #expect(try Self.loader(data, batch: 4, dropLast: false).batchesPerEpoch == 3)
        #expect(a == b, "same seed, same batches")
        #expect(a == inline, "threads must not change the batches")
        #expect(a.map(\.indices) != other.map(\.indices), "another seed gives another order")
        for epoch in 0..<3 {
            let seen = a.filter { $0.epoch == epoch }.flatMap(\.indices)
            #expect(seen.sorted() == Array(0..<10), "epoch \(epoch) is a permutation: \(seen)")
        }
        #expect(a[0].indices + a[1].indices != a[2].indices + a[3].indices, "a new order each epoch")
        #expect(EpochOrder.permutation(count: 10, seed: 0, epoch: 0) == a[0].indices + a[1].indices)
    }

    /// A run stopped after k batches and resumed from its saved position sees exactly the
    /// batches of an uninterrupted run (augmentation and skipped samples included).
    @Test(arguments: [false, true])
    func restoredPositionGivesTheSameBatches(augment: Bool) throws {
        let (data, folder) = try Self.dataset(count: 11, captions: [3: " "])
        defer { try? FileManager.default.removeItem(at: folder) }
        let reference = try Self.loader(data, batch: 4, augment: augment)
        let uninterrupted = try Self.take(reference, 9)
        for k in [1, 2, 4, 5] {
            let first = try Self.loader(data, batch: 4, augment: augment)
            let before = try Self.take(first, k)
            let saved = first.position
            first.close()
            let json = try JSONEncoder().encode(saved)
            let resumed = try Self.loader(data, batch: 4, augment: augment)
            try resumed.restore(try JSONDecoder().decode(DataPosition.self, from: json))
            let after = try Self.take(resumed, 9 - k)
            #expect(
                before + after == uninterrupted,
                "resume after \(k) batches differs at batch \(Self.firstMismatch(before + after, uninterrupted) ?? -1)")
            #expect(resumed.skippedSamples == reference.skippedSamples, "the skip count carries over")
        }
    }

    static func firstMismatch(_ a: [Snapshot], _ b: [Snapshot]) -> Int? {
        if a.count != b.count { return min(a.count, b.count) }
        return zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }?.offset
    }

    /// Tar members read concurrently by the workers give the same batches as the files.
    @Test func tarShardsLoadLikeTheTable() throws {
        let (data, folder) = try Self.dataset(count: 9)
        defer { try? FileManager.default.removeItem(at: folder) }
        var tar = TarWriter()
        for i in 0..<9 {
            try tar.append(name: String(format: "%03d.png", i), contents: try Data(contentsOf: data.images[i]))
            try tar.append(name: String(format: "%03d.txt", i), contents: Data(data.captions[i].utf8))
        }
        let url = folder.appendingPathComponent("all.tar")
        try tar.finish().write(to: url)
        let fromTar = try Self.take(Self.loader(try TarShardDataset(pattern: url.path), batch: 3, epochs: 2), 6)
        let fromTable = try Self.take(Self.loader(data, batch: 3, epochs: 2), 6)
        #expect(fromTar.count == 6)
        #expect(fromTar.map(\.pixels) == fromTable.map(\.pixels) && fromTar.map(\.tokens) == fromTable.map(\.tokens))
    }

    @Test func restoreRejectsAnotherDatasetOrSeed() throws {
        let (data, folder) = try Self.dataset()
        defer { try? FileManager.default.removeItem(at: folder) }
        let loader = try Self.loader(data)
        #expect(throws: DataError.self) {
            try loader.restore(DataPosition(epoch: 0, index: 0, datasetCount: 9, seed: 0))
        }
        #expect(throws: DataError.self) {
            try loader.restore(DataPosition(epoch: 0, index: 0, datasetCount: 10, seed: 5))
        }
        #expect(throws: DataError.self) {
            try loader.restore(DataPosition(epoch: 0, index: 10, datasetCount: 10, seed: 0))
        }
    }

    /// Missing file, corrupt bytes, truncated PNG, empty caption, missing sidecar: each is
    /// skipped once per epoch, counted by reason, never thrown.
    @Test func badSamplesAreSkippedAndCounted() throws {
        let (_, folder) = try Self.dataset(count: 12, captions: [5: "   "])
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.removeItem(at: folder.appendingPathComponent("img/001.png"))
        try Data("this is not an image".utf8).write(to: folder.appendingPathComponent("img/002.png"))
        let png = try DataFixtures.png(3)
        try png.prefix(png.count / 2).write(to: folder.appendingPathComponent("img/003.png"))
        let data = try CSVDataset(url: folder.appendingPathComponent("train.csv"))
        let loader = try Self.loader(data, batch: 4, dropLast: false, epochs: 1)
        var seen: [Int] = []
        while let batch = try loader.nextBatch() { seen += batch.indices }
        #expect(seen.sorted() == [0, 4, 6, 7, 8, 9, 10, 11])
        #expect(loader.skippedSamples == 4)
        #expect(loader.skipCounts == [.unreadableImage: 1, .corruptImage: 2, .emptyCaption: 1], "\(loader.skipCounts)")
        #expect(loader.recentSkips.count == 4)
        #expect(loader.position.skippedSamples == 4)

        // Sidecar folder: an image without its .txt is a missing caption.
        let side = try DataFixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: side) }
        try DataFixtures.png(0).write(to: side.appendingPathComponent("a.png"))
        try Data("a caption".utf8).write(to: side.appendingPathComponent("a.txt"))
        try DataFixtures.png(1).write(to: side.appendingPathComponent("b.png"))
        let folderLoader = try Self.loader(try SidecarFolderDataset(folder: side), batch: 1, epochs: 1)
        #expect(try folderLoader.nextBatch()?.captions == ["a caption"])
        #expect(try folderLoader.nextBatch() == nil)
        #expect(folderLoader.skipCounts == [.missingCaption: 1])
    }

    @Test func anEpochWithoutABatchIsAnError() throws {
        let (data, folder) = try Self.dataset(count: 3, captions: [0: "", 1: "", 2: ""])
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(throws: DataError.self) { try Self.loader(data, batch: 2).nextBatch() }
        let (small, folder2) = try Self.dataset(count: 3)
        defer { try? FileManager.default.removeItem(at: folder2) }
        #expect(throws: DataError.self) { try Self.loader(small, batch: 4).nextBatch() }
        // Without dropLast the partial batch is returned.
        #expect(try Self.loader(small, batch: 4, dropLast: false).nextBatch()?.indices.count == 3)
    }

    @Test func augmentationIsSeededPerSampleAndEpoch() throws {
        let (data, folder) = try Self.dataset(count: 8)
        defer { try? FileManager.default.removeItem(at: folder) }
        let a = try Self.take(Self.loader(data, batch: 8, augment: true), 2)
        let b = try Self.take(Self.loader(data, batch: 8, augment: true, workers: 0), 2)
        let plain = try Self.take(Self.loader(data, batch: 8), 2)
        #expect(a == b)
        #expect(a[0].pixels.count == 8 * 3 * 16 * 16)
        #expect(a[0].indices == plain[0].indices)
        #expect(a[0].pixels != plain[0].pixels, "crops change pixels")
        // The same sample is cropped differently in the next epoch.
        let index = a[0].indices[0]
        let k1 = try #require(a[1].indices.firstIndex(of: index))
        let first = Array(a[0].pixels[0..<768]), second = Array(a[1].pixels[(k1 * 768)..<((k1 + 1) * 768)])
        #expect(first != second)
    }

    @Test func cropBoxesFollowTorchvisionRules() {
        let crop = RandomResizedCrop()
        var random = SeededRandom(seed: 3)
        for _ in 0..<200 {
            let (w, h) = (random.nextInt(in: 1...300), random.nextInt(in: 1...300))
            let box = crop.box(width: w, height: h, random: &random)
            #expect(
                box.top >= 0 && box.left >= 0 && box.top + box.height <= h && box.left + box.width <= w && box.width > 0
                    && box.height > 0,
                "\(w)x\(h): \(box)")
            // Within scale (0.9, 1.0) up to rounding, unless the centred fallback was used.
            let area = Double(box.width * box.height) / Double(w * h)
            #expect(area <= 1.0 + 1e-9)
        }
        // A 1x100 strip cannot take a 3/4...4/3 box: torchvision's fallback crops the centre.
        var r = SeededRandom(seed: 0)
        #expect(
            crop.box(width: 1, height: 100, random: &r) == RandomResizedCrop.Box(top: 49, left: 0, height: 1, width: 1))
    }

    /// Workers fill the prefetch window while the consumer "computes": afterwards, batches
    /// come without waiting.
    @Test func workersPrefetchAhead() throws {
        let (data, folder) = try Self.dataset(count: 12)
        defer { try? FileManager.default.removeItem(at: folder) }
        let loader = try DataLoader(
            source: data, batchSize: 2, imageSize: 16, tokenizer: Self.tokenizer, workers: 2, prefetchBatches: 3)
        _ = try loader.nextBatch()
        Thread.sleep(forTimeInterval: 1.0)
        let before = loader.waitSeconds
        for _ in 0..<2 { _ = try loader.nextBatch() }
        #expect(loader.waitSeconds - before < 0.2, "waited \(loader.waitSeconds - before) s for prefetched batches")
    }
}
