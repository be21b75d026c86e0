import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// How far a download has come, reported on every received chunk.
public struct DownloadProgress: Sendable {
    /// The file being fetched (its last path component).
    public var fileName: String
    /// Bytes of the file on disk so far, a resumed part included.
    public var bytesReceived: Int64
    /// The whole file's size when the server said, else nil.
    public var bytesExpected: Int64?
    /// Bytes that were already on disk when this attempt started (for the rate).
    public var bytesResumed: Int64
}

/// Fetches one URL into a file: resumes a `.partial` file with an HTTP `Range` request, verifies
/// the SHA-256, and renames into place only when complete, all under a lock file so concurrent
/// fetches of the same destination wait for each other instead of racing.
///
/// ```swift
/// let digest = try Downloader.download(from: URL(string: "https://example.com/m.pt")!,
///                                      to: URL(fileURLWithPath: "/tmp/m.pt"), sha256: nil)
/// ```
public enum Downloader {
    /// Downloads `url` to `destination` unless it is already there, and returns the file's SHA-256.
    ///
    /// - Parameters:
    ///   - sha256: the expected digest (lowercase hex); on mismatch the download is deleted and
    ///     ``HubError/checksumMismatch(url:expected:actual:)`` thrown.
    ///   - stallTimeout: seconds without a byte after which the attempt is abandoned.
    ///   - attempts: transfers tried in total; a transfer cut after some progress is resumed.
    public static func download(
        from url: URL, to destination: URL, sha256: String?, stallTimeout: TimeInterval = 30,
        attempts: Int = 3, progress: (@Sendable (DownloadProgress) -> Void)? = nil
    ) throws -> String {
        let manager = FileManager.default
        let directory = destination.deletingLastPathComponent()
        do { try manager.createDirectory(at: directory, withIntermediateDirectories: true) } catch {
            throw HubError.cacheIO(path: directory.path, reason: error.localizedDescription)
        }
        let lock = try FileLock(path: destination.path + ".lock")
        defer { lock.unlock() }
        // Someone else may have finished it while we waited for the lock.
        if manager.fileExists(atPath: destination.path) {
            return try sha256 ?? SHA256.hexDigest(ofFile: destination.path)
        }
        let partial = destination.path + ".partial"
        var lastError: HubError?
        for _ in 0..<max(1, attempts) {
            let before = fileSize(partial)
            do {
                try transfer(
                    url, into: partial, destination: destination.path, stallTimeout: stallTimeout, progress: progress)
                lastError = nil
                break
            } catch let error as HubError {
                lastError = error
                // Retry only cut transfers that made progress; a 404 or a dead host will not improve.
                guard case .unreachable = error, fileSize(partial) > before else { break }
            }
        }
        if let lastError { throw lastError }
        let actual = try SHA256.hexDigest(ofFile: partial)
        if let sha256, actual != sha256.lowercased() {
            unlink(partial)
            throw HubError.checksumMismatch(url: url.absoluteString, expected: sha256.lowercased(), actual: actual)
        }
        guard rename(partial, destination.path) == 0 else {
            throw HubError.cacheIO(path: destination.path, reason: String(cString: strerror(errno)))
        }
        return actual
    }

    static func fileSize(_ path: String) -> Int64 {
        var info = stat()
        return stat(path, &info) == 0 ? Int64(info.st_size) : 0
    }

    /// One HTTP request appending to (or restarting) `partial`.
    private static func transfer(
        _ url: URL, into partial: String, destination: String, stallTimeout: TimeInterval,
        progress: (@Sendable (DownloadProgress) -> Void)?
    ) throws {
        let resumeFrom = fileSize(partial)
        var request = URLRequest(url: url)
        // The watchdog below enforces stalls; the session's own timeout is only a backstop.
        request.timeoutInterval = stallTimeout + 5
        if resumeFrom > 0 { request.setValue("bytes=\(resumeFrom)-", forHTTPHeaderField: "Range") }
        let sink = TransferSink(
            path: partial, resumeFrom: resumeFrom, fileName: URL(fileURLWithPath: destination).lastPathComponent,
            progress: progress)
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = stallTimeout + 5
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        let session = URLSession(configuration: configuration, delegate: sink, delegateQueue: queue)
        defer { session.invalidateAndCancel() }
        let task = session.dataTask(with: request)
        task.resume()
        // Bounded wait: poll the completion flag, abandoning the transfer once it stalls.
        while !sink.wait(seconds: 0.2) {
            if Date().timeIntervalSince(sink.lastActivity) > stallTimeout {
                task.cancel()
                _ = sink.wait(seconds: 5)
                throw HubError.stalled(url: url.absoluteString, seconds: stallTimeout, destination: destination)
            }
        }
        switch sink.outcome {
        case .success:
            return
        case .status(let code) where code == 416 && resumeFrom > 0:
            // The partial file already holds everything; the checksum decides.
            return
        case .status(let code):
            throw HubError.httpStatus(url: url.absoluteString, status: code, destination: destination)
        case .failed(let reason, let timedOut):
            if timedOut {
                throw HubError.stalled(url: url.absoluteString, seconds: stallTimeout, destination: destination)
            }
            throw HubError.unreachable(url: url.absoluteString, destination: destination, reason: reason)
        case .ioFailed(let reason):
            throw HubError.cacheIO(path: partial, reason: reason)
        case .none:
            throw HubError.unreachable(
                url: url.absoluteString, destination: destination, reason: "the transfer did not finish")
        }
    }
}

