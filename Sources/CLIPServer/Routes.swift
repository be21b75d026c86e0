import CLIP
import Foundation
import Hummingbird

/// Every route of `clip serve`, in one place. Handlers decode a `Codable` body, check it
/// against the limits, queue their items on the shared batcher and encode the answer.
struct Routes: Sendable {
    let options: ServerOptions
    let slot: ModelSlot
    let metrics: ServerMetrics
    /// The image index `POST /search` answers from; nil without `--index`.
    let index: IndexService?

    static let endpoints = [
        "POST /v1/embeddings", "POST /embed", "POST /rank", "POST /classify", "POST /search", "GET /health",
        "GET /info", "GET /metrics",
    ]
    /// The routes of a server without a model (`/health` answers 200 there: nothing to load).
    static let serverEndpoints = ["GET /health", "GET /info", "GET /metrics"]

    func add(to router: Router<BasicRequestContext>) {
        router.add(middleware: APIErrorMiddleware(metrics: metrics))
        router.post("/v1/embeddings") { request, _ in try await embeddings(request) }
        router.post("/embed") { request, _ in try await embed(request) }
        router.post("/rank") { request, _ in try await rank(request) }
        router.post("/classify") { request, _ in try await classify(request) }
        router.post("/search") { request, _ in try await search(request) }
        router.get("/health") { _, _ -> Response in
            // A report-only server (`--runs` without a model) has nothing to load: it is ready,
            // so a readiness probe passes.
            if options.model.isEmpty { return try json(["status": "ok"]) }
            if let failure = slot.loadError {
                throw APIError(.serviceUnavailable, failure, type: "server_error", code: "model_failed")
            }
            _ = try slot.require()
            return try json(["status": "ok"])
        }
        router.get("/info") { _, _ in try info() }
        router.get("/metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: metrics.registry.emitToBuffer())))
        }
        // The search page and the indexed images it shows (`GET /`, `/thumbnail`, ...).
        if let index { SearchPage(index: index.index, thumbnailLimit: options.thumbnailCacheBytes).add(to: router) }
    }

    // MARK: - Handlers

    func embeddings(_ request: Request) async throws -> Response {
        let body = try await decode(EmbeddingsRequest.self, request)
        let served = try slot.require()
        let inputs = try checkCount(body.input.values)
        let base64: Bool
        switch body.encodingFormat ?? "float" {
        case "float": base64 = false
        case "base64": base64 = true
        case let other:
            throw APIError.invalid("encoding_format must be \"float\" or \"base64\", got \"\(other)\"")
        }
        let e = served.embedDim
        if let d = body.dimensions, !(1...e).contains(d) {
            throw APIError.invalid("dimensions must be between 1 and \(e) for this model, got \(d)")
        }
        var rows: [[Float]]
        var tokens = 0
        switch body.modality ?? "text" {
        case "text":
            let (features, counts) = try await served.embed(texts: inputs, truncate: body.truncate ?? true)
            rows = features
            tokens = counts.reduce(0, +)
        case "image":
            rows = try await served.embed(images: try inputs.enumerated().map { try Self.imageData($1, index: $0) })
        case let other:
            throw APIError.invalid("modality must be \"text\" or \"image\", got \"\(other)\"")
        }
        rows = served.normalized(rows)
        if let d = body.dimensions, d < e {
            // OpenAI's `dimensions`: the first d values, normalised again.
            rows = served.normalized(rows.map { Array($0.prefix(d)) })
        }
        let data = rows.enumerated().map { index, row in
            EmbeddingsResponse.Item(index: index, embedding: base64 ? .base64(EmbeddingValue.base64(row)) : .float(row))
        }
        return Self.json(
            EmbeddingJSON.encode(
                EmbeddingsResponse(
                    data: data, model: served.name, usage: .init(promptTokens: tokens, totalTokens: tokens))))
    }

    func embed(_ request: Request) async throws -> Response {
        let body = try await decode(EmbedRequest.self, request)
        let served = try slot.require()
        let inputs = try checkCount(body.inputs.values)
        var rows = try await served.embed(texts: inputs, truncate: body.truncate ?? true).rows
        if body.normalize ?? true { rows = served.normalized(rows) }
        return Self.json(EmbeddingJSON.encode(rows: rows))
    }

