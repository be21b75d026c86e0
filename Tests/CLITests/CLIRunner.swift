import CLIPTestSupport
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Runs the built `clip` executable the way a user would and captures what it prints.
/// The binary sits next to the test bundle in SwiftPM's products directory.
enum CLIRunner {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var stdoutData: Data
    }

    static var productsDirectory: URL {
        #if os(macOS)
            // The .xctest bundle sits in the products directory.
            let bundle = Bundle.allBundles.first { $0.bundlePath.hasSuffix(".xctest") } ?? Bundle.main
            return bundle.bundleURL.deletingLastPathComponent()
        #else
            // On Linux the test runner is itself an executable in the products directory.
            return Bundle.main.bundleURL
        #endif
    }

    static var executable: URL { productsDirectory.appendingPathComponent("clip") }

    /// Runs `clip` with `arguments`, feeding `stdin` if given, in `currentDirectory` if given.
    /// `stdout`: a file to connect standard output to instead of a pipe (e.g. /dev/full).
    static func run(
        _ arguments: [String], stdin: Data? = nil, environment: [String: String]? = nil,
        currentDirectory: URL? = nil, stdout: FileHandle? = nil
    ) throws -> Result {
        let process = Process()
        process.executableURL = executable
        if let currentDirectory { process.currentDirectoryURL = currentDirectory }
        process.arguments = arguments
        if let environment { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = stdout ?? out
        process.standardError = err
        process.standardInput = input
        try process.run()
        // Read both pipes concurrently so a large output cannot deadlock the child.
        nonisolated(unsafe) var errData = Data()
        let errReader = Thread { errData = err.fileHandleForReading.readDataToEndOfFile() }
        errReader.start()
        if let stdin { input.fileHandleForWriting.write(stdin) }
        try? input.fileHandleForWriting.close()
        if stdout != nil { try? out.fileHandleForWriting.close() }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while errReader.isExecuting || !errReader.isFinished { Thread.sleep(forTimeInterval: 0.001) }
        return Result(
            status: process.terminationStatus,
            stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self),
            stdoutData: outData
        )
    }

    /// Starts `clip` with every signal at its default action, stdout and stderr discarded
    /// (``ChildProcess/spawn(_:_:stdout:stderr:)``), and returns its process id.
    static func spawn(_ arguments: [String]) throws -> pid_t {
        try ChildProcess.spawn(executable.path, arguments)
    }
}
