import Testing

@Test func selfCheckPassesAndReportsEachKernel() throws {
    let result = try CLIRunner.run(["selfcheck"])
    #expect(result.status == 0, "stderr: \(result.stderr)")
    #expect(result.stdout.contains("all 4 checks passed"), "\(result.stdout)")
    #expect(!result.stdout.contains("FAIL"))
}
