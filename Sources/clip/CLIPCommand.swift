import ArgumentParser
import CLIP
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
            SynthCommand.self,
            ModelsCommand.self,
            DownloadCommand.self,
            ConvertCommand.self,
            HiddenStatesCommand.self,
        ]
    )

    /// Takes out the global options, then runs the subcommand as ArgumentParser would.
    static func main() async {
        switch GlobalOptions.extract(Array(CommandLine.arguments.dropFirst())) {
        case .success(let arguments):
            await main(arguments)
        case .failure(let code):
            exit(withError: code)
        }
    }
}
