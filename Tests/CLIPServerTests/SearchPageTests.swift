import CLIP
import Foundation
import Testing

@testable import CLIPServer

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

// The search page's HTTP side over real HTTP on 127.0.0.1: the page and its files, thumbnails
// made by the server and cached on disk, originals, caching headers (ETag, 304), and the
// guard that serves indexed images only (path traversal). The page's behaviour in a browser is
// BrowserTests'.

@Suite("clip serve --index: search page", .serialized)
struct SearchPageTests {
    /// GET with extra headers.
    static func get(_ client: ServerClient, _ path: String, headers: [String: String] = [:]) async throws -> HTTPResult
    {
        guard let url = URL(string: "http://127.0.0.1:\(client.port)\(path)") else { throw URLError(.badURL) }
        var request = URLRequest(url: url)
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await ServerClient.session.data(for: request)
        guard let http = response as? HTTPURLResponse else { throw URLError(.badServerResponse) }
        var fields: [String: String] = [:]
        for (key, value) in http.allHeaderFields {
            if let key = key as? String, let value = value as? String { fields[key] = value }
        }
        return HTTPResult(status: http.statusCode, headers: fields, body: data)
    }

    static func query(_ path: String) -> String {
        var allowed = CharacterSet.urlQueryAllowed
        allowed.remove(charactersIn: "&=+/")
        return path.addingPercentEncoding(withAllowedCharacters: allowed) ?? path
    }

    static func sha256(_ data: Data) -> String {
        var digest = SHA256()
        data.withUnsafeBytes { digest.update($0) }
        return digest.hexDigest()
    }

