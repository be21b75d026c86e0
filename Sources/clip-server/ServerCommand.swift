import ArgumentParser
import CLIPOutput
import CLIPServer
import Foundation
import Logging

/// `clip-server` (also run as `clip serve`): the embedding server's command line.
@main
struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clip serve",
        abstract: "Serve CLIP embeddings over HTTP (OpenAI /v1/embeddings, TEI /embed, /rank, /classify, /search).",
        discussion: """
            Requests from all clients are queued and run on one model in batches of up to --max-batch \
            items, each batch waiting at most --max-wait-ms to fill. Limits answer JSON errors \
            {"error": {"message", "type", "code"}}: 413 body too large, 422 malformed or too many \
            inputs, 429 (Retry-After) when --max-concurrent requests are already waiting, 400 an \
            undecodable image, 404 a /search `like` path that is not indexed. SIGTERM or SIGINT stops \
            accepting, answers what is in flight and exits 0.

            With --index DB (a database of `clip index`), POST /search ranks its images; without \
            --model the index's model is served, and a --model that is not the index's is refused.

            Exit status: 0 after a graceful stop, 64 bad command line, 66 the model or the index cannot \
            be read (or they do not match), 69 the address cannot be bound (port in use, unknown host), \
            71 the server failed after it started.

            Examples:
              clip serve --model ViT-B/32
              clip serve --model Sources/clip/Resources/demo/model.safetensors --port 8081
              clip serve --index ~/.local/share/swift-clip/index.sqlite
              clip serve --runs runs          # training reports of runs/*, at http://127.0.0.1:8080/runs/
              curl -s localhost:8080/v1/embeddings -H 'content-type: application/json' \\
                -d '{"input": ["a photo of a cat"], "model": "clip"}'
            """)

    @Option(
        help: ArgumentHelp(
            "A checkpoint path or a model name (`clip models`); with --index, the index's model by default.",
            valueName: "path-or-name"))
    var model: String?

    @Option(help: ArgumentHelp("An image index (from `clip index`) for POST /search.", valueName: "db"))
    var index: String?

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

    @Option(
        help: ArgumentHelp(
            "With --index: MiB of thumbnails kept in DB.thumbnails (least recently used go first; 0 keeps none).",
            valueName: "mib"))
    var thumbnailCacheMb = 1024.0

    @Option(help: "Seconds to finish in-flight requests after SIGTERM/SIGINT.")
    var shutdownTimeout = 30.0

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    func validate() throws {
        guard model != nil || index != nil || runs != nil else {
            throw ValidationError(
                "give --model M (a checkpoint or a model name), --index DB to serve its model, or --runs DIR (training reports)"
            )
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
        guard (0...1_048_576.0).contains(thumbnailCacheMb) else {
            throw ValidationError("--thumbnail-cache-mb must be from 0 to 1048576 (1 TiB)")
        }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level \(logLevel)") }
    }

    func run() async throws {
        var indexService: IndexService?
        if let index {
            do { indexService = try IndexService.open(path: index, model: model) } catch let error as ServerStartupError
            {
                throw Self.exit(error)
            }
        }
        var options = ServerOptions(model: indexService?.modelName ?? model ?? "")
        options.index = index
        options.runs = runs
        options.host = host
        options.port = port
        options.maxBatch = maxBatch
        options.maxWait = .microseconds(Int64(maxWaitMs * 1000))
        options.maxClientBatch = maxClientBatch
        options.maxPayloadBytes = Int(maxPayloadMb * 1_048_576)
        options.maxConcurrent = maxConcurrent
        options.shutdownTimeout = .milliseconds(Int64(shutdownTimeout * 1000))
        options.thumbnailCacheBytes = Int64(thumbnailCacheMb * 1_048_576)
        var logger = Logger(label: "clip-server")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        if let service = indexService, service.index.isImmutable {
            let unmerged = service.index.unmergedChanges ? "; its -wal holds batches not merged yet, not searched" : ""
            logger.notice(
                "\(service.index.url.path) is not writable by this process: read as it is on disk (immutable), so images indexed after the start are not searched until a restart\(unmerged)"
            )
        }
        let listening = Listening()
        let hasIndex = indexService != nil
        let app = buildApplication(options, index: indexService, logger: logger) { port in
            listening.set()
            // One line on stdout that scripts and tests wait for.
            // Best effort: a server whose stdout reader has gone keeps serving.
            StandardStreams.write("clip-server: listening on http://\(host):\(port)\n", to: STDOUT_FILENO)
            if hasIndex {
                StandardStreams.write("clip-server: search page at http://\(host):\(port)/\n", to: STDOUT_FILENO)
            }
        }
        do {
            try await runServer(app, options: options, logger: logger)
        } catch {
            let reason = (error as? LocalizedError)?.errorDescription ?? "\(error)"
            // Before the server listens, a failure that is not the model's or the index's is the bind.
            throw Self.exit(
                error as? ServerStartupError
                    ?? (listening.value
                        ? .failed(reason: reason) : .bind(host: host, port: port, reason: reason)))
        }
    }

    /// Ignores SIGPIPE first (a closed stderr, or a client that hung up, is an error, not a
    /// signal: ``StandardStreams``), then parses and runs as `AsyncParsableCommand.main` does.
    static func main() async {
        StandardStreams.ignoreBrokenPipeSignal()
        do {
            var command = try parseAsRoot()
            if var command = command as? AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }

    /// Prints `error:` and `hint:` lines and returns the failure's exit status.
    static func exit(_ error: ServerStartupError) -> ExitCode {
        StandardStreams.printError(error.report)
        return ExitCode(error.exitCode)
    }
}

/// Set once the server accepts connections (read after `runServer` returns).
private final class Listening: @unchecked Sendable {
    private let lock = NSLock()
    private var listening = false
    var value: Bool { lock.withLock { listening } }
    func set() { lock.withLock { listening = true } }
}
