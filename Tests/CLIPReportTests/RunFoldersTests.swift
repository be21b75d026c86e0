import Foundation
import Testing

@testable import CLIPReport

/// `--runs DIR` lookups: only plain names of runs inside DIR, never a way out of it.
@Suite struct RunFoldersTests {
    @Test func namesAndTraversal() throws {
        let fm = FileManager.default
        let base = fm.temporaryDirectory.appendingPathComponent("runs-\(UUID().uuidString)")
        defer { try? fm.removeItem(at: base) }
        let root = base.appendingPathComponent("runs"), outside = base.appendingPathComponent("secret")
        for run in [root.appendingPathComponent("a"), root.appendingPathComponent("b"), outside] {
            try fm.createDirectory(at: run, withIntermediateDirectories: true)
            try Data("{\"step\":1}\n".utf8).write(to: run.appendingPathComponent("log.jsonl"))
        }
        try fm.createDirectory(at: root.appendingPathComponent("not-a-run"), withIntermediateDirectories: true)
        try fm.createSymbolicLink(at: root.appendingPathComponent("link"), withDestinationURL: outside)
        // A run inside whose log is a link to a file outside.
        let sneaky = root.appendingPathComponent("sneaky")
        try fm.createDirectory(at: sneaky, withIntermediateDirectories: true)
        try fm.createSymbolicLink(
            at: sneaky.appendingPathComponent("log.jsonl"),
            withDestinationURL: outside.appendingPathComponent("log.jsonl"))

        let runs = RunFolders(root: root)
        #expect(runs.names() == ["a", "b", "sneaky"])
        for name in [
            "", ".", "..", "../secret", "a/..", "link", ".hidden", "a\u{0}", "not-a-run", "missing", "..\\secret",
        ] {
            #expect(runs.run(named: name) == nil, "\(name) resolved")
        }
        #expect(runs.run(named: "a") != nil)
        // The log behind the link is outside: the report of "sneaky" has no lines from it.
        let report = try TrainingReport.load(runDirectory: sneaky, within: root)
        #expect(report.history.stepCount == 0)
        #expect(try TrainingReport.load(runDirectory: sneaky).history.stepCount == 1, "without a root it is read")
    }
}
