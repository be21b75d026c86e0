import Foundation

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
    static func run(
        _ arguments: [String], stdin: Data? = nil, environment: [String: String]? = nil,
        currentDirectory: URL? = nil
    ) throws -> Result {
        let process = Process()
        process.executableURL = executable
        if let currentDirectory { process.currentDirectoryURL = currentDirectory }
        process.arguments = arguments
        if let environment { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        // Read both pipes concurrently so a large output cannot deadlock the child.
        nonisolated(unsafe) var errData = Data()
        let errReader = Thread { errData = err.fileHandleForReading.readDataToEndOfFile() }
        errReader.start()
        if let stdin { input.fileHandleForWriting.write(stdin) }
        try? input.fileHandleForWriting.close()
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
}
