import ArgumentParser
import CLIPServer
import Foundation
import Logging

/// `clip-server` (also run as `clip serve`): the embedding server's command line.
@main
struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clip serve",
        abstract: "Serve CLIP embeddings over HTTP (OpenAI /v1/embeddings, TEI /embed, /rank, /classify).",
        discussion: """
            Requests from all clients are queued and run on one model in batches of up to --max-batch \
            items, each batch waiting at most --max-wait-ms to fill. Limits answer JSON errors \
            {"error": {"message", "type", "code"}}: 413 body too large, 422 malformed or too many \
            inputs, 429 (Retry-After) when --max-concurrent requests are already waiting, 400 an \
            undecodable image. SIGTERM or SIGINT stops accepting, answers what is in flight and exits 0.

            Examples:
              clip serve --model ViT-B/32
              clip serve --model Sources/clip/Resources/demo/model.safetensors --port 8081
              clip serve --runs runs          # training reports of runs/*, at http://127.0.0.1:8080/runs/
              curl -s localhost:8080/v1/embeddings -H 'content-type: application/json' \\
                -d '{"input": ["a photo of a cat"], "model": "clip"}'
            """)

    @Option(help: ArgumentHelp("A checkpoint path or a model name (`clip models`).", valueName: "path-or-name"))
    var model: String?

    @Option(help: ArgumentHelp("Serve live reports of the training runs in this folder at /runs/.", valueName: "dir"))
    var runs: String?

    @Option(help: "The address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "The TCP port (0: any free port).")
    var port = 8080

    @Option(help: "Items per forward pass.")
    var maxBatch = 32

    @Option(help: "Milliseconds a batch waits to fill.")
    var maxWaitMs = 5.0

    @Option(help: "Inputs per request (more answer 422).")
    var maxClientBatch = 64

    @Option(help: "Largest request body in MiB (larger answer 413).")
    var maxPayloadMb = 16.0

    @Option(help: "Requests waiting for the model at once (more answer 429).")
    var maxConcurrent = 512

    @Option(help: "Seconds to finish in-flight requests after SIGTERM/SIGINT.")
    var shutdownTimeout = 30.0

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    func validate() throws {
        guard model != nil || runs != nil else {
            throw ValidationError("give --model (embeddings) or --runs DIR (reports)")
        }
        if let runs {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: runs, isDirectory: &isFolder), isFolder.boolValue else {
                throw ValidationError("--runs: \(runs) is not a folder")
            }
        }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0...65535") }
        guard maxBatch >= 1, maxClientBatch >= 1, maxConcurrent >= 1 else {
            throw ValidationError("--max-batch, --max-client-batch and --max-concurrent must be at least 1")
        }
        guard maxWaitMs >= 0, maxPayloadMb > 0, shutdownTimeout >= 0 else {
            throw ValidationError("--max-wait-ms and --shutdown-timeout must be ≥ 0, --max-payload-mb > 0")
        }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level \(logLevel)") }
    }

    func run() async throws {
        var options = ServerOptions(model: model ?? "")
        options.runs = runs
        options.host = host
        options.port = port
        options.maxBatch = maxBatch
        options.maxWait = .microseconds(Int64(maxWaitMs * 1000))
        options.maxClientBatch = maxClientBatch
        options.maxPayloadBytes = Int(maxPayloadMb * 1_048_576)
        options.maxConcurrent = maxConcurrent
        options.shutdownTimeout = .milliseconds(Int64(shutdownTimeout * 1000))
        var logger = Logger(label: "clip-server")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        let app = buildApplication(options, logger: logger) { port in
            // One line on stdout that scripts and tests wait for.
            FileHandle.standardOutput.write(Data("clip-server: listening on http://\(host):\(port)\n".utf8))
        }
        do {
            try await runServer(app, options: options, logger: logger)
        } catch {
            FileHandle.standardError.write(
                Data("error: \((error as? LocalizedError)?.errorDescription ?? "\(error)")\n".utf8))
            throw ExitCode(66)
        }
    }
}
