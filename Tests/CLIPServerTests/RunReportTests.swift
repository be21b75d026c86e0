import Foundation
import Testing

@testable import CLIPServer

#if canImport(Glibc)
    import Glibc
#endif

/// `clip serve --runs DIR` over real HTTP: the run list, live reports, and every way out of DIR
/// refused (`..`, percent-encoded dots and slashes, symbolic links to and inside runs).
@Suite("clip serve --runs", .serialized)
struct RunReportTests {
    /// base/runs/{a, sneaky, link → ../secret}; base/secret is a run whose files must never be served.
    static func makeRuns() throws -> (base: URL, runs: URL) {
        let fm = FileManager.default
        let base = fm.temporaryDirectory.appendingPathComponent("clip-runs-\(UUID().uuidString)")
        let runs = base.appendingPathComponent("runs"), secret = base.appendingPathComponent("secret")
        func run(_ folder: URL, model: String) throws {
            let checkpoint = folder.appendingPathComponent("checkpoints/step-00000004")
            try fm.createDirectory(at: checkpoint, withIntermediateDirectories: true)
            var log = ""
            for step in 1...4 {
                log +=
                    "{\"grad_norm\":0.5,\"logit_scale\":2.66,\"loss\":\(3.0 - Double(step) / 4),\"lr\":0.001,\"samples_per_second\":100,\"skipped_samples\":0,\"step\":\(step),\"step_skipped\":false,\"time\":1764705600}\n"
            }
            log +=
                "{\"step\":4,\"time\":1764705601,\"validation\":{\"image_to_text_R@1\":0.5,\"text_to_image_R@1\":0.25}}\n"
            try Data(log.utf8).write(to: folder.appendingPathComponent("log.jsonl"))
            let state =
                "{\"format\":2,\"step\":4,\"run\":{\"model\":\"\(model)\",\"options\":{\"steps\":8,\"batchSize\":4}}}"
            try Data(state.utf8).write(to: checkpoint.appendingPathComponent("trainer.json"))
        }
        try run(runs.appendingPathComponent("a"), model: "model of run a")
        try run(secret, model: "SECRET-MODEL")
        try fm.createSymbolicLink(at: runs.appendingPathComponent("link"), withDestinationURL: secret)
        // A run inside whose files are links to the secret run's.
        let sneaky = runs.appendingPathComponent("sneaky")
        try fm.createDirectory(at: sneaky.appendingPathComponent("checkpoints"), withIntermediateDirectories: true)
        try fm.createSymbolicLink(
            at: sneaky.appendingPathComponent("log.jsonl"),
            withDestinationURL: secret.appendingPathComponent("log.jsonl"))
        try fm.createSymbolicLink(
            at: sneaky.appendingPathComponent("checkpoints/step-00000004"),
            withDestinationURL: secret.appendingPathComponent("checkpoints/step-00000004"))
        return (base, runs)
    }

    static func options(_ runs: URL, model: String = "") -> ServerOptions {
        var options = ServerOptions(model: model)
        options.host = "127.0.0.1"
        options.port = 0
        options.runs = runs.path
        return options
    }

    @Test func listsRunsAndRendersReportsWithoutAModel() async throws {
        let (base, runs) = try Self.makeRuns()
        defer { try? FileManager.default.removeItem(at: base) }
        try await withServer(Self.options(runs), loadModel: false) { client in
            for path in ["/runs/", "/runs"] {
                let list = try await client.get(path)
                #expect(list.status == 200 && list.header("Content-Type")?.hasPrefix("text/html") == true)
                #expect(list.text.contains("href=\"/runs/a/\"") && list.text.contains("href=\"/runs/sneaky/\""))
                #expect(!list.text.contains("/runs/link/") && !list.text.contains("SECRET"), "\(list.text)")
            }
            for path in ["/runs/a/", "/runs/a"] {
                let page = try await client.get(path)
                #expect(page.status == 200, "\(path)")
                // Five training metrics and two validation metrics have data: seven curves.
                #expect(page.text.components(separatedBy: "<path").count - 1 == 7, "\(path)")
                #expect(page.text.contains("model of run a") && page.text.contains("step 4 of 8"))
                // In progress (4 of 8): the page reloads itself.
                #expect(page.text.contains("http-equiv=\"refresh\""))
                #expect(page.header("Cache-Control") == "no-store")
            }
            // No model: nothing to load, so the server is ready; the embedding side says there is no model.
            let health = try await client.get("/health")
            #expect(health.status == 200 && health.text.contains("\"ok\""), "\(health.text)")
            let embed = try await client.post("/embed", json: ["inputs": "a cat"])
            #expect(embed.status == 503, "\(embed.text)")
            // /info answers all the same: what the server serves, the model's fields null.
            let info = try await client.get("/info")
            #expect(info.status == 200, "\(info.text)")
            let object = try #require(info.json as? [String: Any], "\(info.text)")
            #expect(object["serves"] as? [String] == ["training_reports"], "\(info.text)")
            #expect(object["runs"] as? String == runs.path)
            for key in ["model", "architecture", "dimensions", "image_size", "parameters", "limits", "index"] {
                #expect(object.keys.contains(key) && object[key] is NSNull, "\(key): \(info.text)")
            }
            let endpoints = object["endpoints"] as? [String] ?? []
            #expect(endpoints.contains("GET /runs/") && !endpoints.contains("POST /v1/embeddings"), "\(info.text)")
        }
    }

