import CLIP
import Foundation
import GRDB
import Testing

@testable import CLIPIndex

/// `clip index` and `clip search` (forwarded to clip-index) on real files, a real SQLite file and
/// the bundled demo model.
@Suite struct IndexCommandTests {
    static let demo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources/clip/Resources/demo")
    static let model = demo.appendingPathComponent("model.safetensors").path
    static let query = "three small orange crosses on the left"

    /// A fresh folder with `count` distinct images (demo images with distinct trailing bytes,
    /// which decoders ignore after the PNG end marker) under `photos/`.
    static func folder(images count: Int) throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("clip-index-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent("photos"), withIntermediateDirectories: true)
        for i in 0..<count {
            var data = try Data(contentsOf: demo.appendingPathComponent(String(format: "images/%06d.png", i % 4)))
            if i >= 4 { data += Data("copy \(i)".utf8) }
            try data.write(to: root.appendingPathComponent(String(format: "photos/%04d.png", i)))
        }
        return root
    }

    static func summary(_ result: CLIRunner.Result) throws -> [String: Double] {
        let line = try #require(result.stdout.split(separator: "\n").last, "no summary line; stderr: \(result.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Double])
    }

    static func index(_ root: URL, _ extra: [String] = []) throws -> CLIRunner.Result {
        try CLIRunner.run(
            ["index", root.appendingPathComponent("photos").path, "--db", root.appendingPathComponent("i.sqlite").path]
                + extra)
    }

    @Test func searchScoresEqualEmbedCosinesAndRerunsEmbedNothing() throws {
        let root = try Self.folder(images: 4)
        defer { try? FileManager.default.removeItem(at: root) }
        let db = root.appendingPathComponent("i.sqlite").path
        var result = try Self.index(root, ["--model", Self.model])
        #expect(result.status == 0, "\(result.stderr)")
        var s = try Self.summary(result)
        #expect(s["added"] == 4 && s["embedded"] == 4 && s["failed"] == 0, "\(result.stdout)")
        #expect(
            Set(s.keys) == ["added", "updated", "renamed", "removed", "unchanged", "failed", "embedded", "seconds"])

        // Scores are the cosines `clip embed` gives for the same image and text.
        result = try CLIRunner.run(["search", Self.query, "--db", db, "--json", "--top", "4"])
        #expect(result.status == 0, "\(result.stderr)")
        let hits = try result.stdout.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        #expect(hits.count == 4)
        let paths = hits.compactMap { $0["path"] as? String }
        let embed = try CLIRunner.run(
            ["embed", "--model", Self.model, "--text", Self.query, "--format", "json"]
                + paths.flatMap { ["--image", $0] })
        let json = try #require(try JSONSerialization.jsonObject(with: embed.stdoutData) as? [String: [[Double]]])
        let text = try #require(json["text_embeddings"]?.first)
        let images = try #require(json["image_embeddings"])
        var maxDiff = 0.0
        for (hit, image) in zip(hits, images) {
            let cosine = zip(text, image).reduce(0) { $0 + $1.0 * $1.1 }
            maxDiff = max(maxDiff, abs(cosine - ((hit["score"] as? Double) ?? .nan)))
        }
        print("search scores vs clip embed cosines: max difference \(maxDiff) (tolerance 1e-4)")
        #expect(maxDiff < 1e-4)
        let scores = hits.compactMap { $0["score"] as? Double }
        #expect(scores == scores.sorted(by: >))

