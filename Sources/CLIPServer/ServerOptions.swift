import Foundation

/// What `clip serve` serves and the limits it enforces; one value per command-line option.
///
/// ```swift
/// var options = ServerOptions(model: "Sources/clip/Resources/demo/model.safetensors")
/// options.port = 0   // any free port; the app reports it through `onServerRunning`
/// let app = try buildApplication(options)
/// try await app.runService()
/// ```
public struct ServerOptions: Sendable {
    /// The model path or name, as `clip --model` takes it (`CLIP.load`); empty for a server
    /// without a model (`--runs` alone: training reports only).
    public var model: String
    /// The image index `POST /search` answers from (a database written by `clip index`), if any.
    /// Open it with ``IndexService/open(path:model:)``, which also names the model to serve.
    public var index: String?
    /// `--runs DIR`: serve the training reports of the runs in DIR at `/runs/`.
    public var runs: String?
    /// The address to listen on; `127.0.0.1` keeps the server on this machine.
    public var host = "127.0.0.1"
    /// The TCP port; 0 picks a free one.
    public var port = 8080
    /// The most items (texts or images) the model runs in one forward pass.
    public var maxBatch = 32
    /// How long the first queued item waits for others to fill its batch.
    public var maxWait: Duration = .milliseconds(5)
    /// The most inputs one request may carry (more answer 422).
    public var maxClientBatch = 64
    /// The largest request body in bytes (larger answer 413).
    public var maxPayloadBytes = 16 << 20
    /// The most requests waiting for or in the model at once (more answer 429 with `Retry-After`).
    public var maxConcurrent = 512
    /// The most bytes the search page's thumbnails keep on disk (`DB.thumbnails`); past it the
    /// least recently used go. 0 keeps none.
    public var thumbnailCacheBytes: Int64 = 1 << 30
    /// How long a SIGTERM/SIGINT waits for in-flight requests before the process gives up on them.
    public var shutdownTimeout: Duration = .seconds(30)

    public init(model: String) {
        self.model = model
    }
}
