import CLIP
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// Builds the `clip serve` application: routes, the shared model and its batcher.
///
/// The server listens at once; the model loads in the background (`GET /health` answers 503
/// until it is ready). Tests call this with port 0 and read the port from `onServerRunning`.
///
/// ```swift
/// let app = buildApplication(ServerOptions(model: "ViT-B/32"))
/// try await runServer(app, options: options)   // until SIGTERM or SIGINT
/// ```
///
/// - Parameters:
///   - options: the model, address and limits.
///   - index: the image index `POST /search` answers from (``IndexService/open(path:model:)``).
///   - logger: where requests and lifecycle events are logged.
///   - onServerRunning: called with the bound port once the server accepts connections.
public func buildApplication(
    _ options: ServerOptions, index: IndexService? = nil, logger: Logger = Logger(label: "clip-server"),
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) -> some Service {
    makeApplication(options, index: index, loadModel: true, logger: logger, onServerRunning: onServerRunning)
}

/// The application with its model slot: when graceful shutdown begins (before the HTTP server
/// drains its requests, which may wait in the batcher), the batcher stops waiting for batches
/// to fill, so a long `--max-wait` does not hold the shutdown up.
struct ServerService<App: ApplicationProtocol>: Service {
    let app: App
    let slot: ModelSlot

    func run() async throws {
        try await withGracefulShutdownHandler {
            try await app.run()
        } onGracefulShutdown: {
            slot.current?.batcher.drain()
        }
    }
}

/// ``buildApplication(_:index:logger:onServerRunning:)``; with `loadModel: false` the model never
/// loads (tests of the 503 answers).
func makeApplication(
    _ options: ServerOptions, index: IndexService? = nil, loadModel: Bool, logger: Logger,
    onServerRunning: @escaping @Sendable (Int) async -> Void
) -> some Service {
    let metrics = ServerMetrics(maxBatch: options.maxBatch)
    let slot = ModelSlot()
    let router = Router(context: BasicRequestContext.self)
    Routes(options: options, slot: slot, metrics: metrics, index: index).add(to: router)
    if let runs = options.runs { RunReportRoutes(runs: RunFolders(root: URL(fileURLWithPath: runs))).add(to: router) }
    let servesModel = !options.model.isEmpty
    if !servesModel { slot.fail("this server has no model: it was started with --runs alone (add --model to embed)") }
    let app = Application(
        router: router,
        configuration: .init(address: .hostname(options.host, port: options.port), serverName: "clip-server"),
        services: loadModel && servesModel
            ? [ModelService(options: options, index: index, slot: slot, metrics: metrics, logger: logger)] : [],
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? options.port) },
        logger: logger)
    return ServerService(app: app, slot: slot)
}

/// Runs `app` until SIGTERM or SIGINT, then shuts down gracefully: no new connections, requests
/// in flight are answered, idle keep-alive connections are closed; after
/// `options.shutdownTimeout` the remaining work is cancelled.
public func runServer(_ app: some Service, options: ServerOptions, logger: Logger) async throws {
    var configuration = ServiceGroupConfiguration(
        services: [.init(service: app)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
    configuration.maximumGracefulShutdownDuration = options.shutdownTimeout
    configuration.maximumCancellationDuration = .seconds(2)
    try await ServiceGroup(configuration: configuration).run()
}

/// Loads the model, then owns the batcher until the server has shut down (services stop in
/// reverse order, so the HTTP server, listed after this, finishes its requests first).
struct ModelService: Service {
    let options: ServerOptions
    let index: IndexService?
    let slot: ModelSlot
    let metrics: ServerMetrics
    let logger: Logger

    func run() async throws {
        let started = ContinuousClock.now
        let model: CLIP
        do {
            model = try await CLIP.load(options.model).model
            try index?.check(model)
        } catch {
            let failure =
                error as? ServerStartupError
                ?? .model(name: options.model, reason: (error as? LocalizedError)?.errorDescription ?? "\(error)")
            let reason = failure.errorDescription ?? "\(failure)"
            slot.fail(reason)
            logger.error("\(reason)")
            throw failure
        }
        let batcher = EmbeddingBatcher(
            maxBatch: options.maxBatch, maxWait: options.maxWait, maxConcurrent: options.maxConcurrent,
            metrics: metrics, run: EmbeddingBatcher.modelRunner(model))
        batcher.start()
        slot.set(ServedModel(model: model, name: options.model, batcher: batcher, metrics: metrics))
        logger.info(
            "loaded \(model.configuration.architectureName) in \(ContinuousClock.now - started); serving")
        try? await gracefulShutdown()
        batcher.stop()
    }
}
