import Foundation
import Testing

@testable import CLIPServer

#if canImport(Glibc)
    import Glibc
#endif

@Suite("clip serve under load and shutdown", .serialized)
struct LoadAndShutdownTests {
    /// 64 clients at once on loopback, bounded by a request count and a time limit: no errors, and
    /// every answer equals the answer to the same input sent alone, bit for bit, whatever batch it
    /// ran in (the towers' products are batch-invariant: `Parallel.batchInvariant`).
    @Test func sixtyFourConcurrentClientsGetTheSingleRequestAnswer() async throws {
        let pool = (0..<16).map {
            "\(["one", "two", "three"][$0 % 3]) \(["red", "green", "blue", "yellow"][$0 % 4]) shape \($0)"
        }
        let clients = 64, requestsPerClient = 6
        let timeLimit = Duration.seconds(120)
        try await withServer(.testing { $0.maxBatch = 32 }) { client in
            var alone: [[Float]] = []
            for text in pool {
                alone += embeddingRows(try await client.post("/v1/embeddings", json: ["input": [text]]))
            }
            let single = alone
            let started = ContinuousClock.now
            let tolerance: Float = 0
            let outcomes = try await withThrowingTaskGroup(
                of: (errors: Int, mismatches: Int, done: Int, difference: Float).self
            ) { group in
                for c in 0..<clients {
                    group.addTask {
                        var errors = 0, mismatches = 0, done = 0
                        var largest: Float = 0
                        for r in 0..<requestsPerClient where ContinuousClock.now - started < timeLimit {
                            // Two inputs per request, so requests also split across batches.
                            let i = (c * 7 + r) % pool.count, j = (c + r * 5) % pool.count
                            let result = try await client.post(
                                "/v1/embeddings",
                                json: [
                                    "input": [pool[i], pool[j]], "encoding_format": r % 2 == 0 ? "float" : "base64",
                                ])
                            done += 1
                            if result.status != 200 {
                                errors += 1
                            } else {
                                let rows = embeddingRows(result)
                                let expected = [single[i], single[j]]
                                let difference =
                                    rows.count == 2
                                    ? zip(rows, expected).flatMap { zip($0, $1).map { abs($0 - $1) } }.max() ?? 0
                                    : .infinity
                                largest = max(largest, difference)
                                if difference > tolerance || rows.map(\.count) != expected.map(\.count) {
                                    mismatches += 1
                                }
                            }
                        }
                        return (errors, mismatches, done, largest)
                    }
                }
                return try await group.reduce(into: (errors: 0, mismatches: 0, done: 0, difference: Float(0))) {
                    $0.errors += $1.errors
                    $0.mismatches += $1.mismatches
                    $0.done += $1.done
                    $0.difference = max($0.difference, $1.difference)
                }
            }
            let elapsed = ContinuousClock.now - started
            print(
                "load: \(outcomes.done) requests from \(clients) clients in \(elapsed): \(outcomes.errors) errors, \(outcomes.mismatches) answers differing from the single-request answer by more than \(tolerance); max difference \(outcomes.difference)"
            )
            #expect(outcomes.errors == 0)
            #expect(outcomes.mismatches == 0)
            #expect(outcomes.done >= clients)
        }
    }

    /// SIGTERM while a request waits in the batcher: the answer is delivered, then `clip-server`
    /// exits 0 within its shutdown timeout. With a 60 s batch window the answer still comes at
    /// once: shutdown stops the batcher waiting for batches to fill (it used to sit out the window).
    @Test(arguments: [1500, 60000])
    func sigtermDuringARequestAnswersItThenExitsZero(maxWaitMs: Int) async throws {
        let process = Process()
        process.executableURL = Repository.products.appendingPathComponent("clip-server")
        process.arguments = [
            "--model", Repository.demoModel, "--port", "0", "--max-wait-ms", "\(maxWaitMs)", "--shutdown-timeout",
            "20", "--log-level", "warning",
        ]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        // The first stdout line names the port.
        var line = ""
        while !line.contains("\n") {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line += String(decoding: chunk, as: UTF8.self)
        }
        let port = try #require(
            line.split(separator: ":").last.flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) })
        let client = ServerClient(port: port)
        try await client.waitUntilHealthy()
        async let answer = client.post("/v1/embeddings", json: ["input": ["one small red circle"]])
        try await Task.sleep(for: .milliseconds(400))  // the request now waits for its batch to fill
        let signalled = ContinuousClock.now
        kill(process.processIdentifier, SIGTERM)
        let result = try await answer
        let answeredAfter = ContinuousClock.now - signalled
        #expect(answeredAfter < .seconds(10), "answered \(answeredAfter) after SIGTERM")
        #expect(result.status == 200)
        #expect(embeddingRows(result).count == 1)
        while process.isRunning && ContinuousClock.now - signalled < .seconds(20) {
            try await Task.sleep(for: .milliseconds(20))
        }
        print(
            "sigterm: exited \(process.isRunning ? "not yet" : "\(process.terminationStatus)") after \(ContinuousClock.now - signalled)"
        )
        #expect(!process.isRunning)
        #expect(process.terminationStatus == 0)
        // Nothing listens any more.
        await #expect(throws: (any Error).self) { _ = try await client.get("/health") }
    }
}

@Suite("clip serve runs clip-server")
struct ServeCommandTests {
    /// `clip serve ARGS` replaces itself with the `clip-server` next to it: clip-server's own
    /// argument check answers (exit 64, naming its required --model).
    @Test func clipServeExecsClipServer() throws {
        let process = Process()
        process.executableURL = Repository.products.appendingPathComponent("clip")
        process.arguments = ["serve", "--port", "0"]
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 64)
        #expect(stderr.contains("--model"), "\(stderr)")
        #expect(stderr.contains("clip serve"), "\(stderr)")
    }
}
