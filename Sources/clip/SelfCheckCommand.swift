import ArgumentParser
import CLIP
import CLISupport

/// `clip selfcheck`: verifies the tensor engine on this machine.
struct SelfCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "selfcheck",
        abstract: "Check the tensor engine's kernels against direct loops on this machine.",
        discussion: "Exits with status 1 if any check fails. Example: clip selfcheck")

    func run() throws {
        try Output.print("swift-clip engine self-check (\(Parallel.threadCount) threads)")
        let results = EngineSelfCheck.run()
        for r in results {
            try Output.print("  \(r.passed ? "ok  " : "FAIL") \(r.name)  max |diff| \(r.maxAbsoluteDifference)")
        }
        if results.contains(where: { !$0.passed }) { throw ExitCode(1) }
        try Output.print("all \(results.count) checks passed")
    }
}
