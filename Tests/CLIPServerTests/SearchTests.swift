import CLIPIndex
import Foundation
import Testing

@testable import CLIPServer

// `POST /search` over real HTTP against an index that `clip index` (the clip-index binary) built
// from the demo images with the demo model: results equal `clip search --json` (same paths in the
// same order, scores within 1e-6), and every error answers its status and code.

/// An index of the four demo images under `root/photos`, written by `clip index`.
struct DemoIndex {
    let root: URL
    var photos: URL { root.appendingPathComponent("photos") }
    var db: String { root.appendingPathComponent("i.sqlite").path }
    var paths: [String] { (0..<4).map { photos.appendingPathComponent(String(format: "%04d.png", $0)).path } }

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("clip-serve-search-\(UUID().uuidString)")
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent("photos"), withIntermediateDirectories: true)
        for (i, image) in Repository.demoImages.enumerated() {
            try FileManager.default.copyItem(
                at: image, to: photos.appendingPathComponent(String(format: "%04d.png", i)))
        }
        let run = try runToolCapturing(
            "clip-index", ["index", photos.path, "--model", Repository.demoModel, "--db", db])
        guard run.status == 0 else { throw CocoaError(.fileWriteUnknown, userInfo: ["stderr": run.stderr]) }
    }

    func remove() { try? FileManager.default.removeItem(at: root) }

    /// `clip search ARGS --db DB --json`: (path, score) per line, best first.
    func clipSearch(_ arguments: [String]) throws -> [(path: String, score: Double)] {
        let run = try runToolCapturing("clip-index", ["search"] + arguments + ["--db", db, "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        return run.stdout.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let path = object["path"] as? String, let score = (object["score"] as? NSNumber)?.doubleValue
            else { return nil }
            return (path, score)
        }
    }
}

/// The `data` of a /search answer.
func hits(_ result: HTTPResult) -> [(path: String, score: Double)] {
    let data = ((result.json as? [String: Any])?["data"] as? [[String: Any]]) ?? []
    return data.compactMap { item in
        guard let path = item["path"] as? String, let score = (item["score"] as? NSNumber)?.doubleValue else {
            return nil
        }
        return (path, score)
    }
}

@Suite("clip serve /search", .serialized)
struct SearchTests {
    static let query = "three small orange crosses on the left"

    func withIndexServer(_ body: @Sendable (ServerClient, DemoIndex) async throws -> Void) async throws {
        let index = try DemoIndex()
        defer { index.remove() }
        let service = try IndexService.open(path: index.db, model: nil)
        #expect(service.modelName == Repository.demoModel)
        let options = ServerOptions.testing {
            $0.model = service.modelName
            $0.index = index.db
        }
        try await withServer(options, index: service) { client in try await body(client, index) }
    }

    /// Same paths in the same order, scores within 1e-6; prints the max difference.
    static func expectSame(
        _ server: [(path: String, score: Double)], _ cli: [(path: String, score: Double)], _ what: String
    ) {
        let difference = zip(server, cli).map { abs($0.score - $1.score) }.max() ?? 0
        print("search \(what): max |server − clip search| = \(difference) (tolerance 1e-6)")
        #expect(server.map(\.path) == cli.map(\.path), "\(what)")
        #expect(!server.isEmpty && difference <= 1e-6, "\(what)")
        #expect(server.map(\.score) == server.map(\.score).sorted(by: >), "\(what): best first")
    }

