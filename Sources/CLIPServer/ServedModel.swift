import CLIP
import Foundation

/// The model a server answers with, once loaded, and the request-side work around it:
/// tokenizing texts and decoding images (on every core) before their items join the queue.
final class ServedModel: Sendable {
    let model: CLIP
    /// The name requests are answered with (the `--model` value).
    let name: String
    let batcher: EmbeddingBatcher
    let metrics: ServerMetrics

    init(model: CLIP, name: String, batcher: EmbeddingBatcher, metrics: ServerMetrics) {
        self.model = model
        self.name = name
        self.batcher = batcher
        self.metrics = metrics
    }

    var embedDim: Int { model.configuration.embedDim }
    var contextLength: Int { model.configuration.text.contextLength }

    /// Texts → unnormalised features, one row each, and the token count of each text
    /// (`<|startoftext|>` and `<|endoftext|>` included, at most the context length).
    /// A text longer than the context is cut as `clip.tokenize(truncate=True)` does, or with
    /// `truncate: false` answered 422 naming its index.
    func embed(texts: [String], truncate: Bool) async throws -> (rows: [[Float]], tokens: [Int]) {
        let t = contextLength
        var counts: [Int] = []
        for (index, text) in texts.enumerated() {
            let count = try model.tokenizer.encode(text).count + 2
            if count > t && !truncate {
                throw APIError.invalid(
                    "input \(index) has \(count) tokens, more than the model's context of \(t); "
                        + "shorten it or send \"truncate\": true", code: "input_too_long")
            }
            counts.append(min(count, t))
        }
        let tokens = try model.tokenizer.tokenize(texts, contextLength: t, truncate: true)
        let rows = try await batcher.embed(tokens.map { .text($0) })
        metrics.embedded(tokens: counts.reduce(0, +))
        return (rows, counts)
    }

    /// Images (encoded file bytes) → unnormalised features, one row each. They are decoded and
    /// preprocessed as `clip embed` does (OpenAI's preprocessing), on every core, off the
    /// server's event loops; an undecodable image answers 400 naming its index.
    func embed(images: [Data]) async throws -> [[Float]] {
        let preprocessor = model.preprocessor
        let pixels: [[Float]] = try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global(qos: .userInitiated).async {
                let results = UnsafeResults<Result<[Float], any Error>>(count: images.count)
                DispatchQueue.concurrentPerform(iterations: images.count) { i in
                    results[i] = Result {
                        let image = try ImageDecoder.decode(
                            data: images[i], name: "input \(i)", options: preprocessor.decodeOptions)
                        return preprocessor.preprocess(image)
                    }
                }
                for (i, result) in results.values.enumerated() {
                    if case .failure(let error) = result {
                        let reason = (error as? LocalizedError)?.errorDescription ?? "\(error)"
                        continuation.resume(
                            throwing: APIError.badInput(
                                "input \(i) is not a decodable image: \(reason)", code: "invalid_image"))
                        return
                    }
                }
                continuation.resume(returning: results.values.map { (try? $0.get()) ?? [] })
            }
        }
        let rows = try await batcher.embed(pixels.map { .image($0) })
        metrics.embedded(images: images.count)
        return rows
    }

    /// L2-normalised rows, computed exactly as `clip embed` normalises (`Tensor.l2Normalized`).
    func normalized(_ rows: [[Float]]) -> [[Float]] {
        guard let e = rows.first?.count, e > 0 else { return rows }
        let scalars = Tensor.l2Normalized(Tensor(shape: [rows.count, e], scalars: rows.flatMap { $0 })).scalars
        return (0..<rows.count).map { Array(scalars[($0 * e)..<(($0 + 1) * e)]) }
    }
}

/// Slots written by `concurrentPerform` iterations, each its own index.
private final class UnsafeResults<Value>: @unchecked Sendable {
    private var storage: [Value?]
    private let lock = NSLock()

    init(count: Int) { storage = Array(repeating: nil, count: count) }

    subscript(index: Int) -> Value? {
        get { lock.withLock { storage[index] } }
        set { lock.withLock { storage[index] = newValue } }
    }

    var values: [Value] { lock.withLock { storage.compactMap { $0 } } }
}

/// The model's state as `GET /health` reports it.
final class ModelSlot: @unchecked Sendable {
    private let lock = NSLock()
    private var served: ServedModel?
    private var failure: String?

    var current: ServedModel? { lock.withLock { served } }
    var loadError: String? { lock.withLock { failure } }

    func set(_ model: ServedModel) { lock.withLock { served = model } }
    func fail(_ message: String) { lock.withLock { failure = message } }

    /// The loaded model, or 503 while loading.
    func require() throws -> ServedModel {
        guard let model = current else { throw APIError.loading }
        return model
    }
}