        // An image query finds itself with score 1; query arithmetic runs.
        result = try CLIRunner.run(["search", "--image", paths[2], "--db", db, "--top", "1"])
        #expect(
            result.status == 0 && result.stdout.hasPrefix("1.0000\t\(paths[2])"), "\(result.stdout)\(result.stderr)")
        result = try CLIRunner.run(
            ["search", "./photos/" + URL(fileURLWithPath: paths[1]).lastPathComponent, "--db", db, "--top", "1"],
            currentDirectory: root)
        #expect(result.stdout.hasPrefix("1.0000\t\(paths[1])"), "\(result.stdout)\(result.stderr)")
        result = try CLIRunner.run(["search", "2:\(Self.query)", "+", paths[1], "-", "blue", "--db", db])
        #expect(result.status == 0 && result.stdout.split(separator: "\n").count == 4, "\(result.stderr)")

        // A second run embeds nothing; a rename embeds nothing.
        s = try Self.summary(try Self.index(root))
        #expect(s["unchanged"] == 4 && s["embedded"] == 0)
        try FileManager.default.moveItem(
            at: root.appendingPathComponent("photos/0001.png"), to: root.appendingPathComponent("photos/renamed.png"))
        s = try Self.summary(try Self.index(root))
        #expect(s["renamed"] == 1 && s["embedded"] == 0 && s["removed"] == 0 && s["added"] == 0)

        // One index, one model: another --model says how to reindex.
        result = try CLIRunner.run(["search", "cat", "--db", db, "--model", "ViT-B/32"])
        #expect(result.status == 66 && result.stderr.contains("clip index DIR --model"), "\(result.stderr)")

        // The vector type is fixed when the index is made: a contradicting --vectors is refused
        // (it used to be ignored), the matching one is accepted.
        result = try Self.index(root, ["--vectors", "f16"])
        #expect(result.status == 64 && result.stderr.contains("stores f32 vectors"), "\(result.stderr)")
        #expect(try Self.summary(try Self.index(root, ["--vectors", "f32"]))["unchanged"] == 4)
    }

    @Test func killDuringIndexingThenRerunAndSearchMeanwhile() throws {
        let total = 240
        let root = try Self.folder(images: total)
        defer { try? FileManager.default.removeItem(at: root) }
        let db = root.appendingPathComponent("i.sqlite")
        // Each run's stderr goes to a file in the test folder, quoted when a run fails.
        var runs = 0
        func start(_ extra: [String], stdout: URL? = nil) throws -> Process {
            let process = Process()
            process.executableURL = CLIRunner.executable
            process.arguments =
                ["index", root.appendingPathComponent("photos").path, "--db", db.path, "--batch-size", "4"] + extra
            if let stdout {
                _ = FileManager.default.createFile(atPath: stdout.path, contents: nil)
                process.standardOutput = try FileHandle(forWritingTo: stdout)
            } else {
                process.standardOutput = FileHandle.nullDevice
            }
            runs += 1
            let stderr = root.appendingPathComponent("stderr-\(runs).txt")
            _ = FileManager.default.createFile(atPath: stderr.path, contents: nil)
            process.standardError = try FileHandle(forWritingTo: stderr)
            try process.run()
            return process
        }
        func stderr(_ run: Int) -> String {
            (try? String(contentsOf: root.appendingPathComponent("stderr-\(run).txt"), encoding: .utf8)) ?? ""
        }
        // kill -9 as soon as the first batch is committed.
        let first = try start(["--model", Self.model])
        var committed = 0
        let deadline = Date().addingTimeInterval(120)
        while committed < 4 && Date() < deadline && first.isRunning {
            Thread.sleep(forTimeInterval: 0.02)
            committed = (try? ImageIndex(at: db, create: false).count()) ?? 0
        }
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        let atKill = try ImageIndex(at: db, create: false).count()
        print("killed with \(atKill) of \(total) images committed")
        #expect(
            atKill > 0 && atKill < total,
            "the run should be killed part way; it ended with status \(first.terminationStatus), stderr: \(stderr(1))")

        // The rerun continues; searches meanwhile see the committed batches.
        let rerunOutput = root.appendingPathComponent("rerun.json")
        let rerun = try start(["--model", Self.model], stdout: rerunOutput)
        var searches = 0
        repeat {
            let search = try CLIRunner.run(["search", Self.query, "--db", db.path, "--top", "3"])
            #expect(search.status == 0 && search.stdout.split(separator: "\n").count == 3, "\(search.stderr)")
            searches += 1
        } while rerun.isRunning && searches < 20
        rerun.waitUntilExit()
        print("\(searches) searches during the rerun")
        #expect(rerun.terminationStatus == 0, "rerun stderr: \(stderr(2))")
        let line = String(decoding: try Data(contentsOf: rerunOutput), as: UTF8.self)
        let rerunSummary = try #require(
            try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Double], "\(line)")
        #expect(
            rerunSummary["unchanged"] == Double(atKill) && rerunSummary["added"] == Double(total - atKill), "\(line)")

        // Nothing left to do; no duplicate rows; the file is sound.
        let s = try Self.summary(try Self.index(root))
        #expect(s["unchanged"] == Double(total) && s["embedded"] == 0, "\(s)")
        let index = try ImageIndex(at: db, create: false)
        #expect(try index.count() == total)
        #expect(try index.integrityCheck() == "ok")
        let distinct = try DatabaseQueue(path: db.path).read {
            try Int.fetchOne($0, sql: "SELECT count(DISTINCT path) FROM images")
        }
        #expect(distinct == total)
    }

    @Test func corruptOrForeignFilesAreRefusedAndLeftAlone() throws {
        let root = try Self.folder(images: 1)
        defer { try? FileManager.default.removeItem(at: root) }
        let corrupt = root.appendingPathComponent("corrupt.sqlite")
        try Data(repeating: 0x5A, count: 8192).write(to: corrupt)
        let foreign = root.appendingPathComponent("foreign.sqlite")
        try DatabaseQueue(path: foreign.path).write {
            try $0.execute(sql: "CREATE TABLE contacts(name TEXT); INSERT INTO contacts VALUES ('Ada')")
        }
        for file in [corrupt, foreign] {
            let before = try Data(contentsOf: file)
            for arguments in [
                ["index", root.appendingPathComponent("photos").path, "--model", Self.model], ["search", "cat"],
            ] {
                let result = try CLIRunner.run(arguments + ["--db", file.path])
                #expect(result.status == 65, "\(arguments[0]) \(file.lastPathComponent): \(result.stderr)")
                #expect(result.stderr.contains("not a swift-clip index"), "\(result.stderr)")
            }
            #expect(try Data(contentsOf: file) == before, "\(file.lastPathComponent) was modified")
        }
        let missing = try CLIRunner.run(["search", "cat", "--db", root.appendingPathComponent("none.sqlite").path])
        #expect(missing.status == 65 && missing.stderr.contains("clip index"), "\(missing.stderr)")
    }

    /// A text search loads the text tower with its fp16 weights checked as the query reads them
    /// (no scan at load): a NaN in the model file is still refused by name (exit 66), with
    /// nothing on standard output, and the clean file searches.
    @Test func textSearchRefusesADamagedFp16Model() throws {
        let root = try Self.folder(images: 2)
        defer { try? FileManager.default.removeItem(at: root) }
        let model = root.appendingPathComponent("tiny-fp16.safetensors")
        try TinyModel.write(to: model, half: true)
        let indexed = try Self.index(root, ["--model", model.path])
        #expect(indexed.status == 0, "\(indexed.stderr)")
        let db = root.appendingPathComponent("i.sqlite").path
        #expect(try CLIRunner.run(["search", "cat", "--db", db]).status == 0)
        let key = "transformer.resblocks.0.mlp.c_fc.weight"
        try TinyModel.write(to: model, replacing: [key: (7, .nan)], half: true)
        let result = try CLIRunner.run(["search", "cat", "--db", db])
        #expect(result.status == 66, "\(result.stderr)")
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.contains("error: weight '\(key)' holds NaN or infinite values"), "\(result.stderr)")
    }

    /// A search loads only the towers its terms need: an image whose bytes are in the index
    /// reuses the stored vector (no model is read: a damaged image tower does not stop it, and
    /// the scores equal those of embedding it), a text term loads the text tower, and an image
    /// that is not indexed the image tower, whose damaged weight is then refused by name.
    @Test func imageTermsInTheIndexReuseTheirVectors() throws {
        let root = try Self.folder(images: 3)
        defer { try? FileManager.default.removeItem(at: root) }
        let model = root.appendingPathComponent("tiny-fp16.safetensors")
        try TinyModel.write(to: model, half: true)
        #expect(try Self.index(root, ["--model", model.path]).status == 0)
        let db = root.appendingPathComponent("i.sqlite").path
        let indexed = root.appendingPathComponent("photos/0001.png").path
        // Same bytes under another name, and new bytes (not indexed).
        let copy = root.appendingPathComponent("copy.png")
        try FileManager.default.copyItem(atPath: indexed, toPath: copy.path)
        let fresh = root.appendingPathComponent("fresh.png")
        try (Data(contentsOf: URL(fileURLWithPath: indexed)) + Data("fresh".utf8)).write(to: fresh)

        let clean = try CLIRunner.run([
            "search", "--image", fresh.path, "--db", db, "--json", "--top", "3", "--verbose",
        ])
        #expect(clean.status == 0 && clean.stderr.contains("loaded the image tower"), "\(clean.stderr)")
        let mixedClean = try CLIRunner.run(["search", "cat", "+", copy.path, "--db", db, "--top", "3"])
        #expect(mixedClean.status == 0, "\(mixedClean.stderr)")

        let key = "visual.transformer.resblocks.0.mlp.c_fc.weight"
        try TinyModel.write(to: model, replacing: [key: (3, .infinity)], half: true)
        for image in [indexed, copy.path] {
            let result = try CLIRunner.run(["search", "--image", image, "--db", db, "--top", "1", "--verbose"])
            #expect(result.status == 0 && result.stdout.hasPrefix("1.0000\t"), "\(result.stdout)\(result.stderr)")
            #expect(!result.stderr.contains("loaded"), "a model was loaded: \(result.stderr)")
        }
        // The stored vector ranks as the freshly embedded image does (same content, same scores).
        let reused = try CLIRunner.run(["search", "--image", copy.path, "--db", db, "--json", "--top", "3"])
        let embedded = try CLIRunner.run(["search", "--image", fresh.path, "--db", db, "--json", "--top", "3"])
        #expect(reused.status == 0 && embedded.status == 66, "\(reused.stderr)\(embedded.stderr)")
        #expect(embedded.stdout.isEmpty)
        #expect(embedded.stderr.contains("error: weight '\(key)' holds NaN or infinite values"), "\(embedded.stderr)")
        func scores(_ output: String) throws -> [String: Double] {
            var result: [String: Double] = [:]
            for line in output.split(separator: "\n") {
                let hit = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                result[try #require(hit["path"] as? String)] = try #require(hit["score"] as? Double)
            }
            return result
        }
        let a = try scores(reused.stdout), b = try scores(clean.stdout)
        #expect(a.keys == b.keys)
        let maxDiff = a.map { abs($0.value - (b[$0.key] ?? .nan)) }.max() ?? .nan
        print("reused vs embedded image query: max score difference \(maxDiff) (tolerance 1e-5)")
        #expect(maxDiff < 1e-5)
        // A text term with an indexed image loads only the text tower.
        let mixed = try CLIRunner.run(["search", "cat", "+", copy.path, "--db", db, "--top", "3", "--verbose"])
        #expect(mixed.status == 0 && mixed.stdout == mixedClean.stdout, "\(mixed.stdout)\(mixed.stderr)")
        #expect(mixed.stderr.contains("loaded the text tower"), "\(mixed.stderr)")
    }

    @Test func olderSchemaIsMigrated() throws {
        let root = try Self.folder(images: 2)
        defer { try? FileManager.default.removeItem(at: root) }
        let db = root.appendingPathComponent("i.sqlite")
        // A version-1 index (before the failures table) bound to the demo model.
        let queue = try DatabaseQueue(path: db.path)
        try queue.write { try $0.execute(sql: "PRAGMA application_id = \(IndexSchema.applicationID)") }
        try IndexSchema.migrator.migrate(queue, upTo: "v1")
        try queue.write {
            try $0.execute(
                sql: "INSERT INTO meta(key, value) VALUES ('model', ?), ('dimension', '64'), ('vector_type', 'f32')",
                arguments: [URL(fileURLWithPath: Self.model).resolvingSymlinksInPath().path])
        }
        try queue.close()
        let result = try Self.index(root)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try Self.summary(result)["added"] == 2)
        #expect(try ImageIndex(at: db, create: false).schemaVersion() == IndexSchema.version)
    }
}