/// The URLSession delegate writing received bytes straight to the partial file.
private final class TransferSink: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    enum Outcome {
        case success
        case status(Int)
        case failed(String, timedOut: Bool)
        case ioFailed(String)
    }

    private let path: String
    private let resumeFrom: Int64
    private let fileName: String
    private let progress: (@Sendable (DownloadProgress) -> Void)?
    private let state = NSCondition()
    // Guarded by `state`.
    private var finished = false
    private var _outcome: Outcome?
    private var _lastActivity = Date()
    // Touched only on the session's serial delegate queue.
    private var fd: Int32 = -1
    private var received: Int64 = 0
    private var expected: Int64?

    init(path: String, resumeFrom: Int64, fileName: String, progress: (@Sendable (DownloadProgress) -> Void)?) {
        self.path = path
        self.resumeFrom = resumeFrom
        self.fileName = fileName
        self.progress = progress
    }

    var outcome: Outcome? {
        state.lock()
        defer { state.unlock() }
        return _outcome
    }
    var lastActivity: Date {
        state.lock()
        defer { state.unlock() }
        return _lastActivity
    }

    /// Waits up to `seconds` for the end of the transfer; true when it ended.
    func wait(seconds: TimeInterval) -> Bool {
        state.lock()
        defer { state.unlock() }
        if !finished { _ = state.wait(until: Date().addingTimeInterval(seconds)) }
        return finished
    }

    private func touch() {
        state.lock()
        _lastActivity = Date()
        state.unlock()
    }

    private func finish(_ outcome: Outcome) {
        if fd >= 0 {
            close(fd)
            fd = -1
        }
        state.lock()
        if _outcome == nil { _outcome = outcome }
        finished = true
        state.broadcast()
        state.unlock()
    }

    func urlSession(
        _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
        completionHandler: @escaping (URLSession.ResponseDisposition) -> Void
    ) {
        touch()
        let status = (response as? HTTPURLResponse)?.statusCode ?? 200
        let length = response.expectedContentLength >= 0 ? response.expectedContentLength : nil
        var flags = O_WRONLY | O_CREAT | O_CLOEXEC
        switch status {
        case 206 where resumeFrom > 0:
            // Resuming: keep the bytes we have.
            flags |= O_APPEND
            received = resumeFrom
            expected = length.map { $0 + resumeFrom }
        case 200:
            // A full body (a server that ignores Range, or a fresh start): begin again.
            flags |= O_TRUNC
            received = 0
            expected = length
        default:
            state.lock()
            _outcome = .status(status)
            state.unlock()
            completionHandler(.cancel)
            return
        }
        fd = open(path, flags, 0o644)
        if fd < 0 {
            state.lock()
            _outcome = .ioFailed(String(cString: strerror(errno)))
            state.unlock()
            completionHandler(.cancel)
            return
        }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        touch()
        guard fd >= 0 else { return }
        let ok = data.withUnsafeBytes { raw -> Bool in
            var done = 0
            while done < raw.count {
                let n = write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                done += n
            }
            return true
        }
        guard ok else {
            let reason = String(cString: strerror(errno))
            state.lock()
            _outcome = .ioFailed(reason)
            state.unlock()
            dataTask.cancel()
            return
        }
        received += Int64(data.count)
        progress?(
            DownloadProgress(
                fileName: fileName, bytesReceived: received, bytesExpected: expected, bytesResumed: resumeFrom))
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        if let error {
            let code = (error as? URLError)?.code
            finish(.failed(error.localizedDescription, timedOut: code == .timedOut))
        } else if let expected, received < expected {
            finish(.failed("connection closed after \(received) of \(expected) bytes", timedOut: false))
        } else {
            finish(.success)
        }
    }
}
