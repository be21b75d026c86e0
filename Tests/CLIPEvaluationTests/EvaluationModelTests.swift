// Zero-shot and retrieval evaluation end to end on a tiny random model and generated images.
// The expected numbers are recomputed here image by image through the public inference API
// (encodeImage, ZeroShotClassifier, encodeText), so the test checks the batching, skipping,
// folder listing and bookkeeping of the evaluators; the metric arithmetic itself is checked
// on hand-computed matrices in EvaluationMetricsTests.
import CLIPImage
import CLIPModel
import CLIPTensor
import Foundation
import Testing

@testable import CLIPEvaluation

enum EvaluationFixtures {
    /// A ViT CLIP of width 8 with the full vocabulary, freshly initialised (no file needed).
    static let model: CLIP = {
        let configuration = CLIPConfiguration(
            embedDim: 8,
            vision: .vit(imageSize: 32, patchSize: 16, width: 8, layers: 1, heads: 2),
            text: TextConfiguration(contextLength: 77, vocabularySize: 49408, width: 8, heads: 2, layers: 1))
        do { return try CLIP(configuration: configuration, seed: 6) } catch {
            preconditionFailure("tiny model: \(error)")
        }
    }()

    /// A temporary folder, removed by the caller.
    static func temporaryFolder(_ name: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
            "clip-eval-\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Writes a 24×20 PNG: a background colour with a square of another colour at `offset`.
    static func writeImage(_ url: URL, background: (UInt8, UInt8, UInt8), square: (UInt8, UInt8, UInt8), offset: Int)
        throws
    {
        let width = 24, height = 20
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                let inside = x >= offset && x < offset + 8 && y >= offset / 2 && y < offset / 2 + 8
                let c = inside ? square : background
                pixels[3 * (y * width + x)] = c.0
                pixels[3 * (y * width + x) + 1] = c.1
                pixels[3 * (y * width + x) + 2] = c.2
            }
        }
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try PNGEncoder.encode(pixels: pixels, width: width, height: height, channels: 3).write(to: url)
    }

    static let colours: [(UInt8, UInt8, UInt8)] = [
        (250, 10, 10), (10, 240, 30), (20, 20, 230), (240, 240, 20), (128, 0, 128), (0, 0, 0), (255, 255, 255),
    ]
}

@Suite struct EvaluationModelTests {
    @Test func zeroShotFolderMatchesPerImageClassification() throws {
        let root = try EvaluationFixtures.temporaryFolder("zeroshot")
        defer { try? FileManager.default.removeItem(at: root) }
        // Code-point order puts "Zebra" before "blue_sky" before "red_circle"; "é" after ASCII.
        let classes = ["red_circle", "blue_sky", "Zebra", "été"]
        var n = 0
        for (c, name) in classes.enumerated() {
            for i in 0..<(c == 3 ? 1 : 3) {
                let sub = i == 2 ? "nested/" : ""
                try EvaluationFixtures.writeImage(
                    root.appendingPathComponent("\(name)/\(sub)img\(i).png"),
                    background: EvaluationFixtures.colours[(c + i) % 7],
                    square: EvaluationFixtures.colours[(3 * c + 1) % 7], offset: 2 + 3 * i)
                n += 1
            }
        }
        // Not images, or hidden: ignored. An unreadable image: skipped and counted.
        try Data("notes".utf8).write(to: root.appendingPathComponent("red_circle/notes.txt"))
        try Data("x".utf8).write(to: root.appendingPathComponent("red_circle/.hidden.png"))
        try Data("not a png".utf8).write(to: root.appendingPathComponent("blue_sky/broken.png"))
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent(".cache"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent("empty_class"), withIntermediateDirectories: true)

        let folder = try LabelledImageFolder(root)
        #expect(folder.classNames == ["Zebra", "blue_sky", "empty_class", "red_circle", "été"])
        #expect(folder.promptNames == ["Zebra", "blue sky", "empty class", "red circle", "été"])
        #expect(folder.images.count == n + 1, "\(folder.images.map(\.url.lastPathComponent))")

        let model = EvaluationFixtures.model
        let templates = ["a photo of a {}.", "a drawing of the {}"]
        // Batch size 2 so that several batches run and the broken file shares a batch with good ones.
        let report = try ZeroShotEvaluation.evaluate(model: model, dataset: folder, templates: templates, batchSize: 2)
        #expect(report.images == n && report.classes == 5 && report.topK == 5)
        #expect(report.skipped.map { URL(fileURLWithPath: $0.path).lastPathComponent } == ["broken.png"])
        #expect(report.imagesPerClass == [3, 3, 0, 3, 1])

        // Expected: one image at a time through the classifier of the inference API.
        let classifier = try ZeroShotClassifier(model: model, classNames: folder.promptNames, templates: templates)
        var hits = 0, perClass = [Int](repeating: 0, count: 5)
        for item in folder.images where item.url.lastPathComponent != "broken.png" {
            let scores = classifier.classify(imageFeatures: try model.encodeImage([item.url]))[0]
            if scores[0].label == folder.promptNames[item.label] {
                hits += 1
                perClass[item.label] += 1
            }
        }
        #expect(report.top1 == Double(hits) / Double(n), "top1 \(report.top1), per-image \(hits)/\(n)")
        #expect(report.top5 == 1)  // 5 classes: every class is in the top 5
        #expect(report.top1PerClass[2] == nil)
        #expect(report.top1PerClass[0] == Double(perClass[0]) / 3 && report.top1PerClass[4] == Double(perClass[4]))
    }

