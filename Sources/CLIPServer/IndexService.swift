import CLIP
import CLIPIndex
import Foundation

// Symbols: E embedding width, K results.

/// The image index a server searches (`clip serve --index DB`): `POST /search`, the `index`
/// field of `GET /info`, and ``contains(path:)`` for routes that must only touch indexed files
/// (thumbnails).
///
/// The index is opened once at startup, read-only in spirit (searches never write; a running
/// `clip index` may add to it meanwhile, and searches see its last committed batch).
///
/// ```swift
/// let service = try IndexService.open(path: "photos.sqlite", model: nil)
/// var options = ServerOptions(model: service.modelName)
/// options.index = service.path
/// let app = buildApplication(options, index: service)
/// ```
public final class IndexService: Sendable {
    public let index: ImageIndex
    /// The model the index holds embeddings of (name, width E, vector type).
    public let model: IndexedModel
    /// The model to serve: `--model` as given when it is the index's model, else the name the
    /// index recorded (a model name or a checkpoint's absolute path).
    public let modelName: String

    /// The database file.
    public var path: String { index.url.path }

    init(index: ImageIndex, model: IndexedModel, modelName: String) {
        self.index = index
        self.model = model
        self.modelName = modelName
    }

    /// Opens the index at `path` (never creating one) and decides the model: `model` when given
    /// and the same as the index's (compared as `clip index` records names, see
    /// ``IndexedModel/storedName(_:)``), the index's own model when nil.
    ///
    /// - Throws: ``ServerStartupError/index(path:reason:)`` for a missing, foreign or empty index,
    ///   ``ServerStartupError/modelMismatch(index:stored:requested:)`` for another model.
    public static func open(path: String, model: String?) throws -> IndexService {
        let index: ImageIndex
        let stored: IndexedModel?
        do {
            index = try ImageIndex(at: URL(fileURLWithPath: path), create: false)
            stored = try index.model()
        } catch {
            throw ServerStartupError.index(path: path, reason: Self.describe(error))
        }
        guard let stored else {
            throw ServerStartupError.index(path: path, reason: "it has no images yet (index a folder: clip index DIR)")
        }
        if let model, IndexedModel.storedName(model) != stored.name {
            throw ServerStartupError.modelMismatch(
                index: path, stored: stored.name, requested: IndexedModel.storedName(model))
        }
        return IndexService(index: index, model: stored, modelName: model ?? stored.name)
    }

    /// Whether `path` (absolute, as indexed) is in the index. Routes that serve files by path
    /// must serve only these.
    public func contains(path: String) throws -> Bool { try index.contains(path: path) }

    /// Refuses a loaded model whose embedding width is not the index's.
    func check(_ clip: CLIP) throws {
        let e = clip.configuration.embedDim
        guard e == model.dimension else {
            throw ServerStartupError.index(
                path: path, reason: "its vectors have \(model.dimension) values, the model's embeddings \(e)")
        }
    }

    func info() throws -> IndexInfo { IndexInfo(path: path, images: try index.count()) }

    /// Answers `POST /search`: embeds the terms (texts and images through the shared batcher),
    /// adds their unit vectors as ``SearchQuery`` does for `clip search`, and ranks the index.
    ///
    /// Errors: 422 for bad fields, 400 for an undecodable image, 404 for a `like` path that is
    /// not indexed.
    func search(_ body: SearchRequest, served: ServedModel) async throws -> SearchResponse {
        let top = body.top ?? 20
        guard (1...1000).contains(top) else { throw APIError.invalid("top must be 1...1000, got \(top)") }
        if let threshold = body.threshold, !threshold.isFinite {
            throw APIError.invalid("threshold must be a finite number")
        }
        var folder: String?
        if let given = body.folder {
            guard given.hasPrefix("/") else {
                throw APIError.invalid("folder must be an absolute path (starting with /), got \"\(given)\"")
            }
            // As `clip search --under` normalises it, so both rank the same paths.
            folder = URL(fileURLWithPath: given).standardizedFileURL.resolvingSymlinksInPath().path
        }
        guard body.query != nil || body.image != nil || body.like != nil else {
            throw APIError.invalid("give at least one of \"query\" (a text), \"image\" (base64) or \"like\" (a path)")
        }
        if let query = body.query, query.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw APIError.invalid("query is empty")
        }
        // Terms in the order text, image, like; `like` is an image term whose vector is stored.
        var terms: [SearchQuery.Term] = []
        if let query = body.query { terms.append(.init(subject: .text(query))) }
        var images: [[Float]] = []
        if let image = body.image {
            terms.append(.init(subject: .image(URL(fileURLWithPath: "/request/image"))))
            let data = try Routes.imageData(image, index: 0)
            do {
                images.append(try await served.embed(images: [data])[0])
            } catch let error as APIError where error.code == "invalid_image" {
                throw APIError.badInput(
                    error.message.replacingOccurrences(of: "input 0", with: "image"), code: "invalid_image")
            }
        }
        if let like = body.like {
            guard let vector = try index.vector(path: like) else {
                throw APIError(
                    .notFound, "like: \(like) is not in the index", type: "invalid_request_error",
                    code: "not_in_index")
            }
            terms.append(.init(subject: .image(URL(fileURLWithPath: like))))
            images.append(vector)
        }
        var texts: [[Float]] = []
        if let query = body.query { texts = try await served.embed(texts: [query], truncate: true).rows }
        let vector: [Float]  // (E)
        do {
            vector = try SearchQuery(terms: terms).vector(texts: texts, images: images)
        } catch {
            throw APIError.invalid(Self.describe(error))
        }
        let index = self.index
        let threshold = body.threshold ?? -.infinity
        let under = folder
        // The scan runs on all cores (VectorMatrix), off the server's event loops.
        let hits = try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global(qos: .userInitiated).async {
                continuation.resume(
                    with: Result { try index.search(vector, top: top, threshold: threshold, under: under) })
            }
        }
        return SearchResponse(model: served.name, data: hits)
    }

    static func describe(_ error: any Error) -> String {
        (error as? LocalizedError)?.errorDescription ?? "\(error)"
    }
}