    func rank(_ request: Request) async throws -> Response {
        let body = try await decode(RankRequest.self, request)
        let served = try slot.require()
        let texts = try checkCount(body.texts)
        let truncate = body.truncate ?? true
        let query: [Float]
        switch (body.query, body.image) {
        case (let text?, nil):
            query = try await served.embed(texts: [text], truncate: truncate).rows[0]
        case (nil, let image?):
            query = try await served.embed(images: [try Self.imageData(image, index: 0)])[0]
        default:
            throw APIError.invalid("give exactly one of \"query\" (a text) or \"image\" (base64 or a data: URL)")
        }
        let candidates = try await served.embed(texts: texts, truncate: truncate).rows
        let e = served.embedDim
        let (logits, _) = served.model.logits(
            imageFeatures: Tensor(shape: [1, e], scalars: query),
            textFeatures: Tensor(shape: [texts.count, e], scalars: candidates.flatMap { $0 }))  // (1, N)
        let scale = Foundation.exp(served.model.logitScale)
        let l = logits.scalars, p = Tensor.softmax(logits).scalars
        let results = texts.indices.map {
            RankResponse.Result(index: $0, text: texts[$0], score: l[$0] / scale, probability: p[$0])
        }.sorted { $0.score > $1.score }
        return try json(RankResponse(model: served.name, results: results))
    }

    func classify(_ request: Request) async throws -> Response {
        let body = try await decode(ClassifyRequest.self, request)
        let served = try slot.require()
        let images = try checkCount(body.images.values)
        let labels = body.labels
        let templates = body.templates ?? ["a photo of a {}."]
        guard !labels.isEmpty, !templates.isEmpty else {
            throw APIError.invalid("labels and templates must not be empty")
        }
        guard labels.count * templates.count <= 64 * options.maxClientBatch else {
            throw APIError.invalid(
                "labels × templates is \(labels.count * templates.count); the limit is \(64 * options.maxClientBatch)",
                code: "too_many_inputs")
        }
        if let top = body.top, top < 1 { throw APIError.invalid("top must be at least 1") }
        let pixels = try images.enumerated().map { try Self.imageData($1, index: $0) }
        // The same prompts and averaging as `ZeroShotClassifier`, with the texts batched here.
        let prompts = labels.flatMap { name in
            templates.map { $0.contains("{}") ? $0.replacingOccurrences(of: "{}", with: name) : "\($0) \(name)" }
        }
        async let imageRows = served.embed(images: pixels)
        let textRows = try await served.embed(texts: prompts, truncate: true).rows
        let e = served.embedDim
        let embedded = Tensor.l2Normalized(Tensor(shape: [prompts.count, e], scalars: textRows.flatMap { $0 }))
        let weights = Tensor.l2Normalized(
            Tensor.mean(embedded.reshaped([labels.count, templates.count, e]), dim: 1))  // (K, E)
        let features = try await imageRows
        let logits =
            Tensor.matmul(
                Tensor.l2Normalized(Tensor(shape: [images.count, e], scalars: features.flatMap { $0 })),
                weights.transposed(0, 1)) * Foundation.exp(served.model.logitScale)  // (B, K)
        let l = logits.scalars, p = Tensor.softmax(logits).scalars
        let k = labels.count
        let results = images.indices.map { b in
            let predictions = (0..<k).map {
                ClassifyResponse.Prediction(label: labels[$0], probability: p[b * k + $0], logit: l[b * k + $0])
            }.sorted { $0.probability > $1.probability }
            return ClassifyResponse.Result(index: b, predictions: Array(predictions.prefix(body.top ?? k)))
        }
        return try json(ClassifyResponse(model: served.name, results: results))
    }

    func search(_ request: Request) async throws -> Response {
        guard let index else {
            throw APIError(
                .notImplemented,
                "this server has no image index: start it with --index DB (a database of `clip index`)",
                type: "invalid_request_error", code: "no_index")
        }
        let body = try await decode(SearchRequest.self, request)
        let served = try slot.require()
        return try json(try await index.search(body, served: served))
    }

