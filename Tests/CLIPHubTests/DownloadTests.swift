import CLIPHub
import Foundation
import Testing

/// Downloads against `LocalHTTPServer` on 127.0.0.1: every case ends by itself within seconds.
@Suite(.serialized) struct DownloadTests {
    static let body: [UInt8] = {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        return (0..<300_000).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
    }()
    static let digest: String = {
        var h = SHA256()
        h.update(body)
        return h.hexDigest()
    }()

    let folder: URL

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("clip-hub-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    func cleanUp() { try? FileManager.default.removeItem(at: folder) }

    func contents(_ url: URL) -> [UInt8] { (try? [UInt8](Data(contentsOf: url))) ?? [] }

    @Test func goodFileIsVerifiedPlacedAndCached() throws {
        defer { cleanUp() }
        let server = try LocalHTTPServer(routes: ["/m.pt": .init(body: Self.body)])
        defer { server.stop() }
        let destination = folder.appendingPathComponent("sub/m.pt")
        let url = try #require(URL(string: server.baseURL + "/m.pt"))
        let seen = ProgressLog()
        let digest = try Downloader.download(from: url, to: destination, sha256: Self.digest) { seen.add($0) }
        #expect(digest == Self.digest)
        #expect(contents(destination) == Self.body)
        #expect(!FileManager.default.fileExists(atPath: destination.path + ".partial"))
        #expect(
            seen.last?.bytesReceived == Int64(Self.body.count) && seen.last?.bytesExpected == Int64(Self.body.count))
        // Cached: no second request.
        _ = try Downloader.download(from: url, to: destination, sha256: Self.digest)
        #expect(server.requests.count == 1, "\(server.requests)")
    }

    @Test func cutTransferIsResumedWithRange() throws {
        defer { cleanUp() }
        let server = try LocalHTTPServer(routes: ["/m.pt": .init(body: Self.body, behaviour: .cutFirstAfter(100_000))])
        defer { server.stop() }
        let destination = folder.appendingPathComponent("m.pt")
        let url = try #require(URL(string: server.baseURL + "/m.pt"))
        _ = try Downloader.download(from: url, to: destination, sha256: Self.digest)
        #expect(contents(destination) == Self.body)
        let requests = server.requests
        #expect(requests.count == 2 && requests[0].range == nil, "\(requests)")
        let offset = requests.last?.range.flatMap { Int($0.dropFirst("bytes=".count).dropLast()) } ?? 0
        #expect(offset > 0 && offset <= 100_000, "resumed with \(String(describing: requests.last?.range))")
    }

    @Test func existingPartialFileIsResumed() throws {
        defer { cleanUp() }
        let server = try LocalHTTPServer(routes: ["/m.pt": .init(body: Self.body)])
        defer { server.stop() }
        let destination = folder.appendingPathComponent("m.pt")
        try Data(Self.body[0..<123_456]).write(to: URL(fileURLWithPath: destination.path + ".partial"))
        _ = try Downloader.download(
            from: try #require(URL(string: server.baseURL + "/m.pt")), to: destination, sha256: Self.digest)
        #expect(contents(destination) == Self.body)
        #expect(server.requests.map(\.range) == ["bytes=123456-"])
    }

    @Test func checksumMismatchDeletesAndThrows() throws {
        defer { cleanUp() }
        let server = try LocalHTTPServer(routes: ["/m.pt": .init(body: Self.body)])
        defer { server.stop() }
        let destination = folder.appendingPathComponent("m.pt")
        let wrong = String(repeating: "0", count: 64)
        #expect(throws: HubError.checksumMismatch(url: server.baseURL + "/m.pt", expected: wrong, actual: Self.digest))
        {
            try Downloader.download(from: URL(string: server.baseURL + "/m.pt")!, to: destination, sha256: wrong)
        }
        #expect(!FileManager.default.fileExists(atPath: destination.path))
        #expect(!FileManager.default.fileExists(atPath: destination.path + ".partial"))
    }

    @Test func notFoundSaysWhereToPlaceTheFile() throws {
        defer { cleanUp() }
        let server = try LocalHTTPServer(routes: [:])
        defer { server.stop() }
        let destination = folder.appendingPathComponent("m.pt")
        do {
            _ = try Downloader.download(
                from: try #require(URL(string: server.baseURL + "/missing.pt")), to: destination, sha256: nil)
            Issue.record("expected a 404 error")
        } catch let error as HubError {
            #expect(
                error == .httpStatus(url: server.baseURL + "/missing.pt", status: 404, destination: destination.path))
            #expect(error.recoverySuggestion?.contains(destination.path) == true)
        }
        #expect(server.requests.count == 1)
    }

    @Test func stallingServerTimesOut() throws {
        defer { cleanUp() }
        let server = try LocalHTTPServer(routes: [
            "/m.pt": .init(body: Self.body, behaviour: .stallAfter(20_000, seconds: 10))
        ])
        defer { server.stop() }
        let start = Date()
        #expect(throws: HubError.self) {
            try Downloader.download(
                from: URL(string: server.baseURL + "/m.pt")!, to: folder.appendingPathComponent("m.pt"),
                sha256: nil, stallTimeout: 1, attempts: 1)
        }
        let elapsed = Date().timeIntervalSince(start)
        #expect(elapsed < 6, "took \(elapsed) s")
    }

