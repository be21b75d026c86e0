import Foundation
import GRDB
import Testing

@testable import CLIPIndex

/// Incremental indexing on real files and a real SQLite file, with a stand-in embedder that
/// turns a file's bytes into a unit vector and counts what it embeds (the model is tested in
/// the CLI tests).
@Suite struct ImageIndexTests {
    static let width = 8

    /// Embeds by content: identical bytes give identical vectors; a file that is not a PNG fails.
    final class CountingEmbedder {
        var embedded: [String] = []
        func callAsFunction(_ urls: [URL]) -> [Result<[Float], any Error>] {
            urls.map { url in
                embedded.append(url.lastPathComponent)
                guard let data = try? Data(contentsOf: url), data.count > 100 else {
                    return .failure(IndexError.badQuery("unreadable \(url.lastPathComponent)"))
                }
                // FNV-1a of the bytes seeds a random vector: same bytes, same vector.
                var state = data.reduce(UInt64(0xcbf2_9ce4_8422_2325)) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
                let v = (0..<ImageIndexTests.width).map { _ -> Float in
                    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                    return Float(Int64(bitPattern: state >> 11) % 2001 - 1000) / 1000
                }
                let norm = sqrt(v.reduce(0) { $0 + $1 * $1 })
                return .success(v.map { $0 / norm })
            }
        }
    }

    func makeIndex(_ scratch: Scratch) throws -> ImageIndex {
        let index = try ImageIndex(at: scratch.url.appendingPathComponent("db/index.sqlite"))
        try index.bind(IndexedModel(name: "test", dimension: Self.width))
        return index
    }

    func run(_ index: ImageIndex, _ scratch: Scratch, _ embedder: CountingEmbedder, scan: ScanOptions = ScanOptions())
        throws -> IndexSummary
    {
        try index.update(
            roots: [scratch.url.appendingPathComponent("photos")], options: IndexOptions(scan: scan, batchSize: 2),
            embed: { embedder($0) })
    }

