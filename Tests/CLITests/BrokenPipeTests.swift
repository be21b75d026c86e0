import CLIPTestSupport
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `clip` and `clip-index` with their output going nowhere: a pipe whose reader has gone. A
/// message on a closed stderr must not change how a command ends (before, SIGPIPE killed it, or
/// `FileHandle.standardError.write` trapped where SIGPIPE was ignored); a closed stdout ends
/// the command quietly by SIGPIPE, as `yes | head -1` ends `yes`. Each child starts with every
/// signal at its default action, as from a shell.
@Suite("closed pipes: stderr never ends a command, a closed stdout ends it quietly")
struct BrokenPipeTests {
    static var clipIndex: String { CLIRunner.productsDirectory.appendingPathComponent("clip-index").path }

    /// A folder with one demo image and one file that is not an image, and its index.
    static func indexedFolder() throws -> URL {
        let root = try IndexCommandTests.folder(images: 1)
        try Data("not an image".utf8).write(to: root.appendingPathComponent("photos/broken.png"))
        let result = try IndexCommandTests.index(root, ["--model", IndexCommandTests.model])
        #expect(result.status == 0 && result.stderr.contains("broken.png"), "\(result.stderr)")
        return root
    }

    /// Each command writes `error:` lines on stderr; with stderr a broken pipe it still ends
    /// with its usual status.
    @Test func aClosedStandardErrorLeavesTheExitStatusAlone() throws {
        let root = try Self.indexedFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        let missing = root.appendingPathComponent("missing.sqlite").path
        let clip = CLIRunner.executable.path
        let cases: [(String, String, [String], Int32)] = [
            ("usage error", clip, ["tokenize", "--context-length", "0", "hi"], 64),
            ("unreadable model", clip, ["embed", "--model", missing, "--text", "hi"], 66),
            ("clip-index: not an index", Self.clipIndex, ["search", "cat", "--db", missing], 65),
            ("clip search, forwarded to clip-index", clip, ["search", "cat", "--db", missing], 65),
            // A failed file is an `error:` line, then indexing goes on and ends normally.
            (
                "clip index with an unreadable image", clip,
                [
                    "index", root.appendingPathComponent("photos").path, "--db",
                    root.appendingPathComponent("again.sqlite").path, "--model", IndexCommandTests.model,
                ], 0
            ),
        ]
        for (name, program, arguments, status) in cases {
            let stderr = ChildProcess.brokenPipe()
            defer { close(stderr) }
            let ending = try ChildProcess.run(program, arguments, stderr: stderr)
            #expect(ending == .exited(status), "\(name): \(ending), expected exit status \(status)")
        }
    }

    /// A reader that leaves early (`clip search cat | head -0`): the command dies of SIGPIPE and
    /// says nothing; a full disk behind stdout is still exit 74 with an `error:` line.
    @Test func aClosedStandardOutputEndsTheCommandQuietly() throws {
        let root = try Self.indexedFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        let db = root.appendingPathComponent("i.sqlite").path
        let clip = CLIRunner.executable.path
        let cases: [(String, String, [String])] = [
            ("clip tokenize", clip, ["tokenize", "hi"]),
            ("clip-index search", Self.clipIndex, ["search", "cat", "--db", db]),
            ("clip search", clip, ["search", "cat", "--db", db]),
        ]
        for (name, program, arguments) in cases {
            let log = root.appendingPathComponent("stderr.txt")
            FileManager.default.createFile(atPath: log.path, contents: nil)
            let stderr = open(log.path, O_WRONLY | O_TRUNC)
            let stdout = ChildProcess.brokenPipe()
            let ending = try ChildProcess.run(program, arguments, stdout: stdout, stderr: stderr)
            close(stdout)
            close(stderr)
            #expect(ending == .signalled(SIGPIPE), "\(name): \(ending)")
            let said = try String(contentsOf: log, encoding: .utf8)
            #expect(said.isEmpty, "\(name) printed on stderr: \(said)")

            let full = open("/dev/full", O_WRONLY)
            defer { close(full) }
            let log2 = open(log.path, O_WRONLY | O_TRUNC)
            let onFullDisk = try ChildProcess.run(program, arguments, stdout: full, stderr: log2)
            close(log2)
            #expect(onFullDisk == .exited(74), "\(name) on /dev/full: \(onFullDisk)")
            let error = try String(contentsOf: log, encoding: .utf8)
            #expect(error.hasPrefix("error: cannot write standard output: No space left"), "\(name): \(error)")
        }
    }
}