    @Test func refusedConnectionIsUnreachable() throws {
        defer { cleanUp() }
        // A port that was just free: nothing listens there any more.
        let port = try { () throws -> Int in
            let s = try LocalHTTPServer(routes: [:], lifetime: 0.1)
            s.stop()
            return s.port
        }()
        Thread.sleep(forTimeInterval: 0.3)
        do {
            _ = try Downloader.download(
                from: try #require(URL(string: "http://127.0.0.1:\(port)/m.pt")),
                to: folder.appendingPathComponent("m.pt"), sha256: nil, stallTimeout: 2)
            Issue.record("expected an error")
        } catch let error as HubError {
            guard case .unreachable = error else {
                Issue.record("got \(error)")
                return
            }
        }
    }

    @Test func concurrentDownloadsOfOneFileTakeTurns() throws {
        defer { cleanUp() }
        let server = try LocalHTTPServer(routes: ["/m.pt": .init(body: Self.body, chunkDelay: 0.01)])
        defer { server.stop() }
        let destination = folder.appendingPathComponent("m.pt")
        let url = try #require(URL(string: server.baseURL + "/m.pt"))
        let results = ResultLog()
        let threads = (0..<2).map { _ in
            Thread {
                do { results.add(try Downloader.download(from: url, to: destination, sha256: Self.digest)) } catch {
                    results.add("\(error)")
                }
            }
        }
        for thread in threads { thread.start() }
        let deadline = Date().addingTimeInterval(20)
        while results.values.count < 2 && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        #expect(results.values == [Self.digest, Self.digest], "\(results.values)")
        #expect(contents(destination) == Self.body)
        // The second waited on the lock, then found the finished file.
        #expect(server.requests.count == 1, "\(server.requests)")
    }

    @Test func storeFetchesHuggingFaceRepoThroughMirrorAndHonoursOffline() throws {
        defer { cleanUp() }
        let config = Array("{\"projection_dim\": 16}".utf8)
        let server = try LocalHTTPServer(routes: [
            "/o/n/resolve/main/config.json": .init(body: config),
            "/o/n/resolve/main/model.safetensors": .init(body: Self.body),
        ])
        defer { server.stop() }
        let reference = try #require(ModelReference.named("hf:o/n"))
        var store = ModelStore(cacheDirectory: folder, mirror: server.baseURL, offline: true)
        do {
            _ = try store.fetch(reference)
            Issue.record("offline fetch should fail")
        } catch let error as HubError {
            #expect(
                error
                    == .offline(
                        url: server.baseURL + "/o/n/resolve/main/config.json",
                        destination: folder.appendingPathComponent("huggingface/o/n/config.json").path))
        }
        #expect(server.requests.isEmpty)
        store.offline = false
        let local = try store.fetch(reference)
        #expect(contents(local.appendingPathComponent("config.json")) == config)
        #expect(contents(local.appendingPathComponent("model.safetensors")) == Self.body)
        #expect(store.isCached(reference))
    }
}

final class ProgressLog: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [DownloadProgress] = []
    func add(_ p: DownloadProgress) {
        lock.lock()
        items.append(p)
        lock.unlock()
    }
    var last: DownloadProgress? {
        lock.lock()
        defer { lock.unlock() }
        return items.last
    }
}

final class ResultLog: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []
    func add(_ s: String) {
        lock.lock()
        items.append(s)
        lock.unlock()
    }
    var values: [String] {
        lock.lock()
        defer { lock.unlock() }
        return items
    }
}
