import Foundation
import Logging
import ServiceLifecycle

@testable import CLIPServer

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Repository paths the tests read: the bundled demo model and sample images.
enum Repository {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let demoModel = root.appendingPathComponent("Sources/clip/Resources/demo/model.safetensors").path
    static let demoImages = (0..<4).map {
        root.appendingPathComponent("Sources/clip/Resources/demo/images/00000\($0).png")
    }
    static let jpeg = root.appendingPathComponent("Tests/CLIPImageTests/Fixtures/images/odd_97x61.jpg")

    /// SwiftPM's products folder: the test runner sits in it on Linux.
    static var products: URL {
        #if os(macOS)
            let bundle = Bundle.allBundles.first { $0.bundlePath.hasSuffix(".xctest") } ?? Bundle.main
            return bundle.bundleURL.deletingLastPathComponent()
        #else
            return Bundle.main.bundleURL
        #endif
    }
}

extension ServerOptions {
    /// The demo model on 127.0.0.1, any free port, then `configure`.
    static func testing(_ configure: (inout ServerOptions) -> Void = { _ in }) -> ServerOptions {
        var options = ServerOptions(model: Repository.demoModel)
        options.host = "127.0.0.1"
        options.port = 0
        configure(&options)
        return options
    }
}

/// A response read over HTTP.
struct HTTPResult: Sendable {
    var status: Int
    var headers: [String: String]
    var body: Data

    var json: Any? { try? JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed]) }
    var text: String { String(decoding: body, as: UTF8.self) }
    /// A header by name, case-insensitively.
    func header(_ name: String) -> String? {
        headers.first { $0.key.lowercased() == name.lowercased() }?.value
    }

    /// `error.code` of a JSON error body.
    var errorCode: String? { ((json as? [String: Any])?["error"] as? [String: Any])?["code"] as? String }
    var errorMessage: String? { ((json as? [String: Any])?["error"] as? [String: Any])?["message"] as? String }
}

/// Runs a `clip serve` app in this process on 127.0.0.1 (a free port) for the duration of `body`,
/// then shuts it down gracefully.
func withServer<T: Sendable>(
    _ options: ServerOptions = .testing(), index: IndexService? = nil, loadModel: Bool = true,
    _ body: @Sendable (ServerClient) async throws -> T
) async throws -> T {
    let ports = AsyncStream.makeStream(of: Int.self)
    var logger = Logger(label: "clip-server-test")
    logger.logLevel = .warning
    let app = makeApplication(options, index: index, loadModel: loadModel, logger: logger) { port in
        ports.continuation.yield(port)
    }
    let group = ServiceGroup(services: [app], logger: logger)
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        var iterator = ports.stream.makeAsyncIterator()
        guard let port = await iterator.next() else { throw CancellationError() }
        let client = ServerClient(port: port)
        do {
            if loadModel { try await client.waitUntilHealthy() }
            let value = try await body(client)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return value
        } catch {
            await group.triggerGracefulShutdown()
            try? await tasks.waitForAll()
            throw error
        }
    }
}

/// Real HTTP/1.1 over loopback through URLSession (libcurl on Linux), up to 64 connections.
struct ServerClient: Sendable {
    let port: Int

    static let session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = 64
        configuration.timeoutIntervalForRequest = 120
        return URLSession(configuration: configuration)
    }()

    func request(_ method: String, _ path: String, body: Data? = nil) async throws -> HTTPResult {
        guard let url = URL(string: "http://127.0.0.1:\(port)\(path)") else { throw URLError(.badURL) }
        var request = URLRequest(url: url)
        request.httpMethod = method
        if let body {
            request.httpBody = body
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await Self.session.data(for: request)
        guard let http = response as? HTTPURLResponse else { throw URLError(.badServerResponse) }
        var headers: [String: String] = [:]
        for (key, value) in http.allHeaderFields {
            if let key = key as? String, let value = value as? String { headers[key] = value }
        }
        return HTTPResult(status: http.statusCode, headers: headers, body: data)
    }

    func get(_ path: String) async throws -> HTTPResult { try await request("GET", path) }

    func post(_ path: String, json: Any) async throws -> HTTPResult {
        try await request("POST", path, body: try JSONSerialization.data(withJSONObject: json))
    }

    func post(_ path: String, raw: String) async throws -> HTTPResult {
        try await request("POST", path, body: Data(raw.utf8))
    }

    func waitUntilHealthy() async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if (try? await get("/health").status) == 200 { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw CancellationError()
    }
}

/// Floats from a JSON array of numbers (as `clip embed` and the server print them).
func floats(_ value: Any?) -> [Float] {
    (value as? [Any])?.compactMap { ($0 as? NSNumber)?.floatValue } ?? []
}

/// Floats from OpenAI's base64 (little-endian float32).
func floats(base64 text: String) -> [Float] {
    guard let data = Data(base64Encoded: text) else { return [] }
    return stride(from: 0, to: data.count, by: 4).map { i in
        Float(
            bitPattern: data[i..<(i + 4)].enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * $1.offset) })
    }
}

/// The `data` rows of an OpenAI embeddings answer, decoding base64 when present.
func embeddingRows(_ result: HTTPResult) -> [[Float]] {
    let data = ((result.json as? [String: Any])?["data"] as? [[String: Any]]) ?? []
    return data.map { item in
        if let text = item["embedding"] as? String { return floats(base64: text) }
        return floats(item["embedding"])
    }
}

/// Runs a built executable from the products folder and returns its status and stdout.
func runTool(_ name: String, _ arguments: [String]) throws -> (status: Int32, stdout: Data) {
    let process = Process()
    process.executableURL = Repository.products.appendingPathComponent(name)
    process.arguments = arguments
    let out = Pipe()
    process.standardOutput = out
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, data)
}

/// Runs a built executable and returns its status, stdout and stderr (both small).
func runToolCapturing(_ name: String, _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    let process = Process()
    process.executableURL = Repository.products.appendingPathComponent(name)
    process.arguments = arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
}
