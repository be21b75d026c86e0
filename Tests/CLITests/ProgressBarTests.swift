import Foundation
import Testing

@testable import CLISupport

/// The shared progress reporter: what it draws on a terminal and in a log, and that `quiet`
/// silences both (the `--quiet` flag sets it for every bar).
@Suite struct ProgressBarTests {
    /// Collects what a bar writes.
    final class Recorder: @unchecked Sendable {
        private let lock = NSLock()
        private var parts: [String] = []
        var text: String { lock.withLock { parts.joined() } }
        func sink(terminal: Bool) -> ProgressBar.Sink {
            ProgressBar.Sink(isTerminal: terminal) { [self] s in lock.withLock { parts.append(s) } }
        }
    }

    static let start = Date(timeIntervalSinceReferenceDate: 0)

    /// A resumed 100-step run: steps 21...100 at one step per second, with loss text.
    func run(terminal: Bool, quiet: Bool, offTerminal: ProgressBar.OffTerminal) -> String {
        let recorder = Recorder()
        let bar = ProgressBar(
            label: "step", total: 100, unit: .steps, delay: 0, offTerminal: offTerminal, quiet: quiet,
            sink: recorder.sink(terminal: terminal), start: Self.start)
        bar.setBaseline(20)
        for step in 21...100 {
            bar.update(
                done: Int64(step), detail: "loss \(step)", now: Self.start.addingTimeInterval(Double(step - 20)))
        }
        bar.finish()
        return recorder.text
    }

    @Test func logLinesAtEveryTenth() {
        let lines = run(terminal: false, quiet: false, offTerminal: .linePerTenth).split(separator: "\n")
        // Steps 21 (tenth 2), 30, 40, ..., 100: nine lines, the last one complete.
        #expect(lines.count == 9, "\(lines)")
        #expect(
            lines.first == "step [#####...................]  21% 21/100 1.00 steps/s ETA 1m19s loss 21",
            "\(lines.first ?? "")")
        #expect(
            lines.last == "step [########################] 100% 100/100 1.00 steps/s loss 100", "\(lines.last ?? "")")
    }

    @Test func terminalRedrawsInPlace() {
        let text = run(terminal: true, quiet: false, offTerminal: .silent)
        #expect(text.hasPrefix("\rstep [") && text.hasSuffix("loss 100\u{1B}[K\n"), "\(text.suffix(80))")
        #expect(!text.dropLast().contains("\n"))
    }

    @Test(arguments: [(false, ProgressBar.OffTerminal.linePerTenth), (true, .silent), (true, .linePerTenth)])
    func quietDrawsNothing(_ terminal: Bool, _ offTerminal: ProgressBar.OffTerminal) {
        #expect(run(terminal: terminal, quiet: true, offTerminal: offTerminal).isEmpty)
    }

    @Test func silentOffTerminalByDefault() {
        #expect(run(terminal: false, quiet: false, offTerminal: .silent).isEmpty)
    }

    @Test func bytesAndUnknownTotals() {
        let bar = ProgressBar(label: "x.pt", total: nil, unit: .bytes, quiet: true)
        #expect(bar.line(done: 3_000_000, elapsed: 2) == "x.pt 3.0 MB 1.5 MB/s")
        let items = ProgressBar(label: "embedding", total: 40, unit: .items, quiet: true)
        #expect(items.line(done: 10, elapsed: 0.5) == "embedding [######..................]  25% 10/40 20/s ETA 2s")
    }
}
