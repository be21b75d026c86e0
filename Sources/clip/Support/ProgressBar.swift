import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A one-line progress bar on stderr for work that takes more than about two seconds:
/// `label [#####.....] 45% 150.0/338.0 MB 21.4 MB/s ETA 9s`. It stays silent when stderr is not
/// a terminal, with `--quiet`, and for work that finishes within the first two seconds.
///
/// ```swift
/// let bar = ProgressBar(label: "ViT-B-32.pt", total: 354_000_000, unit: .bytes)
/// bar.update(done: 1_000_000)
/// bar.finish()
/// ```
final class ProgressBar: @unchecked Sendable {
    enum Unit { case bytes, items }

    private let label: String
    private let unit: Unit
    private let lock = NSLock()
    private let start = Date()
    private let enabled: Bool
    private var total: Int64?
    private var baseline: Int64 = 0
    private var lastDraw = Date.distantPast
    private var drawn = false

    /// `total` may be nil (unknown) and set later with `update(done:total:)`.
    init(label: String, total: Int64?, unit: Unit, delay: TimeInterval = 2) {
        self.label = label
        self.total = total
        self.unit = unit
        self.delay = delay
        enabled = isatty(STDERR_FILENO) == 1 && GlobalOptions.verbosity > .quiet
    }

    private let delay: TimeInterval

    /// Bytes or items that were done before this run started (a resumed download): not counted in the rate.
    func setBaseline(_ value: Int64) { lock.withLock { baseline = value } }

    func update(done: Int64, total newTotal: Int64? = nil) {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        if let newTotal { total = newTotal }
        let now = Date()
        let elapsed = now.timeIntervalSince(start)
        // Redraw at most ten times a second, and only once the work has lasted `delay` seconds.
        guard elapsed >= delay, now.timeIntervalSince(lastDraw) >= 0.1 || done == total else { return }
        lastDraw = now
        drawn = true
        FileHandle.standardError.write(Data(("\r" + line(done: done, elapsed: elapsed) + "\u{1B}[K").utf8))
    }

    /// Ends the line if a bar was drawn.
    func finish() {
        lock.lock()
        defer { lock.unlock() }
        if drawn { FileHandle.standardError.write(Data("\n".utf8)) }
        drawn = false
    }

    func line(done: Int64, elapsed: TimeInterval) -> String {
        var text = label
        let rate = elapsed > 0 ? Double(max(0, done - baseline)) / elapsed : 0
        if let total, total > 0 {
            let fraction = min(1, Double(done) / Double(total))
            let width = 24, filled = Int(fraction * Double(width))
            text += " [" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "]"
            text += String(format: " %3d%% ", Int(fraction * 100)) + amount(done) + "/" + amount(total)
            text += " " + amount(Int64(rate)) + "/s"
            if rate > 0 && done < total { text += " ETA " + Self.duration(Double(total - done) / rate) }
        } else {
            text += " " + amount(done) + " " + amount(Int64(rate)) + "/s"
        }
        return text
    }

    private func amount(_ value: Int64) -> String {
        switch unit {
        case .items: "\(value)"
        case .bytes: String(format: "%.1f MB", Double(value) / 1_000_000)
        }
    }

    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? "\(s / 3600)h\(s % 3600 / 60)m" : s >= 60 ? "\(s / 60)m\(s % 60)s" : "\(s)s"
    }
}
