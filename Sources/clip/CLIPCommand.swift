import ArgumentParser
import CLIP
import CLISupport
import Foundation

/// The `clip` command-line tool: one subcommand per file in this folder.
@main
struct CLIPCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clip",
        abstract: "OpenAI's CLIP in Swift: embeddings, zero-shot classification, tokenization, preprocessing.",
        discussion: """
            Options for every subcommand (anywhere on the command line):
            \(GlobalOptions.help)

            --model takes a checkpoint path or a model name (`clip models`); named models are \
            downloaded into the cache on first use.

            Environment: CLIP_CACHE (cache folder), CLIP_OFFLINE=1 (never download), \
            CLIP_MODEL_MIRROR=https://host/prefix (replaces scheme and host of download URLs).

            Exit status: 0 success, 64 bad command line, 65 bad input data, 66 model cannot be found, \
            fetched or loaded, 74 output cannot be written.

            Examples:
              clip models
              clip embed --model ViT-B/32 --image cat.jpg --text "a photo of a cat"
              clip classify --model ViT-B/32 cat.jpg --labels cat,dog
            """,
        subcommands: [
            DemoCommand.self,
            SelfCheckCommand.self,
            TokenizeCommand.self,
            PreprocessCommand.self,
            EmbedCommand.self,
            ClassifyCommand.self,
            InfoCommand.self,
            EvalCommand.self,
            TrainCommand.self,
            ReportCommand.self,
            SynthCommand.self,
            ModelsCommand.self,
            DownloadCommand.self,
            ConvertCommand.self,
            HiddenStatesCommand.self,
            IndexStubCommand.self,
            SearchStubCommand.self,
            ServeCommand.self,
        ]
    )

    /// Takes out the global options, then runs the subcommand as ArgumentParser would
    /// (`AsyncParsableCommand.main`), mapping unhandled output errors to exit 74.
    static func main() async {
        unblockTerminationSignals()
        // A closed stderr or pipe is an error, not a signal; stdout's reader leaving still ends
        // the command quietly (StandardStreams).
        StandardStreams.ignoreBrokenPipeSignal()
        switch GlobalOptions.extract(Array(CommandLine.arguments.dropFirst())) {
        case .success(let arguments):
            // Photo search lives in the clip-index program (see IndexForwarding).
            if let first = arguments.first, IndexForwarding.commands.contains(first) {
                exit(withError: IndexForwarding.forward(Array(CommandLine.arguments.dropFirst())))
            }
            do {
                var command = try parseAsRoot(arguments)
                if var command = command as? AsyncParsableCommand {
                    try await command.run()
                } else {
                    try command.run()
                }
            } catch let error as OutputError {
                // A library writer's failure that no command mapped: still exit 74, one line.
                exit(withError: fail(error, .io))
            } catch {
                exit(withError: error)
            }
        case .failure(let code):
            exit(withError: code)
        }
    }
}

/// A blocked signal mask survives exec: a parent that starts `clip` from a libdispatch worker
/// thread (which blocks every signal, as Foundation's `Process` does from Swift Testing) would
/// leave SIGINT and SIGTERM pending forever. Ctrl-C and `kill` must reach `clip`: the removal of
/// temporary outputs and `clip train`'s checkpoint-on-interrupt depend on them. (Ignored
/// signals stay ignored: that is a choice, a blocked mask an accident.)
private func unblockTerminationSignals() {
    var signals = sigset_t()
    sigemptyset(&signals)
    for signal in [SIGINT, SIGTERM, SIGHUP] { sigaddset(&signals, signal) }
    pthread_sigmask(SIG_UNBLOCK, &signals, nil)
}
