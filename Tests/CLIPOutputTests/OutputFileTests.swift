import CLIPOutput
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// ``OutputFile``'s guarantees, one by one, on real files in a temporary folder.
@Suite final class OutputFileTests {
    let folder: URL

    deinit { try? FileManager.default.removeItem(at: folder) }

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("clip-output-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    var names: [String] { (try? FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()) ?? [] }

    @Test func nothingAppearsBeforeCommit() throws {
        let url = folder.appendingPathComponent("a.txt")
        let file = try OutputFile(path: url.path)
        try file.write("hello\n")
        #expect(!FileManager.default.fileExists(atPath: url.path))
        #expect(names.count == 1 && names[0].hasPrefix(".a.txt.\(getpid()).") && names[0].hasSuffix(".tmp"), "\(names)")
        try file.commit()
        #expect(try String(contentsOf: url, encoding: .utf8) == "hello\n")
        #expect(names == ["a.txt"])
    }

    @Test func discardKeepsTheOldFileAndRemovesTheTemporary() throws {
        let url = folder.appendingPathComponent("a.txt")
        try Data("old".utf8).write(to: url)
        do {
            let file = try OutputFile(path: url.path)
            try file.write("new")
            file.discard()
        }
        do {
            // Dropped without commit: the same.
            let file = try OutputFile(path: url.path)
            try file.write("newer")
        }
        #expect(try String(contentsOf: url, encoding: .utf8) == "old")
        #expect(names == ["a.txt"])
    }

    @Test func replacingKeepsPermissions() throws {
        let url = folder.appendingPathComponent("secret.json")
        try Data("old".utf8).write(to: url)
        chmod(url.path, 0o600)
        try OutputFile.write(Data("new".utf8), to: url)
        var info = stat()
        stat(url.path, &info)
        #expect(info.st_mode & 0o777 == 0o600)
        #expect(try String(contentsOf: url, encoding: .utf8) == "new")
    }

    @Test func folderIsRefusedUntouched() throws {
        let sub = folder.appendingPathComponent("photos")
        try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
        try Data("x".utf8).write(to: sub.appendingPathComponent("a.jpg"))
        #expect(throws: OutputError.isDirectory(path: sub.path)) { try OutputFile(path: sub.path) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: sub.path) == ["a.jpg"])
        #expect(names == ["photos"])
    }

    @Test func missingFolderIsAnError() {
        let path = folder.appendingPathComponent("no/such/dir/out.json").path
        #expect(throws: OutputError.self) { try OutputFile(path: path) }
    }

    @Test func deviceIsWrittenInto() throws {
        try OutputFile.write(Data("discarded".utf8), to: URL(fileURLWithPath: "/dev/null"))
        var info = stat()
        #expect(lstat("/dev/null", &info) == 0 && info.st_mode & S_IFMT == S_IFCHR)
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/dev/full")))
    func writeErrorIsTyped() throws {
        let file = try OutputFile(path: "/dev/full")
        #expect(throws: OutputError.self) { try file.write(Data(count: 1 << 16)) }
        let error = OutputError.writeFailed(path: "/dev/full", reason: "No space left on device")
        #expect(error.errorDescription == "cannot write /dev/full: No space left on device")
        #expect(error.recoverySuggestion != nil)
    }
}
