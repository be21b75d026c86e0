import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A tiny HTTP/1.1 server on 127.0.0.1 for download tests: GET with `Range: bytes=N-`, 404 for
/// unknown paths, and per-path misbehaviour (cut the first transfer short, stall). It listens on
/// an ephemeral loopback port, serves each connection on its own thread, and stops by itself:
/// the accept loop polls with a timeout and gives up after `lifetime` seconds.
final class LocalHTTPServer: @unchecked Sendable {
    enum Behaviour: Sendable {
        case normal
        /// The first response announces the full length but closes after this many bytes.
        case cutFirstAfter(Int)
        /// Sends this many bytes, then nothing for `seconds`, then closes.
        case stallAfter(Int, seconds: Double)
    }

    struct Route: Sendable {
        var body: [UInt8]
        var behaviour: Behaviour = .normal
        /// Sleep between 16 KiB chunks, to make concurrent transfers overlap.
        var chunkDelay: Double = 0
    }

    private let listener: Int32
    let port: Int
    private let lock = NSLock()
    private var routes: [String: Route]
    private var _requests: [(path: String, range: String?)] = []
    private var stopped = false
    private var served: [String: Int] = [:]

    init(routes: [String: Route], lifetime: Double = 60) throws {
        self.routes = routes
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            close(fd)
            throw POSIXError(.EADDRINUSE)
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        let deadline = Date().addingTimeInterval(lifetime)
        Thread { [self] in acceptLoop(until: deadline) }.start()
    }

    var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Requests seen so far: path and Range header.
    var requests: [(path: String, range: String?)] {
        lock.lock()
        defer { lock.unlock() }
        return _requests
    }

    func stop() {
        lock.lock()
        stopped = true
        lock.unlock()
    }

    deinit { stop() }

    private var isStopped: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopped
    }

    private func acceptLoop(until deadline: Date) {
        defer { close(listener) }
        while !isStopped && Date() < deadline {
            var descriptor = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 100) > 0 else { continue }
            let client = accept(listener, nil, nil)
            if client < 0 { continue }
            Thread { [self] in handle(client) }.start()
        }
    }

    private func handle(_ client: Int32) {
        defer { close(client) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        // Read the request head (bounded to 16 KiB).
        var head = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while head.count < 16384 {
            let n = recv(client, &buffer, buffer.count, 0)
            if n <= 0 { return }
            head += buffer[0..<n]
            if head.count >= 4, String(decoding: head, as: UTF8.self).contains("\r\n\r\n") { break }
        }
        let lines = String(decoding: head, as: UTF8.self).components(separatedBy: "\r\n")
        let parts = lines.first?.split(separator: " ") ?? []
        guard parts.count >= 2 else { return }
        let path = String(parts[1])
        let range = lines.first { $0.lowercased().hasPrefix("range:") }.map {
            String($0.dropFirst(6)).trimmingCharacters(in: .whitespaces)
        }
        lock.lock()
        _requests.append((path, range))
        let route = routes[path]
        let count = served[path, default: 0]
        served[path] = count + 1
        lock.unlock()

        guard let route else {
            send(
                client, Array("HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found".utf8))
            return
        }
        var start = 0
        if let range, let value = range.split(separator: "=").last?.split(separator: "-").first, let from = Int(value) {
            start = from
        }
        if start >= route.body.count && start > 0 {
            send(
                client,
                Array("HTTP/1.1 416 Range Not Satisfiable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8))
            return
        }
        let body = Array(route.body[start...])
        var header = start > 0 ? "HTTP/1.1 206 Partial Content\r\n" : "HTTP/1.1 200 OK\r\n"
        header += "Content-Length: \(body.count)\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n"
        if start > 0 { header += "Content-Range: bytes \(start)-\(route.body.count - 1)/\(route.body.count)\r\n" }
        header += "\r\n"
        send(client, Array(header.utf8))
        var limit = body.count
        switch route.behaviour {
        case .normal: break
        case .cutFirstAfter(let n): if count == 0 { limit = min(n, body.count) }
        case .stallAfter(let n, _): limit = min(n, body.count)
        }
        var offset = 0
        while offset < limit {
            let end = min(limit, offset + 16384)
            guard send(client, Array(body[offset..<end])) else { return }
            offset = end
            if route.chunkDelay > 0 { Thread.sleep(forTimeInterval: route.chunkDelay) }
        }
        if case .stallAfter(_, let seconds) = route.behaviour {
            // Hold the connection open without sending, in short naps so stop() ends it early.
            let until = Date().addingTimeInterval(seconds)
            while Date() < until && !isStopped { Thread.sleep(forTimeInterval: 0.05) }
        }
    }

    @discardableResult
    private func send(_ client: Int32, _ bytes: [UInt8]) -> Bool {
        var done = 0
        while done < bytes.count {
            let n = bytes[done...].withUnsafeBytes { posixSend(client, $0.baseAddress, $0.count) }
            if n <= 0 { return false }
            done += n
        }
        return true
    }
}

/// `send(2)` without SIGPIPE when the client has gone (the cut-transfer tests close early).
private func posixSend(_ fd: Int32, _ pointer: UnsafeRawPointer?, _ count: Int) -> Int {
    #if canImport(Glibc)
        Glibc.send(fd, pointer, count, Int32(MSG_NOSIGNAL))
    #else
        Darwin.send(fd, pointer, count, 0)
    #endif
}
