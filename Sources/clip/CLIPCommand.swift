import ArgumentParser

/// The `clip` command-line tool: one subcommand per file in this folder.
@main
struct CLIPCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clip",
        abstract: "OpenAI's CLIP in Swift: embeddings, zero-shot classification, tokenization, preprocessing.",
        subcommands: [
            SelfCheckCommand.self,
            TokenizeCommand.self,
            PreprocessCommand.self,
            EmbedCommand.self,
            ClassifyCommand.self,
            InfoCommand.self,
        ]
    )
}