    /// The server, its model (null without one: `--runs` alone), limits and routes. With a model
    /// that is still loading it answers 503, as the model's endpoints do.
    func info() throws -> Response {
        let runsEndpoints = options.runs == nil ? [] : RunReportRoutes.endpoints
        guard !options.model.isEmpty else {
            return try json(
                InfoResponse(
                    serves: ["training_reports"], endpoints: Self.serverEndpoints + runsEndpoints, runs: options.runs))
        }
        let served = try slot.require()
        let config = served.model.configuration
        var serves = ["embeddings"]
        if index != nil { serves += ["search", "search_page"] }
        if options.runs != nil { serves.append("training_reports") }
        return try json(
            InfoResponse(
                serves: serves, model: served.name, architecture: config.architectureName,
                dimensions: config.embedDim, imageSize: served.model.imageSize,
                parameters: served.model.parameterCount,
                limits: .init(
                    maxBatch: options.maxBatch, maxWaitMs: Double(options.maxWait / .microseconds(1)) / 1000,
                    maxClientBatch: options.maxClientBatch, maxPayloadBytes: options.maxPayloadBytes,
                    maxConcurrent: options.maxConcurrent, contextLength: config.text.contextLength),
                endpoints: Self.endpoints + (index == nil ? [] : SearchPage.endpoints) + runsEndpoints,
                index: try index?.info(), runs: options.runs))
    }

    // MARK: - Helpers

    /// Reads at most `maxPayloadBytes` (413 beyond) and decodes JSON (422 when malformed).
    func decode<T: Decodable>(_ type: T.Type, _ request: Request) async throws -> T {
        let limit = options.maxPayloadBytes
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit {
            throw APIError.payloadTooLarge(limit)
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw APIError.payloadTooLarge(limit)
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch let error as DecodingError {
            throw APIError.invalid(Self.describe(error), code: "invalid_json")
        }
    }

    /// 1 ... `maxClientBatch` inputs.
    func checkCount(_ inputs: [String]) throws -> [String] {
        guard !inputs.isEmpty else { throw APIError.invalid("no inputs given", code: "empty_input") }
        guard inputs.count <= options.maxClientBatch else {
            throw APIError.invalid(
                "\(inputs.count) inputs in one request; the limit is \(options.maxClientBatch) (--max-client-batch)",
                code: "too_many_inputs")
        }
        return inputs
    }

    /// An image input: base64, or a `data:image/...;base64,` URL. URLs are never fetched.
    static func imageData(_ input: String, index: Int) throws -> Data {
        var payload = Substring(input)
        if input.hasPrefix("data:") {
            guard let comma = input.firstIndex(of: ","), input[..<comma].hasSuffix(";base64") else {
                throw APIError.badInput(
                    "input \(index) is a data: URL without ;base64, encoding", code: "invalid_image")
            }
            payload = input[input.index(after: comma)...]
        } else if input.hasPrefix("http://") || input.hasPrefix("https://") {
            throw APIError.badInput(
                "input \(index) is a URL; the server does not fetch URLs: send the image as base64",
                code: "invalid_image")
        }
        guard let data = Data(base64Encoded: String(payload), options: .ignoreUnknownCharacters), !data.isEmpty
        else {
            throw APIError.badInput("input \(index) is not base64 or a base64 data: URL", code: "invalid_image")
        }
        return data
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let keys = context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }
            return keys.isEmpty ? "the body" : "field \"\(keys.joined(separator: "."))\""
        }
        switch error {
        case .keyNotFound(let key, let context):
            let parent = context.codingPath.isEmpty ? "" : " in \(path(context))"
            return "missing field \"\(key.stringValue)\"\(parent)"
        case .typeMismatch(let type, let context):
            return "\(path(context)) has the wrong type (expected \(type))"
        case .valueNotFound(_, let context):
            return "\(path(context)) is null"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "the body is not valid JSON" : "\(path(context)) is invalid"
        @unknown default:
            return "the body does not match the endpoint's schema"
        }
    }

    /// A 200 answer with a JSON body already written.
    static func json(_ body: ByteBuffer) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: body))
    }

    func json(_ value: some Encodable) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        return Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }
}
