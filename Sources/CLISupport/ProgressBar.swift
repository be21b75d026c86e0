import CLIP
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The one progress reporter of `clip` and `clip-index`: a line on stderr for downloads,
/// hashing, conversion, embedding, indexing, evaluation and training steps,
/// `label [#####...................]  21% 150/700 2.50 steps/s ETA 3m40s loss 1.2345`.
///
/// On a terminal the line is redrawn in place (at most ten times a second) once the work has
/// lasted `delay` seconds. When stderr is not a terminal it is silent, or, with
/// `offTerminal: .linePerTenth`, prints one full line at every tenth of the work and at the end
/// (for training logs). `--quiet` silences it everywhere.
///
/// ```swift
/// let bar = ProgressBar(label: "ViT-B-32.pt", total: 354_000_000, unit: .bytes)
/// bar.update(done: 1_000_000)
/// bar.finish()
///
/// // A step counter with loss text (resumed at step 200, so the rate counts new steps only):
/// let steps = ProgressBar(label: "step", total: 1000, unit: .steps, delay: 0, offTerminal: .linePerTenth)
/// steps.setBaseline(200)
/// steps.update(done: 201, detail: String(format: "loss %.4f lr %.2e", loss, lr))
/// steps.finish()
/// ```
package final class ProgressBar: @unchecked Sendable {
    /// What is counted: bytes print as MB, items and steps as counts.
    package enum Unit: Sendable { case bytes, items, steps }

    /// What the bar does when stderr is not a terminal.
    package enum OffTerminal: Sendable { case silent, linePerTenth }

    /// Where the bar draws; tests pass a recorder.
    package struct Sink: Sendable {
        package var isTerminal: Bool
        package var write: @Sendable (String) -> Void

        package init(isTerminal: Bool, write: @escaping @Sendable (String) -> Void) {
            self.isTerminal = isTerminal
            self.write = write
        }

        package static var standardError: Sink {
            Sink(isTerminal: isatty(STDERR_FILENO) == 1) { StandardStreams.printError($0) }
        }
    }

    private let label: String
    private let unit: Unit
    private let delay: TimeInterval
    private let offTerminal: OffTerminal
    private let sink: Sink
    private let enabled: Bool
    private let lock = NSLock()
    private let start: Date
    private var total: Int64?
    private var baseline: Int64 = 0
    private var lastDraw = Date.distantPast
    private var lastTenth: Int64 = -1
    private var drawn = false

    /// `total` may be nil (unknown) and set later with `update(done:total:detail:)`.
    package init(
        label: String, total: Int64?, unit: Unit, delay: TimeInterval = 2, offTerminal: OffTerminal = .silent,
        quiet: Bool = GlobalOptions.verbosity == .quiet, sink: Sink = .standardError, start: Date = Date()
    ) {
        self.label = label
        self.total = total
        self.unit = unit
        self.delay = delay
        self.offTerminal = offTerminal
        self.sink = sink
        self.start = start
        enabled = !quiet && (sink.isTerminal || offTerminal == .linePerTenth)
    }

    /// Progress reported as (done, total) pairs, as the library's `progress:` callbacks do.
    package var reporter: (Int, Int) -> Void {
        { [self] done, total in update(done: Int64(done), total: Int64(total)) }
    }

    /// Work that was done before this run started (a resumed download or training run): not
    /// counted in the rate.
    package func setBaseline(_ value: Int64) { lock.withLock { baseline = value } }

    /// Reports `done` units (of `newTotal`, if it changed), with `detail` (e.g. the loss) after the counter.
    package func update(done: Int64, total newTotal: Int64? = nil, detail: String? = nil, now: Date = Date()) {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        if let newTotal { total = newTotal }
        let elapsed = now.timeIntervalSince(start)
        if sink.isTerminal {
            // Redraw at most ten times a second, and only once the work has lasted `delay` seconds.
            guard elapsed >= delay, now.timeIntervalSince(lastDraw) >= 0.1 || done == total else { return }
            lastDraw = now
            drawn = true
            sink.write("\r" + line(done: done, elapsed: elapsed, detail: detail) + "\u{1B}[K")
        } else {
            guard let total, total > 0 else { return }
            let tenth = min(10, done * 10 / total)
            guard tenth != lastTenth || done == total else { return }
            lastTenth = tenth
            sink.write(line(done: done, elapsed: elapsed, detail: detail) + "\n")
        }
    }

    /// Ends the line if a bar was drawn in place.
    package func finish() {
        lock.lock()
        defer { lock.unlock() }
        if drawn { sink.write("\n") }
        drawn = false
    }

    package func line(done: Int64, elapsed: TimeInterval, detail: String? = nil) -> String {
        var text = label
        let rate = elapsed > 0 ? Double(max(0, done - baseline)) / elapsed : 0
        if let total, total > 0 {
            let fraction = min(1, Double(done) / Double(total))
            let width = 24, filled = Int(fraction * Double(width))
            text += " [" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "]"
            text += String(format: " %3d%% ", Int(fraction * 100)) + amount(done) + "/" + amount(total)
            text += " " + rateText(rate)
            if rate > 0 && done < total { text += " ETA " + Self.duration(Double(total - done) / rate) }
        } else {
            text += " " + amount(done) + " " + rateText(rate)
        }
        if let detail, !detail.isEmpty { text += " " + detail }
        return text
    }

    private func amount(_ value: Int64) -> String {
        switch unit {
        case .items, .steps: "\(value)"
        case .bytes: String(format: "%.1f MB", Double(value) / 1_000_000)
        }
    }

    private func rateText(_ rate: Double) -> String {
        // Slow work (training steps, big images) keeps two decimals instead of showing "0/s".
        let count = rate < 10 ? String(format: "%.2f", rate) : String(format: "%.0f", rate)
        switch unit {
        case .bytes: return String(format: "%.1f MB/s", rate / 1_000_000)
        case .items: return count + "/s"
        case .steps: return count + " steps/s"
        }
    }

    package static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? "\(s / 3600)h\(s % 3600 / 60)m" : s >= 60 ? "\(s / 60)m\(s % 60)s" : "\(s)s"
    }
}
