import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 14 case 5: `--model` naming a FIFO used to hang in open(2). It must exit 66 at once with
/// an error that says what the path is. Run under timeout(1) so that a regression fails (exit
/// 124) instead of hanging the suite.
@Suite struct ModelFileTypeTests {
    @Test func fifoAsModelExits66WithoutBlocking() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("clip-fifo-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let fifo = folder.appendingPathComponent("model.pt")
        #expect(mkfifo(fifo.path, 0o600) == 0)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        process.arguments = ["20", CLIRunner.executable.path, "embed", "--model", fifo.path, "--text", "hi"]
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus != 124, "clip still blocked on the FIFO after 20 s")
        #expect(process.terminationStatus == 66, "\(stderr)")
        #expect(stderr.contains("a FIFO (named pipe), not a regular file or folder"), "\(stderr)")
    }

    /// A character device is refused the same way (and never opened).
    @Test func deviceAsModelExits66() throws {
        let r = try CLIRunner.run(["embed", "--model", "/dev/zero", "--text", "hi"])
        #expect(r.status == 66, "\(r.stderr)")
        #expect(r.stderr.contains("a character device, not a regular file or folder"), "\(r.stderr)")
    }
}
