import ArgumentParser
import CLIP
import CLISupport
import Foundation

/// `clip report DIR`: rebuilds a training run's report.html from its log.jsonl and newest
/// checkpoint (what `clip train` writes after every checkpoint), e.g. for a run made before
/// reports existed or to write the page elsewhere.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Rebuild the HTML report (curves and settings) of a training run folder.",
        discussion: """
            Reads DIR/log.jsonl and the trainer.json of DIR's newest checkpoint and writes one \
            self-contained page (inline SVG and CSS, no script, nothing fetched): loss, learning rate, \
            logit scale, gradient norm, samples per second and the validation metrics over steps, \
            with the run's model, data, settings, times and best values. `clip train` writes the same \
            page to DIR/report.html after every checkpoint; `clip serve --runs` serves them live.

            Examples:
              clip report run                      # writes run/report.html
              clip report run -o /tmp/run.html
            """)

    @Argument(help: ArgumentHelp("The run folder (a `clip train --output`).", valueName: "dir"))
    var folder: String

    @Option(
        name: [.short, .customLong("output")], help: "Where to write the page (default DIR/report.html; - for stdout).")
    var output: String?

    func run() throws {
        let run = URL(fileURLWithPath: folder)
        let report: TrainingReport
        do { report = try TrainingReport.load(runDirectory: run) } catch { throw fail(error, .input) }
        let path = output ?? run.appendingPathComponent(TrainingReport.fileName).path
        try Output.write(Data(report.html().utf8), to: path)
    }
}
