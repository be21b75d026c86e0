import ArgumentParser

struct PreprocessCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "preprocess", abstract: "Not implemented yet.")
    func run() throws { throw ValidationError("'preprocess' is not implemented yet") }
}