    @Test func incrementalRunsEmbedOnlyWhatChanged() throws {
        let scratch = try Scratch()
        for i in 1...5 { try scratch.image("photos/\(i).png", variant: i) }
        try scratch.write("photos/notes.txt", "not an image")
        let index = try makeIndex(scratch)
        let embedder = CountingEmbedder()

        var s = try run(index, scratch, embedder)
        #expect((s.added, s.embedded, s.unchanged) == (5, 5, 0))

        // Second run: nothing embedded.
        s = try run(index, scratch, embedder)
        #expect((s.added, s.embedded, s.unchanged, s.updated) == (0, 0, 5, 0))

        // Changed content (and mtime): embedded again, counted as updated.
        try scratch.image("photos/1.png", variant: 100)
        try scratch.touch("photos/1.png", mtime: 2_000_000_000)
        // Renamed and moved: recognised by hash, not embedded.
        try FileManager.default.moveItem(atPath: scratch.path("photos/2.png"), toPath: scratch.path("photos/two.png"))
        try FileManager.default.createDirectory(atPath: scratch.path("photos/sub"), withIntermediateDirectories: true)
        try FileManager.default.moveItem(atPath: scratch.path("photos/3.png"), toPath: scratch.path("photos/sub/3.png"))
        // Deleted.
        try FileManager.default.removeItem(atPath: scratch.path("photos/4.png"))
        // Exact duplicate of 5: recorded, not embedded.
        try FileManager.default.copyItem(
            atPath: scratch.path("photos/5.png"), toPath: scratch.path("photos/5-copy.png"))
        embedder.embedded = []
        s = try run(index, scratch, embedder)
        #expect(embedder.embedded == ["1.png"])
        #expect(
            (s.added, s.updated, s.renamed, s.removed, s.unchanged, s.embedded) == (1, 1, 2, 1, 1, 1),
            "\(s.jsonLine)")
        #expect(try index.count() == 5)
        #expect(try index.integrityCheck() == "ok")
        // The duplicate shares its vector: one exact-duplicate pair with score 1.
        let pairs = try index.duplicates(threshold: 0.999_999)
        #expect(
            pairs.map { [$0.first, $0.second] } == [[scratch.path("photos/5-copy.png"), scratch.path("photos/5.png")]])
        // The old vector of 1.png and the deleted 4.png's are gone: 4 distinct contents.
        #expect(try index.vectors().count == 4)
    }

    @Test func hiddenFilesExcludedFoldersAndFailures() throws {
        let scratch = try Scratch()
        try scratch.image("photos/a.png", variant: 1)
        try scratch.image("photos/.hidden.png", variant: 2)
        try scratch.image("photos/.cache/b.png", variant: 3)
        try scratch.image("photos/node_modules/c.png", variant: 4)
        // A PNG signature and nothing else: recognised as an image, fails to decode.
        try Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13]).write(
            to: scratch.url.appendingPathComponent("photos/broken.png"))
        let index = try makeIndex(scratch)
        let embedder = CountingEmbedder()
        var failed: [String] = []
        var s = try index.update(
            roots: [scratch.url.appendingPathComponent("photos")],
            options: IndexOptions(scan: ScanOptions(excludedDirectoryNames: ["node_modules"])),
            embed: { embedder($0) },
            events: { if case .failed(let path, _) = $0 { failed.append(path) } })
        #expect((s.added, s.failed) == (1, 1))
        #expect(failed == [scratch.path("photos/broken.png")])
        // A broken file that did not change is reported again but not decoded again.
        embedder.embedded = []
        s = try run(index, scratch, embedder, scan: ScanOptions(includeHidden: true))
        #expect(embedder.embedded.sorted() == [".hidden.png", "b.png", "c.png"])
        #expect((s.added, s.failed, s.unchanged) == (3, 1, 1))
    }

    @Test func searchRanksByCosineAndScopesToAFolder() throws {
        let scratch = try Scratch()
        for i in 1...6 {
            try scratch.image(i <= 3 ? "photos/a/\(i).png" : "photos/b/\(i).png", variant: i, demo: i % 4)
        }
        let index = try makeIndex(scratch)
        let embedder = CountingEmbedder()
        _ = try run(index, scratch, embedder)
        let query = try embedder([URL(fileURLWithPath: scratch.path("photos/b/5.png"))])[0].get()
        let hits = try index.search(query, top: 3)
        #expect(hits.first?.path == scratch.path("photos/b/5.png"))
        #expect(abs((hits.first?.score ?? 0) - 1) < 1e-5)
        #expect(zip(hits, hits.dropFirst()).allSatisfy { $0.score >= $1.score })
        let scoped = try index.search(query, top: 10, under: scratch.path("photos/a"))
        #expect(scoped.count == 3 && scoped.allSatisfy { $0.path.hasPrefix(scratch.path("photos/a/")) })
        let thresholded = try index.search(query, top: 10, threshold: 0.999)
        #expect(thresholded.map(\.path) == [scratch.path("photos/b/5.png")])
    }

    @Test func immutableReadersWriteNothingAndSeeOnlyMergedBatches() throws {
        let scratch = try Scratch()
        for i in 1...4 { try scratch.image("photos/\(i).png", variant: i, demo: i % 4) }
        let url = scratch.url.appendingPathComponent("db/index.sqlite")
        let folder = url.deletingLastPathComponent().path
        let embedder = CountingEmbedder()
        _ = try run(try makeIndex(scratch), scratch, embedder)  // closed: its log merged into the file
        let query = try embedder([URL(fileURLWithPath: scratch.path("photos/2.png"))])[0].get()
        let expected = try ImageIndex(at: url, create: false).search(query, top: 4)
        try FileManager.default.removeItem(atPath: url.path + "-vectors")  // a reader would rebuild it
        let listing = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        let bytes = try Data(contentsOf: url)

        do {
            let reader = try ImageIndex(at: url, create: false, readMode: .immutable)
            #expect(reader.isImmutable && !reader.unmergedChanges)
            let hits = try reader.search(query, top: 4)
            #expect(hits.map(\.path) == expected.map(\.path) && hits.map(\.score) == expected.map(\.score))
            #expect(try reader.count() == 4 && reader.model()?.name == "test")
            #expect(throws: (any Error).self) { try reader.remove([scratch.path("photos/1.png")]) }
        }
        // Nothing written or created: no -wal, -shm or vector mirror, the same bytes.
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).sorted() == listing, "\(listing)")
        #expect(try Data(contentsOf: url) == bytes)

        // A batch committed to the log of a writer still open is not seen, and is reported.
        let writer = try ImageIndex(at: url)
        try scratch.image("photos/5.png", variant: 5)
        #expect(try run(writer, scratch, embedder).added == 1)
        let reader = try ImageIndex(at: url, create: false, readMode: .immutable)
        #expect(reader.unmergedChanges)
        #expect(try (reader.count(), writer.count()) == (4, 5))
        #expect(try ImageIndex(at: url, create: false).count() == 5)
    }

    @Test func refusesFilesThatAreNotIndexesWithoutTouchingThem() throws {
        let scratch = try Scratch()
        let corrupt = scratch.url.appendingPathComponent("corrupt.sqlite")
        let bytes = Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
        try bytes.write(to: corrupt)
        #expect {
            try ImageIndex(at: corrupt)
        } throws: {
            if case .notADatabase = $0 as? IndexError { true } else { false }
        }
        #expect(try Data(contentsOf: corrupt) == bytes)

        let foreign = scratch.url.appendingPathComponent("foreign.sqlite")
        try DatabaseQueue(path: foreign.path).write { try $0.execute(sql: "CREATE TABLE notes(body TEXT)") }
        let before = try Data(contentsOf: foreign)
        #expect(throws: IndexError.foreignDatabase(path: foreign.path)) { try ImageIndex(at: foreign) }
        #expect(try Data(contentsOf: foreign) == before)

        // A folder is refused by name, for writers and readers, and stays empty (SQLite's
        // answer was "disk I/O error").
        let folder = scratch.url.appendingPathComponent("photos.sqlite")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for create in [true, false] {
            #expect(throws: IndexError.folder(path: folder.path)) { try ImageIndex(at: folder, create: create) }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty)
        #expect(IndexError.folder(path: folder.path).recoverySuggestion?.contains("photos.sqlite/index.sqlite") == true)
    }

    /// A reader opening a database that is not a whole index yet — an empty file, or one that
    /// `clip index` has begun to set up (application id written, migrations not yet) — reports it
    /// empty and writes nothing: setting it up beside the writer made one of the two fail.
    @Test func readersDoNotSetUpAnIndexBeingCreated() throws {
        let scratch = try Scratch()
        let empty = scratch.url.appendingPathComponent("empty.sqlite")
        try Data().write(to: empty)
        #expect(throws: IndexError.empty(path: empty.path)) { try ImageIndex(at: empty, create: false) }
        #expect(try Data(contentsOf: empty).isEmpty)

        let starting = scratch.url.appendingPathComponent("starting.sqlite")
        let queue = try DatabaseQueue(path: starting.path)
        try queue.write { try $0.execute(sql: "PRAGMA application_id = \(IndexSchema.applicationID)") }
        try queue.close()
        let before = try Data(contentsOf: starting)
        #expect(throws: IndexError.empty(path: starting.path)) { try ImageIndex(at: starting, create: false) }
        #expect(try Data(contentsOf: starting) == before)
        // The writer then sets it up, and readers open it.
        let index = try ImageIndex(at: starting)
        #expect(try index.schemaVersion() == IndexSchema.version)
        #expect(try ImageIndex(at: starting, create: false).schemaVersion() == IndexSchema.version)
    }

    @Test func writersOpeningANewIndexTogetherAllSucceed() throws {
        // `clip index` runs started together on a new index each open it as a writer. Set-up (WAL,
        // schema, id) runs once; the others wait for it and find a whole index. Before the set-up
        // lock, most rounds failed one opener with "database is locked".
        let scratch = try Scratch()
        for round in 0..<8 {
            let url = scratch.url.appendingPathComponent("db-\(round)/index.sqlite")
            let failures = Collected()
            let ids = Collected()
            DispatchQueue.concurrentPerform(iterations: 4) { _ in
                do {
                    let index = try ImageIndex(at: url)
                    let id = try index.database.read { db in
                        try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'index_id'")
                    }
                    ids.add(id ?? "none")
                } catch {
                    failures.add("\(error)")
                }
            }
            #expect(failures.all.isEmpty, "round \(round): \(failures.all)")
            #expect(Set(ids.all).count == 1 && ids.all.count == 4, "round \(round): ids \(ids.all)")
        }
    }

    /// Strings appended from concurrent closures.
    final class Collected: @unchecked Sendable {
        private let lock = NSLock()
        private var items: [String] = []
        func add(_ s: String) { lock.withLock { items.append(s) } }
        var all: [String] { lock.withLock { items } }
    }

    @Test func migratesAnOlderSchema() throws {
        let scratch = try Scratch()
        let path = scratch.path("old.sqlite")
        // A version-1 index, as the first release wrote it.
        let queue = try DatabaseQueue(path: path)
        try queue.write { try $0.execute(sql: "PRAGMA application_id = \(IndexSchema.applicationID)") }
        try IndexSchema.migrator.migrate(queue, upTo: "v1")
        try queue.write { db in
            try db.execute(
                sql: """
                    INSERT INTO meta(key, value) VALUES ('model', 'test'), ('dimension', '2'), ('index_id', 'x'),
                        ('generation', '1');
                    INSERT INTO vectors(id, hash, vector) VALUES (1, 'h', x'0000803F00000000');
                    INSERT INTO images(path, size, mtime, vector_id) VALUES ('/p/a.png', 1, 0, 1);
                    """)
        }
        try queue.close()
        let index = try ImageIndex(at: URL(fileURLWithPath: path))
        #expect(try index.schemaVersion() == IndexSchema.version)
        #expect(try index.search([1, 0], top: 1) == [ImageIndex.Hit(path: "/p/a.png", score: 1)])
    }

    @Test func mirrorFollowsTheDatabase() throws {
        let scratch = try Scratch()
        let index = try makeIndex(scratch)
        func unit(_ i: Int) -> [Float] { (0..<Self.width).map { $0 == i ? 1 : 0 } }
        try index.add([ImageIndex.Entry(path: "/x/0.png", size: 1, mtime: 0, hash: "0", vector: unit(0))])
        #expect(try index.search(unit(0), top: 1).first?.path == "/x/0.png")
        #expect(FileManager.default.fileExists(atPath: index.mirrorURL.path))
        try index.add([ImageIndex.Entry(path: "/x/1.png", size: 1, mtime: 0, hash: "1", vector: unit(1))])
        // The mirror of the previous generation is not used: the new vector is found.
        #expect(try index.search(unit(1), top: 1).first?.path == "/x/1.png")
        try index.remove(["/x/1.png"])
        #expect(try index.search(unit(1), top: 2).map(\.path) == ["/x/0.png"])
    }

    @Test func halfPrecisionVectors() throws {
        let scratch = try Scratch()
        let index = try ImageIndex(at: scratch.url.appendingPathComponent("half.sqlite"))
        try index.bind(IndexedModel(name: "test", dimension: 3, vectorType: .float16))
        let v: [Float] = [0.6, 0.48, 0.64]
        try index.add([ImageIndex.Entry(path: "/x/a.png", size: 1, mtime: 0, hash: "a", vector: v)])
        let hit = try #require(try index.search(v, top: 1).first)
        print("float16 storage: score \(hit.score) for an exact match (tolerance 1e-3)")
        #expect(abs(hit.score - 1) < 1e-3)
        #expect(try index.vectors().vectorType == .float16)
    }

    @Test(arguments: [
        ([String: String](), "/home/u/.local/share/swift-clip/index.sqlite"),
        (["CLIP_INDEX": "/data/i.sqlite"], "/data/i.sqlite"),
        (["XDG_DATA_HOME": "/xdg"], "/xdg/swift-clip/index.sqlite"),
        (["CLIP_INDEX": "/data/i.sqlite", "XDG_DATA_HOME": "/xdg"], "/data/i.sqlite"),
    ])
    func defaultLocation(environment: [String: String], expected: String) {
        #expect(
            ImageIndex.defaultURL(environment: environment.merging(["HOME": "/home/u"]) { a, _ in a }).path == expected)
    }
}