    @Test func zeroShotErrors() throws {
        let root = try EvaluationFixtures.temporaryFolder("zeroshot-errors")
        defer { try? FileManager.default.removeItem(at: root) }
        #expect(throws: EvaluationError.noClasses(root.path)) { try LabelledImageFolder(root) }
        let missing = root.appendingPathComponent("missing")
        #expect(throws: EvaluationError.notAFolder(missing.path)) { try LabelledImageFolder(missing) }
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent("cat"), withIntermediateDirectories: true)
        #expect(throws: EvaluationError.noImages(root.path, skipped: 0, firstReason: nil)) {
            try ZeroShotEvaluation.evaluate(model: EvaluationFixtures.model, folder: root)
        }
        try Data("junk".utf8).write(to: root.appendingPathComponent("cat/a.jpg"))
        #expect {
            try ZeroShotEvaluation.evaluate(model: EvaluationFixtures.model, folder: root)
        } throws: { error in
            guard case .noImages(_, let skipped, let reason)? = error as? EvaluationError else { return false }
            return skipped == 1 && reason?.contains("a.jpg") == true
        }
        #expect(throws: EvaluationError.noTemplates) {
            try ZeroShotEvaluation.evaluate(model: EvaluationFixtures.model, folder: root, templates: [])
        }
    }

    @Test func retrievalOnCaptionTable() throws {
        let root = try EvaluationFixtures.temporaryFolder("retrieval")
        defer { try? FileManager.default.removeItem(at: root) }
        for i in 0..<4 {
            try EvaluationFixtures.writeImage(
                root.appendingPathComponent("images/\(i).png"), background: EvaluationFixtures.colours[i],
                square: EvaluationFixtures.colours[6 - i], offset: 1 + 2 * i)
        }
        try Data("garbage".utf8).write(to: root.appendingPathComponent("images/bad.png"))
        let absolute = root.appendingPathComponent("images/3.png").path
        // Image 0 has two captions (one via "./" and a quoted field with a comma); the broken image's
        // caption is dropped, and so is the row with an empty caption.
        let csv = """
            id,filepath,title\r
            1,images/0.png,a red square\r
            2,images/1.png,"a green square, small"\r
            3,./images/0.png,red again\r
            4,images/bad.png,broken\r
            5,images/2.png,   \r
            6,images/2.png,blue\r
            7,\(absolute),yellow\r

            """
        let table = root.appendingPathComponent("val.csv")
        try Data(csv.utf8).write(to: table)
        let data = try RetrievalDataset(csv: table, imageKey: "filepath", captionKey: "title", separator: ",")
        #expect(data.imageURLs.map(\.lastPathComponent) == ["0.png", "1.png", "bad.png", "2.png", "3.png"])
        #expect(data.captions == ["a red square", "a green square, small", "red again", "broken", "blue", "yellow"])
        #expect(
            data.imageOfCaption == [0, 1, 0, 2, 3, 4] && data.lineOfCaption == [2, 3, 4, 5, 7, 8]
                && data.skippedRows == 1)

        let model = EvaluationFixtures.model
        let report = try RetrievalEvaluation.evaluate(model: model, dataset: data, batchSize: 3)
        #expect(report.images == 4 && report.texts == 5 && report.skippedTexts == 2 && report.skipped.count == 1)

        // Expected: embed the readable images and the kept captions directly, cosine matrix by hand.
        let images = Tensor.l2Normalized(
            try model.encodeImage(
                ["0", "1", "2", "3"].map {
                    root.appendingPathComponent("images/\($0).png")
                }))
        let texts = Tensor.l2Normalized(
            try model.encodeText(["a red square", "a green square, small", "red again", "blue", "yellow"]))
        let e = images.shape[1], iv = images.scalars, tv = texts.scalars
        let similarity = (0..<4).map { i in
            (0..<5).map { t in (0..<e).map { iv[i * e + $0] * tv[t * e + $0] }.reduce(0, +) }
        }
        let expected = RetrievalMetrics(similarity: similarity, imageOfText: [0, 1, 0, 2, 3])
        #expect(
            report.metrics == expected,
            "ranks \(report.metrics.imageToText.ranks)/\(report.metrics.textToImage.ranks), expected \(expected.imageToText.ranks)/\(expected.textToImage.ranks)"
        )
    }

    @Test func retrievalTableErrors() throws {
        let root = try EvaluationFixtures.temporaryFolder("retrieval-errors")
        defer { try? FileManager.default.removeItem(at: root) }
        let table = root.appendingPathComponent("val.tsv")
        try Data("filepath\ttitle\n\tno image\nx.png\t\n".utf8).write(to: table)
        #expect(throws: EvaluationError.noCaptions(table.path)) { try RetrievalDataset(csv: table) }
        #expect(
            throws: DelimitedTextError.inFile(
                path: table.path, .missingColumn("caption", available: ["filepath", "title"]))
        ) {
            try RetrievalDataset(csv: table, captionKey: "caption")
        }
        try Data("filepath\ttitle\nmissing.png\ta cat\n".utf8).write(to: table)
        #expect {
            try RetrievalEvaluation.evaluate(model: EvaluationFixtures.model, dataset: RetrievalDataset(csv: table))
        } throws: { error in
            guard case .noImages(let path, let skipped, _)? = error as? EvaluationError else { return false }
            return path == table.path && skipped == 1
        }
    }
}
