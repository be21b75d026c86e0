import CLIP
import CLISupport
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `indexing [#####.....] 45% 4500/10000 files 38.2/s ETA 2m24s` on stderr, redrawn at most ten
/// times a second after the first two seconds, only when stderr is a terminal and not `--quiet`.
final class IndexProgressLine {
    private let label: String
    private let start = Date()
    private var lastDraw = Date.distantPast
    private var drawn = false
    private let enabled = isatty(STDERR_FILENO) == 1 && GlobalOptions.verbosity > .quiet

    init(label: String) { self.label = label }

    func update(done: Int, total: Int) {
        guard enabled else { return }
        let now = Date(), elapsed = now.timeIntervalSince(start)
        guard elapsed >= 2, now.timeIntervalSince(lastDraw) >= 0.1 || done == total else { return }
        lastDraw = now
        drawn = true
        let fraction = total > 0 ? min(1, Double(done) / Double(total)) : 1
        let filled = Int(fraction * 24), rate = Double(done) / elapsed
        var line = "\(label) [" + String(repeating: "#", count: filled) + String(repeating: ".", count: 24 - filled)
        line += "] " + String(format: "%3d%% %d/%d files %.1f/s", Int(fraction * 100), done, total, rate)
        if rate > 0 && done < total { line += " ETA " + Self.duration(Double(total - done) / rate) }
        StandardStreams.printError("\r" + line + "\u{1B}[K")
    }

    /// Ends the line (before an error line, and at the end).
    func finish() {
        if drawn { StandardStreams.printError("\n") }
        drawn = false
    }

    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? "\(s / 3600)h\(s % 3600 / 60)m" : s >= 60 ? "\(s / 60)m\(s % 60)s" : "\(s)s"
    }
}
