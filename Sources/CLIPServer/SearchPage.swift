import CLIP
import CLIPIndex
import Foundation
import Hummingbird

/// The search page of `clip serve --index DB`, in one place: `GET /` (the page), its script,
/// style sheet and icon under `/page/`, the folder list for its filter, and the indexed images
/// as thumbnails and originals. The page itself queries `POST /search`.
///
/// ```
/// GET /                                   the page (text/html)
/// GET /page/search.js, search.css, icon.svg
/// GET /page/folders                       {"index", "images", "folders": [{"path", "images"}]}
/// GET /thumbnail?path=/abs/x.jpg&size=256 JPEG, longest side ≤ size (128, 256 or 512)
/// GET /original?path=/abs/x.jpg           the file as indexed
/// ```
/// Only indexed images are served (``IndexedImageFiles``). Every answer carries an ETag and
/// `Cache-Control: private, no-cache`: the browser keeps what it has and revalidates with
/// `If-None-Match`, which answers 304 without a body.
struct SearchPage: Sendable {
    let files: IndexedImageFiles
    let thumbnails: ThumbnailCache
    let assets: PageAssets

    static let cacheControl = "private, no-cache"

    /// The page of `index`; its thumbnails take at most `thumbnailLimit` bytes on disk. Starts
    /// the cache's startup prune (thumbnails of images no longer indexed, then the limit) in the
    /// background.
    init(index: ImageIndex, thumbnailLimit: Int64 = ThumbnailCache.defaultLimit) {
        files = IndexedImageFiles(index: index)
        thumbnails = ThumbnailCache(index: index.url, limit: thumbnailLimit)
        assets = PageAssets()
        thumbnails.pruneInBackground {
            (try? index.stored(under: "/")).map { Set($0.values.map(\.hash)) }
        }
    }

    static let endpoints = ["GET /", "GET /page/folders", "GET /thumbnail", "GET /original"]

    func add(to router: Router<BasicRequestContext>) {
        router.get("/") { request, context in try await asset("index.html", request, context) }
        for name in PageAssets.names where name != "index.html" {
            router.get("/page/\(name)") { request, context in try await asset(name, request, context) }
        }
        router.get("/page/folders") { _, _ in try folders() }
        router.get("/thumbnail") { request, context in try await thumbnail(request, context) }
        router.get("/original") { request, context in try await original(request, context) }
    }

    // MARK: - Handlers

    func asset(_ name: String, _ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let asset = try assets.asset(name)
        var headers: HTTPFields = [.contentType: asset.contentType, .cacheControl: Self.cacheControl]
        if name == "index.html" {
            // Everything the page uses comes from this server.
            headers[.contentSecurityPolicy] =
                "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'"
        }
        return try await request.ifNoneMatch(headers: headers, eTag: asset.eTag, context: context) {
            Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: asset.bytes)))
        }
    }

    func thumbnail(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let parameters = request.uri.queryParameters
        let size = parameters["size"].map { Int($0) } ?? 256
        guard let size, ThumbnailCache.sizes.contains(size) else {
            throw APIError.invalid(
                "size must be one of \(ThumbnailCache.sizes.map(String.init).joined(separator: ", "))",
                code: "invalid_size")
        }
        let file = try files.file(parameters["path"])
        let headers: HTTPFields = [.contentType: "image/jpeg", .cacheControl: Self.cacheControl]
        return try await request.ifNoneMatch(headers: headers, eTag: "\"\(file.hash)-\(size)\"", context: context) {
            Response(
                status: .ok,
                body: .init(byteBuffer: ByteBuffer(bytes: try await thumbnails.thumbnail(of: file, size: size)))
            )
        }
    }

    func original(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        var file = try files.file(request.uri.queryParameters["path"])
        var headers: HTTPFields = [.cacheControl: Self.cacheControl]
        if let nosniff = HTTPFields.Element.Name("X-Content-Type-Options") { headers[nosniff] = "nosniff" }
        return try await request.ifNoneMatch(headers: headers, eTag: "\"\(file.hash)\"", context: context) {
            let bytes = try file.contents()
            let type =
                ImageFormat.sniff(bytes).map { "image/\($0.rawValue.lowercased())" } ?? "application/octet-stream"
            return Response(
                status: .ok, headers: [.contentType: type], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
    }

    /// Every folder that holds indexed images (directly or below), under the folder all of
    /// them share, with its image count: the choices of the page's folder filter.
    func folders() throws -> Response {
        let paths = try files.index.stored(under: "/").keys
        var counts: [String: Int] = [:]
        for path in paths {
            var folder = Substring(path)
            while let slash = folder.lastIndex(of: "/"), slash > folder.startIndex {
                folder = folder[..<slash]
                counts[String(folder), default: 0] += 1
            }
        }
        // Folders that hold every image say nothing, except the deepest of them (the root).
        let shared = counts.filter { $0.value == paths.count }.keys.max { $0.count < $1.count }
        let listed = counts.filter { $0.value < paths.count || $0.key == shared }
            .map { FoldersResponse.Folder(path: $0.key, images: $0.value) }
            .sorted { $0.path < $1.path }
        let response = FoldersResponse(
            index: files.index.url.path, images: paths.count, folders: Array(listed.prefix(PageAssets.maxFolders)))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        return Response(
            status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(response))))
    }
}

/// `GET /page/folders`.
struct FoldersResponse: Codable, Sendable {
    struct Folder: Codable, Sendable {
        var path: String
        var images: Int
    }
    var index: String
    var images: Int
    var folders: [Folder]
}

/// The page's files, bundled as the CLIPServer target's resources (`Sources/CLIPServer/Page`)
/// and read once at start-up. Editing them needs no build step beyond `swift build`.
struct PageAssets: Sendable {
    struct Asset: Sendable {
        var bytes: [UInt8]
        var contentType: String
        /// A strong ETag: the SHA-256 of the bytes.
        var eTag: String
    }

    static let names = ["index.html", "search.js", "search.css", "icon.svg"]
    /// The folder filter lists at most this many folders.
    static let maxFolders = 2000

    private let assets: [String: Asset]
    private let problem: String?

    init() {
        guard let folder = Bundle.module.url(forResource: "Page", withExtension: nil) else {
            assets = [:]
            problem = "the page's files are missing from the resource bundle"
            return
        }
        var assets: [String: Asset] = [:]
        for name in Self.names {
            guard let data = try? Data(contentsOf: folder.appendingPathComponent(name)) else { continue }
            var digest = SHA256()
            data.withUnsafeBytes { digest.update($0) }
            assets[name] = Asset(
                bytes: [UInt8](data), contentType: Self.contentType(name), eTag: "\"\(digest.hexDigest().prefix(32))\"")
        }
        self.assets = assets
        problem = assets.count == Self.names.count ? nil : "some of the page's files are missing: \(folder.path)"
    }

    func asset(_ name: String) throws -> Asset {
        guard let asset = assets[name] else {
            throw APIError(
                .internalServerError,
                "\(problem ?? "no page file \(name)"); reinstall clip-server with its resource bundle "
                    + "(swift-clip_CLIPServer.resources beside the binary)",
                type: "server_error", code: "page_missing")
        }
        return asset
    }

    static func contentType(_ name: String) -> String {
        switch URL(fileURLWithPath: name).pathExtension {
        case "html": "text/html; charset=utf-8"
        case "js": "text/javascript; charset=utf-8"
        case "css": "text/css; charset=utf-8"
        case "svg": "image/svg+xml"
        default: "application/octet-stream"
        }
    }
}
