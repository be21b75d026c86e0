import CLIPTestSupport
import Foundation
import Testing

@testable import CLIPServer

// `clip-server` startup failures: each reason its own exit status (ServerStartupError) and an
// `error:` line that says what to change. Runs the built binary.

@Suite("clip-server exit statuses", .serialized)
struct StartupTests {
    @Test func eachStartupFailureHasItsExitStatus() async throws {
        let index = try DemoIndex()
        defer { index.remove() }
        let missing = index.root.appendingPathComponent("none")
        let cases: [(String, [String], Int32, String)] = [
            ("neither --model nor --index", ["--port", "0"], 64, "--index"),
            ("bad port", ["--model", Repository.demoModel, "--port", "70000"], 64, "--port"),
            (
                "negative thumbnail cache", ["--index", index.db, "--thumbnail-cache-mb=-1", "--port", "0"], 64,
                "--thumbnail-cache-mb"
            ),
            (
                "unreadable model", ["--model", missing.path + ".safetensors", "--port", "0"], 66,
                "cannot load the model"
            ),
            ("missing index", ["--index", missing.path + ".sqlite", "--port", "0"], 66, "cannot serve the index"),
            ("not an index", ["--index", Repository.demoModel, "--port", "0"], 66, "cannot serve the index"),
            ("model mismatch", ["--index", index.db, "--model", "ViT-B/32", "--port", "0"], 66, "Leave out --model"),
        ]
        for (name, arguments, status, mentions) in cases {
            let run = try runToolCapturing("clip-server", arguments + ["--log-level", "critical"])
            #expect(run.status == status, "\(name): \(run.stderr)")
            #expect(run.stderr.contains(mentions), "\(name): \(run.stderr)")
        }
        // A port another server listens on.
        try await withServer { client in
            let run = try runToolCapturing(
                "clip-server", ["--model", Repository.demoModel, "--port", "\(client.port)", "--log-level", "critical"])
            #expect(run.status == 69, "port in use: \(run.stderr)")
            #expect(run.stderr.contains("cannot listen on 127.0.0.1:\(client.port)"), "\(run.stderr)")
        }
    }

    /// With stderr a pipe whose reader has gone, a failure still ends with its exit status
    /// (before, SIGPIPE killed the server as it printed the error, or the write trapped where
    /// SIGPIPE was ignored). The child starts with every signal at its default action.
    @Test func aClosedStandardErrorKeepsTheExitStatus() throws {
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("none-\(UUID().uuidString).sqlite")
        let cases: [(String, [String], Int32)] = [
            ("clip-server", ["--model", Repository.demoModel, "--port", "70000"], 64),
            ("clip-server", ["--index", missing.path, "--port", "0"], 66),
            ("clip", ["serve", "--index", missing.path, "--port", "0"], 66),
        ]
        for (tool, arguments, status) in cases {
            let stderr = ChildProcess.brokenPipe()
            defer { close(stderr) }
            let program = Repository.products.appendingPathComponent(tool).path
            let ending = try ChildProcess.run(program, arguments, stderr: stderr)
            #expect(ending == .exited(status), "\(tool) \(arguments): \(ending)")
        }
    }
}
