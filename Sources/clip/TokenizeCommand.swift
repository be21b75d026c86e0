import ArgumentParser

struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tokenize", abstract: "Not implemented yet.")
    func run() throws { throw ValidationError("'tokenize' is not implemented yet") }
}
