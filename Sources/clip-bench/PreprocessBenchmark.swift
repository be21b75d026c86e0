import ArgumentParser

struct PreprocessBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "preprocess", abstract: "Not implemented yet.")
    func run() throws { print("preprocess benchmark: not implemented yet") }
}
