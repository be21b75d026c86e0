import Foundation
import Testing

@testable import CLIPServer

// Every limit answers its status code with a JSON error {"error": {"message", "type", "code"}}.

@Suite("clip serve limits and errors", .serialized)
struct LimitTests {
    struct Case: Sendable, CustomStringConvertible {
        var name: String
        var path: String
        var body: String
        var status: Int
        var code: String
        /// Text the message must contain (an index, a limit).
        var mentions: String = ""
        var description: String { name }
    }

    static let long = Array(repeating: "word", count: 120).joined(separator: " ")
    static let notAnImage = Data("this is not an image".utf8).base64EncodedString()
    static let png = (try? Data(contentsOf: Repository.demoImages[0]).base64EncodedString()) ?? ""

    static let cases: [Case] = [
        Case(name: "malformed JSON", path: "/v1/embeddings", body: "{\"input\": [", status: 422, code: "invalid_json"),
        Case(
            name: "missing field", path: "/v1/embeddings", body: "{\"model\": \"m\"}", status: 422,
            code: "invalid_json",
            mentions: "input"),
        Case(
            name: "wrong type", path: "/embed", body: "{\"inputs\": 3}", status: 422, code: "invalid_json",
            mentions: "inputs"),
        Case(
            name: "too many inputs", path: "/v1/embeddings",
            body: "{\"input\": [" + Array(repeating: "\"a\"", count: 65).joined(separator: ",") + "]}", status: 422,
            code: "too_many_inputs", mentions: "64"),
        Case(name: "no inputs", path: "/v1/embeddings", body: "{\"input\": []}", status: 422, code: "empty_input"),
        Case(
            name: "unknown encoding", path: "/v1/embeddings", body: "{\"input\": \"a\", \"encoding_format\": \"hex\"}",
            status: 422, code: "invalid_request"),
        Case(
            name: "dimensions out of range", path: "/v1/embeddings", body: "{\"input\": \"a\", \"dimensions\": 100000}",
            status: 422, code: "invalid_request"),
        Case(
            name: "too long, truncate false", path: "/v1/embeddings",
            body: "{\"input\": [\"a\", \"\(long)\"], \"truncate\": false}", status: 422, code: "input_too_long",
            mentions: "input 1"),
        Case(
            name: "too long, TEI truncate false", path: "/embed",
            body: "{\"inputs\": \"\(long)\", \"truncate\": false}",
            status: 422, code: "input_too_long", mentions: "input 0"),
        Case(
            name: "undecodable image", path: "/v1/embeddings",
            body: "{\"input\": [\"\(png)\", \"\(notAnImage)\"], \"modality\": \"image\"}", status: 400,
            code: "invalid_image", mentions: "input 1"),
        Case(
            name: "not base64", path: "/v1/embeddings", body: "{\"input\": [\"%%%\"], \"modality\": \"image\"}",
            status: 400, code: "invalid_image", mentions: "input 0"),
        Case(
            name: "URL not fetched", path: "/v1/embeddings",
            body: "{\"input\": [\"https://example.com/cat.jpg\"], \"modality\": \"image\"}", status: 400,
            code: "invalid_image"),
        Case(
            name: "unknown modality", path: "/v1/embeddings", body: "{\"input\": \"a\", \"modality\": \"audio\"}",
            status: 422, code: "invalid_request"),
        Case(name: "unknown path", path: "/v2/nothing", body: "{}", status: 404, code: "not_found"),
        Case(
            name: "rank without query", path: "/rank", body: "{\"texts\": [\"a\"]}", status: 422,
            code: "invalid_request"),
    ]

    @Test func everyErrorHasItsStatusAndShape() async throws {
        try await withServer { client in
            for c in Self.cases {
                let result = try await client.post(c.path, raw: c.body)
                #expect(result.status == c.status, "\(c.name): \(result.text)")
                #expect(result.errorCode == c.code, "\(c.name): \(result.text)")
                let error = (result.json as? [String: Any])?["error"] as? [String: Any]
                #expect(error?["type"] is String, "\(c.name)")
                if !c.mentions.isEmpty {
                    #expect((result.errorMessage ?? "").contains(c.mentions), "\(c.name): \(result.text)")
                }
            }
            // A text over 77 tokens is truncated by default.
            #expect(try await client.post("/v1/embeddings", json: ["input": [Self.long]]).status == 200)
        }
    }

    @Test func bodyOverTheLimitIs413() async throws {
        let options = ServerOptions.testing { $0.maxPayloadBytes = 1024 }
        try await withServer(options) { client in
            let big = try await client.post("/v1/embeddings", json: ["input": [String(repeating: "a ", count: 2000)]])
            #expect(big.status == 413)
            #expect(big.errorCode == "payload_too_large")
            #expect(try await client.post("/v1/embeddings", json: ["input": ["a"]]).status == 200)
        }
    }

    @Test func fullQueueIs429WithRetryAfter() async throws {
        // One request may wait, and the first waits 30 s for its batch to fill, so the second
        // finds the queue full unless this test's own tasks are held back longer than that:
        // windows of 3 s and then 10 s each failed once in CI, when CPU-bound tests held the
        // 2-thread cooperative pool and the second request went out after the first had been
        // answered. (The test takes the whole window: the server answers the first at its end.)
        let options = ServerOptions.testing {
            $0.maxConcurrent = 1
            $0.maxWait = .seconds(30)
        }
        try await withServer(options) { client in
            async let first = client.post("/v1/embeddings", json: ["input": ["a red circle"]])
            // Until the first request waits in the queue (a loaded machine may take a while).
            var queued = false
            let deadline = ContinuousClock.now + .seconds(30)
            while !queued && ContinuousClock.now < deadline {
                let metrics = try await client.get("/metrics").text
                let line = metrics.split(separator: "\n").first { $0.hasPrefix("clip_queue_items ") }
                queued = (line?.split(separator: " ").last.flatMap { Double($0) } ?? 0) >= 1
                if !queued { try await Task.sleep(for: .milliseconds(20)) }
            }
            let second = try await client.post("/v1/embeddings", json: ["input": ["a green square"]])
            #expect(queued, "the first request never showed up in clip_queue_items")
            #expect(second.status == 429)
            #expect(second.errorCode == "queue_full")
            #expect(second.header("Retry-After") == "1")
            #expect(try await first.status == 200)
        }
    }
}