    @Test func pageAndItsFilesWithETags() async throws {
        let fixture = try PageFixture.make()
        defer { fixture.remove() }
        let (options, service) = try fixture.service()
        try await withServer(options, index: service) { client in
            let page = try await client.get("/")
            #expect(page.status == 200)
            #expect(page.header("Content-Type") == "text/html; charset=utf-8")
            #expect(page.text.contains("<script src=\"/page/search.js\" defer></script>"))
            // Nothing is loaded from elsewhere: no absolute URLs in the page's files, and a CSP that says so.
            #expect(page.header("Content-Security-Policy")?.hasPrefix("default-src 'self'") == true)
            for (name, type) in [
                ("search.js", "text/javascript; charset=utf-8"), ("search.css", "text/css; charset=utf-8"),
                ("icon.svg", "image/svg+xml"),
            ] {
                let file = try await client.get("/page/\(name)")
                #expect(file.status == 200, "\(name)")
                #expect(file.header("Content-Type") == type)
                // (SVG's namespace is a name, not a link.)
                let text = file.text.replacingOccurrences(of: "xmlns=\"http://www.w3.org/2000/svg\"", with: "")
                #expect(!text.contains("https://") && !text.contains("http://"), "\(name) links elsewhere")
            }
            let eTag = try #require(page.header("ETag"))
            #expect(page.header("Cache-Control") == "private, no-cache")
            let again = try await Self.get(client, "/", headers: ["If-None-Match": eTag])
            #expect(again.status == 304 && again.body.isEmpty)
            let changed = try await Self.get(client, "/", headers: ["If-None-Match": "\"other\""])
            #expect(changed.status == 200)

            // /info lists the page's routes beside the API's.
            let info = try await client.get("/info").json as? [String: Any]
            let endpoints = info?["endpoints"] as? [String] ?? []
            #expect(
                endpoints.contains("GET /") && endpoints.contains("GET /thumbnail")
                    && endpoints.contains("POST /search"))

            let folders = try #require(try await client.get("/page/folders").json as? [String: Any])
            #expect(folders["images"] as? Int == PageFixture.scenes.count)
            let listed = (folders["folders"] as? [[String: Any]] ?? []).compactMap { folder in
                (folder["path"] as? String).map { ($0, folder["images"] as? Int ?? -1) }
            }
            #expect(listed.map(\.0) == [fixture.photos.path, fixture.path("more"), fixture.path("shapes")])
            #expect(listed.map(\.1) == [9, 5, 4])
        }
    }

    @Test func thumbnailsAreMadeCachedOnDiskAndRevalidated() async throws {
        let fixture = try PageFixture.make(size: 200)
        defer { fixture.remove() }
        let (options, service) = try fixture.service()
        let file = fixture.path("shapes/red-circle.png")
        let hash = Self.sha256(try Data(contentsOf: URL(fileURLWithPath: file)))
        try await withServer(options, index: service) { client in
            for size in [128, 256] {
                let thumbnail = try await client.get("/thumbnail?size=\(size)&path=\(Self.query(file))")
                #expect(thumbnail.status == 200)
                #expect(thumbnail.header("Content-Type") == "image/jpeg")
                #expect(thumbnail.header("ETag") == "\"\(hash)-\(size)\"")
                #expect(thumbnail.header("Cache-Control") == "private, no-cache")
                let image = try ImageDecoder.decode(data: thumbnail.body, name: "thumbnail")
                // 200 x 200 fits in 256 as it is; 128 shrinks it.
                #expect(image.width == min(size, 200) && image.height == min(size, 200))
                let cached = fixture.root.appendingPathComponent(
                    "index.sqlite.thumbnails/\(hash.prefix(2))/\(hash)-\(size).jpg")
                #expect(try Data(contentsOf: cached) == thumbnail.body, "cached at \(cached.path)")
                let revalidated = try await Self.get(
                    client, "/thumbnail?size=\(size)&path=\(Self.query(file))",
                    headers: ["If-None-Match": "\"\(hash)-\(size)\""])
                #expect(revalidated.status == 304 && revalidated.body.isEmpty)
            }
            // The disk cache is what is served: replace the cached file and ask again.
            let cached = fixture.root.appendingPathComponent(
                "index.sqlite.thumbnails/\(hash.prefix(2))/\(hash)-128.jpg")
            let marker = try JPEGEncoder.encode(
                pixels: [UInt8](repeating: 9, count: 4 * 3 * 3), width: 4, height: 3, channels: 3)
            try marker.write(to: cached)
            #expect(try await client.get("/thumbnail?size=128&path=\(Self.query(file))").body == marker)
            // An edited file gets a new key (its content hash), so the stale thumbnail is not used.
            let edited = try PNGEncoder.encode(
                pixels: [UInt8](repeating: 200, count: 30 * 20 * 3), width: 30, height: 20, channels: 3)
            try edited.write(to: URL(fileURLWithPath: file))
            let fresh = try await client.get("/thumbnail?size=128&path=\(Self.query(file))")
            #expect(fresh.header("ETag") == "\"\(Self.sha256(edited))-128\"")
            let image = try ImageDecoder.decode(data: fresh.body, name: "fresh")
            #expect(image.width == 30 && image.height == 20)
            // Sizes outside the list are refused (they would fill the disk).
            let odd = try await client.get("/thumbnail?size=300&path=\(Self.query(file))")
            #expect(odd.status == 422 && odd.errorCode == "invalid_size")
        }
    }

    @Test func originalsAreTheIndexedBytes() async throws {
        let fixture = try PageFixture.make()
        defer { fixture.remove() }
        let (options, service) = try fixture.service()
        let file = fixture.path("more/white-cross.png")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
        try await withServer(options, index: service) { client in
            let original = try await client.get("/original?path=\(Self.query(file))")
            #expect(original.status == 200 && original.body == bytes)
            #expect(original.header("Content-Type") == "image/png")
            #expect(original.header("ETag") == "\"\(Self.sha256(bytes))\"")
            #expect(original.header("X-Content-Type-Options") == "nosniff")
            let missing = try await client.get("/original")
            #expect(missing.status == 422 && missing.errorCode == "missing_path")
        }
    }

    /// Requests for files that are not indexed images, and the answer each must get.
    static func traversals(_ fixture: PageFixture) -> [(String, Int)] {
        let photos = fixture.photos.path
        let secret = fixture.secret.path
        return [
            // `..` from inside an indexed folder, plain and percent-encoded.
            ("path=\(query(photos + "/../outside/secret.png"))", 404),
            ("path=\(photos)/%2e%2e/outside/secret.png", 404),
            ("path=\(photos)%2F%2E%2E%2Foutside%2Fsecret.png", 404),
            ("path=\(query(photos + "/shapes/../../outside/secret.png"))", 404),
            // Absolute paths outside the indexed roots.
            ("path=\(query(secret))", 404),
            ("path=%2Fetc%2Fpasswd", 404),
            ("path=/etc/passwd", 404),
            // Other spellings of an indexed file are not indexed paths.
            ("path=\(query(photos + "/./shapes/red-circle.png"))", 404),
            ("path=\(query(photos + "//shapes/red-circle.png"))", 404),
            ("path=\(query("shapes/red-circle.png"))", 404),
            ("path=\(query(photos + "/shapes/red-circle.png%00"))", 404),
            // An indexed folder itself, and a link inside it to a file outside (never indexed).
            ("path=\(query(photos))", 404),
            ("path=\(query(fixture.link.path))", 404),
        ]
    }

    @Test func onlyIndexedImagesAreServed() async throws {
        let fixture = try PageFixture.make()
        defer { fixture.remove() }
        let (options, service) = try fixture.service()
        try await withServer(options, index: service) { client in
            for (query, status) in Self.traversals(fixture) {
                for route in ["/thumbnail", "/original"] {
                    let result = try await client.get("\(route)?\(query)")
                    #expect(result.status == status, "\(route)?\(query): \(result.status) \(result.errorCode ?? "")")
                    #expect(!result.body.starts(with: [0x89, 0x50, 0x4E, 0x47]), "\(route)?\(query) served an image")
                }
            }
            // Traversal in the URL's path never reaches a file: there are only fixed routes.
            for path in [
                "/page/..%2F..%2F..%2Fetc%2Fpasswd", "/page/%2e%2e/%2e%2e/etc/passwd", "/thumbnail/..%2Fsecret.png",
            ] {
                #expect(try await client.get(path).status == 404, "\(path)")
            }
            // An indexed image replaced by a link to a file outside, and an indexed folder
            // replaced by a link to another folder: 403, the file behind is not served.
            let victim = URL(fileURLWithPath: fixture.path("shapes/blue-square.png"))
            try FileManager.default.removeItem(at: victim)
            try FileManager.default.createSymbolicLink(at: victim, withDestinationURL: fixture.secret)
            let linked = try await client.get("/original?path=\(Self.query(victim.path))")
            #expect(linked.status == 403 && linked.errorCode == "outside_index")
            let more = URL(fileURLWithPath: fixture.path("more"))
            let moved = fixture.root.appendingPathComponent("moved")
            try FileManager.default.moveItem(at: more, to: moved)
            try FileManager.default.createSymbolicLink(at: more, withDestinationURL: moved)
            let throughLink = try await client.get(
                "/thumbnail?size=128&path=\(Self.query(fixture.path("more/white-cross.png")))")
            #expect(throughLink.status == 403 && throughLink.errorCode == "outside_index")
            // A deleted indexed file: 404.
            try FileManager.default.removeItem(at: URL(fileURLWithPath: fixture.path("shapes/yellow-star.png")))
            let gone = try await client.get("/original?path=\(Self.query(fixture.path("shapes/yellow-star.png")))")
            #expect(gone.status == 404 && gone.errorCode == "image_gone")
        }
    }

    @Test func noPageWithoutAnIndex() async throws {
        try await withServer(.testing(), loadModel: false) { client in
            let page = try await client.get("/")
            let thumbnail = try await client.get("/thumbnail?path=/etc/passwd")
            #expect(page.status == 404 && thumbnail.status == 404)
        }
    }
}
