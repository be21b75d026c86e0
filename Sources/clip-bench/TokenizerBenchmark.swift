import ArgumentParser

struct TokenizerBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tokenizer", abstract: "Not implemented yet.")
    func run() throws { print("tokenizer benchmark: not implemented yet") }
}
