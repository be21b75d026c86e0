import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Headless Chromium (Debian's `chromium-headless-shell` or `chromium`), driven over the
/// DevTools protocol on a pipe: Chromium reads NUL-terminated JSON commands from fd 3 and
/// writes answers and events to fd 4 (`--remote-debugging-pipe`, what Puppeteer uses). No
/// websocket, no port, no extra package.
///
/// ```swift
/// let browser = try Chromium.launch()
/// let tab = try browser.newTab(width: 1280, height: 800)
/// try tab.navigate("http://127.0.0.1:8080/")
/// let title = try tab.evaluate("document.title") as? String
/// ```
final class Chromium: @unchecked Sendable {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    private let pid: pid_t
    private let commands: Int32  // our end of Chromium's fd 3
    private let answers: Int32  // our end of Chromium's fd 4
    private var buffer: [UInt8] = []
    private var nextID = 0
    private let profile: URL
    /// Chromium's own log (stderr), for failure messages.
    let logURL: URL

    /// The browser binary: `$CLIP_CHROMIUM`, else the first of Debian's names on PATH.
    static var executable: String? {
        if let given = ProcessInfo.processInfo.environment["CLIP_CHROMIUM"], !given.isEmpty { return given }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for name in ["chromium-headless-shell", "chromium", "chromium-browser"] {
            for folder in path.split(separator: ":") {
                let candidate = "\(folder)/\(name)"
                if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            }
        }
        return nil
    }

    static func launch() throws -> Chromium {
        guard let executable else {
            throw Failure(description: "no Chromium found: run scripts/setup --browser (or set CLIP_CHROMIUM)")
        }
        return try Chromium(executable: executable)
    }

    private init(executable: String) throws {
        profile = FileManager.default.temporaryDirectory.appendingPathComponent("clip-chromium-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: profile, withIntermediateDirectories: true)
        logURL = profile.appendingPathComponent("chromium.log")
        var toChrome: [Int32] = [0, 0], fromChrome: [Int32] = [0, 0]
        guard pipe(&toChrome) == 0, pipe(&fromChrome) == 0 else { throw Failure(description: "pipe failed") }
        // Copies above 10, close-on-exec, so that dup2 onto 3 and 4 cannot clobber one another.
        let chromeReads = fcntl(toChrome[0], F_DUPFD_CLOEXEC, 10)
        let chromeWrites = fcntl(fromChrome[1], F_DUPFD_CLOEXEC, 10)
        commands = fcntl(toChrome[1], F_DUPFD_CLOEXEC, 10)
        answers = fcntl(fromChrome[0], F_DUPFD_CLOEXEC, 10)
        for fd in toChrome + fromChrome { closeDescriptor(fd) }
        defer {
            closeDescriptor(chromeReads)
            closeDescriptor(chromeWrites)
        }
        // --no-sandbox: CI runs as root in a container, where Chromium's sandbox cannot start;
        // the browser only ever loads this test's own page on loopback.
        let arguments = [
            executable, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
            "--user-data-dir=\(profile.path)", "--no-first-run", "--no-default-browser-check", "--hide-scrollbars",
            "--mute-audio", "--disable-extensions", "--disable-background-networking", "--disable-dev-shm-usage",
            "--force-color-profile=srgb", "--font-render-hinting=none", "about:blank",
        ]
        #if canImport(Glibc)
            var actions = posix_spawn_file_actions_t()
        #else
            var actions: posix_spawn_file_actions_t?
        #endif
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, chromeReads, 3)
        posix_spawn_file_actions_adddup2(&actions, chromeWrites, 4)
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logURL.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var child: pid_t = 0
        let status = posix_spawn(&child, executable, &actions, nil, argv, environ)
        guard status == 0 else {
            closeDescriptor(commands)
            closeDescriptor(answers)
            throw Failure(description: "cannot start \(executable): \(String(cString: strerror(status)))")
        }
        pid = child
    }

    deinit { close() }

    private var closed = false

    /// Closes the browser (Browser.close, then SIGKILL if it lingers) and removes its profile.
    func close() {
        guard !closed else { return }
        closed = true
        _ = try? send("Browser.close", timeout: 5)
        var status: Int32 = 0
        let deadline = Date().addingTimeInterval(5)
        while waitpid(pid, &status, WNOHANG) == 0 {
            if Date() > deadline {
                kill(pid, SIGKILL)
                waitpid(pid, &status, 0)
                break
            }
            usleep(20_000)
        }
        closeDescriptor(commands)
        closeDescriptor(answers)
        try? FileManager.default.removeItem(at: profile)
    }

    /// Sends one command and waits for its answer (events in between are dropped).
    @discardableResult
    func send(_ method: String, _ parameters: [String: Any] = [:], session: String? = nil, timeout: Double = 30)
        throws -> [String: Any]
    {
        nextID += 1
        let id = nextID
        var message: [String: Any] = ["id": id, "method": method, "params": parameters]
        if let session { message["sessionId"] = session }
        var bytes = [UInt8](try JSONSerialization.data(withJSONObject: message))
        bytes.append(0)
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(commands, $0.baseAddress, $0.count) }
            guard written > 0 else { throw Failure(description: "Chromium closed its pipe (\(method)); \(logTail())") }
            offset += written
        }
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let answer = try nextMessage(deadline: deadline, method: method)
            guard answer["id"] as? Int == id else { continue }
            if let error = answer["error"] as? [String: Any] {
                throw Failure(description: "\(method): \(error["message"] as? String ?? "\(error)")")
            }
            return answer["result"] as? [String: Any] ?? [:]
        }
    }

    private func nextMessage(deadline: Date, method: String) throws -> [String: Any] {
        while true {
            if let end = buffer.firstIndex(of: 0) {
                let message = Array(buffer[..<end])
                buffer.removeSubrange(...end)
                return (try JSONSerialization.jsonObject(with: Data(message))) as? [String: Any] ?? [:]
            }
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else { throw Failure(description: "\(method): no answer from Chromium in time") }
            var descriptor = pollfd(fd: answers, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, Int32(min(remaining, 1) * 1000)) >= 0 else { continue }
            guard descriptor.revents != 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            let count = read(answers, &chunk, chunk.count)
            guard count > 0 else { throw Failure(description: "Chromium exited (\(method)); \(logTail())") }
            buffer.append(contentsOf: chunk[..<count])
        }
    }

    func logTail() -> String {
        let text = (try? String(contentsOf: logURL, encoding: .utf8)) ?? ""
        return "Chromium log: " + text.split(separator: "\n").suffix(5).joined(separator: " | ")
    }

    /// A new tab of `width x height` CSS pixels (`mobile`: a phone's viewport and touch).
    func newTab(width: Int, height: Int, mobile: Bool = false) throws -> Tab {
        let target = try send("Target.createTarget", ["url": "about:blank"])["targetId"] as? String ?? ""
        let session =
            try send("Target.attachToTarget", ["targetId": target, "flatten": true])["sessionId"] as? String ?? ""
        let tab = Tab(browser: self, session: session)
        try tab.send(
            "Emulation.setDeviceMetricsOverride",
            ["width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile])
        try tab.send("Page.enable")
        try tab.send("Runtime.enable")
        // Test-side only (never part of the page): record uncaught errors and failed promises
        // of every document this tab loads, for ``Tab/errors()``.
        try tab.send(
            "Page.addScriptToEvaluateOnNewDocument",
            [
                "source": """
                window.__clipTestErrors = [];
                addEventListener('error', e => __clipTestErrors.push(String(e.message)));
                addEventListener('unhandledrejection', e => __clipTestErrors.push(String(e.reason)));
                """
            ])
        return tab
    }

    /// One page, addressed by its DevTools session.
    struct Tab {
        let browser: Chromium
        let session: String

        @discardableResult
        func send(_ method: String, _ parameters: [String: Any] = [:], timeout: Double = 30) throws -> [String: Any] {
            try browser.send(method, parameters, session: session, timeout: timeout)
        }

        func navigate(_ url: String) throws {
            let result = try send("Page.navigate", ["url": url])
            if let error = result["errorText"] as? String { throw Failure(description: "navigate \(url): \(error)") }
            try waitUntil("document.readyState === 'complete'")
        }

        /// The value of a JavaScript expression (promises awaited); exceptions throw.
        @discardableResult
        func evaluate(_ expression: String) throws -> Any? {
            let result = try send(
                "Runtime.evaluate", ["expression": expression, "returnByValue": true, "awaitPromise": true])
            if let exception = result["exceptionDetails"] as? [String: Any] {
                let text = (exception["exception"] as? [String: Any])?["description"] as? String
                throw Failure(description: "\(expression): \(text ?? exception["text"] as? String ?? "exception")")
            }
            return (result["result"] as? [String: Any])?["value"]
        }

        /// The uncaught errors and unhandled promise rejections of the current document.
        func errors() throws -> [String] {
            try evaluate("window.__clipTestErrors || ['error recorder missing']") as? [String] ?? ["unreadable"]
        }

        /// Polls `condition` (a JavaScript expression) every 50 ms until it is true.
        func waitUntil(_ condition: String, timeout: Double = 30) throws {
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                if try evaluate("Boolean(\(condition))") as? Bool == true { return }
                usleep(50_000)
            }
            throw Failure(description: "timed out waiting for \(condition)")
        }

        /// A PNG of the viewport.
        func screenshot() throws -> Data {
            let result = try send("Page.captureScreenshot", ["format": "png"])
            guard let text = result["data"] as? String, let data = Data(base64Encoded: text) else {
                throw Failure(description: "no screenshot data")
            }
            return data
        }

        /// Chooses files in the `<input type=file>` that `selector` finds, as a user would.
        func setFiles(_ selector: String, _ paths: [String]) throws {
            let root = try send("DOM.getDocument")["root"] as? [String: Any]
            let node = try send("DOM.querySelector", ["nodeId": root?["nodeId"] ?? 0, "selector": selector])
            try send("DOM.setFileInputFiles", ["files": paths, "nodeId": node["nodeId"] ?? 0])
        }

        /// Drags files from outside the browser and drops them at (x, y), as a user would
        /// (Input.dispatchDragEvent: dragEnter, dragOver, drop).
        func dropFiles(_ paths: [String], x: Double, y: Double) throws {
            let data: [String: Any] = ["items": [], "files": paths, "dragOperationsMask": 1]
            for type in ["dragEnter", "dragOver", "drop"] {
                try send("Input.dispatchDragEvent", ["type": type, "x": x, "y": y, "data": data])
            }
        }

        /// Types text into the focused element, then presses Enter.
        func type(_ text: String, thenEnter: Bool = true) throws {
            try send("Input.insertText", ["text": text])
            if thenEnter { try press("\r", key: "Enter", code: "Enter", keyCode: 13) }
        }

        /// Presses Enter on the focused element (submits a form, activates a button).
        func pressEnter() throws { try press("\r", key: "Enter", code: "Enter", keyCode: 13) }

        /// Presses a key; `text` is what it types ("/", "\r" for Enter), which is what makes
        /// Chromium send `keypress` and activate buttons.
        func press(_ text: String, key: String? = nil, code: String, keyCode: Int) throws {
            let key = key ?? text
            try send(
                "Input.dispatchKeyEvent",
                ["type": "keyDown", "key": key, "code": code, "windowsVirtualKeyCode": keyCode, "text": text])
            try send(
                "Input.dispatchKeyEvent", ["type": "keyUp", "key": key, "code": code, "windowsVirtualKeyCode": keyCode])
        }
    }
}

/// `close(2)`, named apart from ``Chromium/close()``.
private func closeDescriptor(_ fd: Int32) {
    _ = close(fd)
}