    @Test func resultsEqualClipSearch() async throws {
        try await withIndexServer { client, index in
            let png = try Data(contentsOf: URL(fileURLWithPath: index.paths[2])).base64EncodedString()
            // A text.
            var result = try await client.post("/search", json: ["query": Self.query, "top": 4])
            #expect(result.status == 200, "\(result.text)")
            let object = result.json as? [String: Any]
            #expect(object?["object"] as? String == "list")
            #expect(object?["model"] as? String == Repository.demoModel)
            Self.expectSame(hits(result), try index.clipSearch([Self.query, "--top", "4"]), "text")
            // An image, as base64 and as a data: URL; the same image finds itself first.
            result = try await client.post("/search", json: ["image": png])
            Self.expectSame(hits(result), try index.clipSearch(["--image", index.paths[2]]), "image")
            #expect(hits(result).first?.path == index.paths[2])
            result = try await client.post("/search", json: ["image": "data:image/png;base64,\(png)", "top": 2])
            Self.expectSame(hits(result), try index.clipSearch(["--image", index.paths[2], "--top", "2"]), "data URL")
            // A text and an image, added as unit vectors.
            result = try await client.post("/search", json: ["query": Self.query, "image": png])
            Self.expectSame(
                hits(result), try index.clipSearch([Self.query, "--image", index.paths[2]]), "text + image")
            // `like` uses the stored vector: the same as the image's own embedding.
            result = try await client.post("/search", json: ["query": Self.query, "like": index.paths[2]])
            Self.expectSame(hits(result), try index.clipSearch([Self.query, "--image", index.paths[2]]), "text + like")
            result = try await client.post("/search", json: ["like": index.paths[1], "top": 1])
            #expect(hits(result).map(\.path) == [index.paths[1]])
            #expect(abs((hits(result).first?.score ?? 0) - 1) <= 1e-6)
            // threshold and folder, as --threshold and --under.
            let all = try index.clipSearch([Self.query])
            // Between the second and third score, so rounding cannot move a result across it.
            let threshold = (all[1].score + all[2].score) / 2
            result = try await client.post("/search", json: ["query": Self.query, "threshold": threshold])
            Self.expectSame(
                hits(result), try index.clipSearch([Self.query, "--threshold", "\(threshold)"]), "threshold")
            #expect(hits(result).count == 2)
            result = try await client.post("/search", json: ["query": Self.query, "folder": index.photos.path + "/"])
            Self.expectSame(hits(result), all, "folder")
            result = try await client.post("/search", json: ["query": Self.query, "folder": "/nowhere/else"])
            #expect(result.status == 200 && hits(result).isEmpty, "\(result.text)")
            // /info names the index; contains(path:) tells indexed paths.
            let info = try await client.get("/info").json as? [String: Any]
            let served = info?["index"] as? [String: Any]
            #expect(served?["path"] as? String == index.db)
            #expect(served?["images"] as? Int == 4)
        }
    }

    @Test func everySearchErrorHasItsStatusAndCode() async throws {
        try await withIndexServer { client, index in
            let notAnImage = Data("not an image".utf8).base64EncodedString()
            let cases: [(String, [String: Any], Int, String)] = [
                ("no terms", ["top": 3], 422, "invalid_request"),
                ("empty query", ["query": " "], 422, "invalid_request"),
                ("top 0", ["query": "a", "top": 0], 422, "invalid_request"),
                ("top 1001", ["query": "a", "top": 1001], 422, "invalid_request"),
                ("relative folder", ["query": "a", "folder": "photos"], 422, "invalid_request"),
                ("wrong type", ["query": 3], 422, "invalid_json"),
                ("undecodable image", ["image": notAnImage], 400, "invalid_image"),
                ("not base64", ["image": "%%%"], 400, "invalid_image"),
                (
                    "like not indexed", ["like": index.photos.appendingPathComponent("none.png").path], 404,
                    "not_in_index"
                ),
            ]
            for (name, body, status, code) in cases {
                let result = try await client.post("/search", json: body)
                #expect(result.status == status, "\(name): \(result.text)")
                #expect(result.errorCode == code, "\(name): \(result.text)")
            }
            let malformed = try await client.post("/search", raw: "{\"query\": ")
            #expect(malformed.status == 422 && malformed.errorCode == "invalid_json")
        }
    }

    @Test func indexServiceOpensChecksTheModelAndTellsIndexedPaths() throws {
        let index = try DemoIndex()
        defer { index.remove() }
        let service = try IndexService.open(path: index.db, model: Repository.demoModel)
        #expect(try service.contains(path: index.paths[0]))
        #expect(try !service.contains(path: index.photos.path))
        #expect(throws: ServerStartupError.self) { try IndexService.open(path: index.db, model: "ViT-B/32") }
        #expect(throws: ServerStartupError.self) {
            try IndexService.open(path: index.root.appendingPathComponent("none.sqlite").path, model: nil)
        }
    }
}