    /// Beside a model, /info names the runs folder and lists the report routes too.
    @Test func infoNamesTheRunsBesideAModel() async throws {
        let (base, runs) = try Self.makeRuns()
        defer { try? FileManager.default.removeItem(at: base) }
        try await withServer(Self.options(runs, model: Repository.demoModel)) { client in
            let info = try await client.get("/info")
            let object = try #require(info.json as? [String: Any], "\(info.text)")
            #expect(object["serves"] as? [String] == ["embeddings", "training_reports"], "\(info.text)")
            #expect(object["runs"] as? String == runs.path && object["dimensions"] as? Int == 64)
            let endpoints = object["endpoints"] as? [String] ?? []
            #expect(endpoints.contains("GET /runs/") && endpoints.contains("POST /v1/embeddings"), "\(info.text)")
        }
    }

    @Test(arguments: [
        "/runs/../secret/", "/runs/%2e%2e/", "/runs/%2E%2E/secret/", "/runs/%2e%2e%2fsecret/", "/runs/..%2fsecret",
        "/runs/%252e%252e%252fsecret/", "/runs/link/", "/runs/a%2f..%2f..%2fsecret/", "/runs/a%00/", "/runs/.%2e/",
        "/runs/%2fetc/", "/runs/..%5csecret/", "/runs/missing/", "/runs/a/log.jsonl", "/runs/a/../../secret/",
    ])
    func traversalIsRefused(_ path: String) async throws {
        let (base, runs) = try Self.makeRuns()
        defer { try? FileManager.default.removeItem(at: base) }
        try await withServer(Self.options(runs), loadModel: false) { client in
            // Sent byte for byte: URLSession would normalise the dots away.
            let (status, body) = try RawHTTP.get(path, port: client.port)
            #expect(status == 404, "\(path): \(status)")
            #expect(!body.contains("SECRET"), "\(path) served the secret run: \(body)")
        }
    }

    /// A live run: each request shows the lines logged since (parsed incrementally), a line
    /// still being written waits for its newline, and a log cut back by a resume is read anew.
    @Test func liveReportFollowsTheGrowingLog() async throws {
        let (base, runs) = try Self.makeRuns()
        defer { try? FileManager.default.removeItem(at: base) }
        let log = runs.appendingPathComponent("a/log.jsonl")
        @Sendable func line(_ step: Int) -> String {
            "{\"loss\":\(Double(step) / 10),\"lr\":0.001,\"step\":\(step),\"time\":1764705600}"
        }
        @Sendable func append(_ text: String) throws {
            let handle = try FileHandle(forWritingTo: log)
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(text.utf8))
            try handle.close()
        }
        try await withServer(Self.options(runs), loadModel: false) { client in
            func status() async throws -> String {
                let text = try await client.get("/runs/a/").text
                guard let start = text.range(of: "<p class=\"status\">"),
                    let end = text.range(of: "</p>", range: start.upperBound..<text.endIndex)
                else { return text }
                return String(text[start.upperBound..<end.lowerBound])
            }
            #expect(try await status() == "in progress or stopped: step 4 of 8 · loss 2")
            try append(line(5) + "\n")
            #expect(try await status() == "in progress or stopped: step 5 of 8 · loss 0.5")
            try append(String(line(6).prefix(12)))  // the trainer is writing step 6
            #expect(try await status() == "in progress or stopped: step 5 of 8 · loss 0.5")
            try append(String(line(6).dropFirst(12)) + "\n")
            #expect(try await status() == "in progress or stopped: step 6 of 8 · loss 0.6")
            // Resumed from step 2: the log is replaced by its first two lines.
            let kept = try String(contentsOf: log, encoding: .utf8).split(separator: "\n").prefix(2)
            try Data((kept.joined(separator: "\n") + "\n").utf8).write(to: log, options: .atomic)
            #expect(try await status() == "in progress or stopped: step 2 of 8 · loss 2.5")
        }
    }

    /// A run folder whose files are links out of DIR renders without them (no lines, no settings).
    @Test func linksInsideARunAreNotFollowedOut() async throws {
        let (base, runs) = try Self.makeRuns()
        defer { try? FileManager.default.removeItem(at: base) }
        try await withServer(Self.options(runs), loadModel: false) { client in
            let (status, body) = try RawHTTP.get("/runs/sneaky/", port: client.port)
            #expect(status == 200)
            #expect(!body.contains("SECRET") && body.contains("No steps logged yet."), "\(body)")
            #expect(body.components(separatedBy: "<path").count == 1)
        }
    }

    /// `clip serve --runs DIR` with no --model, as a real process: it starts, lists, stops on SIGTERM.
    @Test func clipServeRunsAloneAsAProcess() async throws {
        let (base, runs) = try Self.makeRuns()
        defer { try? FileManager.default.removeItem(at: base) }
        let process = Process()
        process.executableURL = Repository.products.appendingPathComponent("clip")
        process.arguments = ["serve", "--runs", runs.path, "--port", "0", "--log-level", "warning"]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        var line = ""
        while !line.contains("\n") {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line += String(decoding: chunk, as: UTF8.self)
        }
        let port = try #require(
            line.split(separator: ":").last.flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) },
            "\(line)")
        let list = try await ServerClient(port: port).get("/runs/")
        #expect(list.status == 200 && list.text.contains("href=\"/runs/a/\""))
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
    }
}

/// HTTP/1.1 over a plain socket, the request line exactly as given.
enum RawHTTP {
    static func get(_ path: String, port: Int) throws -> (status: Int, body: String) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
        let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
        guard send(fd, request, request.count, 0) == request.count else { throw POSIXError(.EIO) }
        var response = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            response += buffer[0..<n]
        }
        let text = String(decoding: response, as: UTF8.self)
        let status = text.split(separator: " ", maxSplits: 2).dropFirst().first.flatMap { Int($0) } ?? 0
        let body = text.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n")
        return (status, body)
    }
}
