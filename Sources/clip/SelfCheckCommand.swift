import ArgumentParser

struct SelfCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "selfcheck", abstract: "Checks the tensor engine against naive references and prints the result.")
    func run() throws { print("selfcheck: not implemented yet") }
}
