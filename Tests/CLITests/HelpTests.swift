import Testing

@Test func helpListsSubcommands() throws {
    let result = try CLIRunner.run(["--help"])
    #expect(result.status == 0)
    for name in ["tokenize", "preprocess", "selfcheck"] {
        #expect(result.stdout.contains(name), "help should mention \(name): \(result.stdout)")
    }
}
