import ArgumentParser
import CLIP
import CLIPIndex
import CLISupport
import Foundation

/// `clip-index`: `clip index` and `clip search` (which `clip` forwards here). A separate
/// executable so that building `clip` never waits for SQLite and GRDB.
@main
struct ClipIndexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clip-index",
        abstract: "Search your photos by text or by image: `clip index` and `clip search`.",
        discussion: """
            `clip index` and `clip search` run this program; it can also be called directly.

            Options for every subcommand: --quiet, --verbose, --threads N (as in `clip`).
            Exit status: 0 success, 64 bad command line or query, 65 bad input (not an index, unreadable \
            folder), 66 model cannot be loaded or differs from the index's, 74 index cannot be written.
            """,
        subcommands: [IndexCommand.self, SearchCommand.self, BenchScanCommand.self, SynthIndexCommand.self]
    )

    static func main() {
        // A closed stderr or pipe is an error, not a signal (StandardStreams).
        StandardStreams.ignoreBrokenPipeSignal()
        switch GlobalOptions.extract(Array(CommandLine.arguments.dropFirst())) {
        case .success(let arguments): main(arguments)
        case .failure(let code): exit(withError: code)
        }
    }
}

/// `--db FILE`, shared by index and search.
struct DatabaseOption: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "The index file (default: $CLIP_INDEX, else $XDG_DATA_HOME/swift-clip/index.sqlite, else ~/.local/share/swift-clip/index.sqlite).",
            valueName: "file"))
    var db: String?

    var url: URL { db.map { URL(fileURLWithPath: $0) } ?? ImageIndex.defaultURL() }
}
