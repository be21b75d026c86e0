import ArgumentParser
import CLIP
import CLISupport
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `clip index` and `clip search` run the `clip-index` executable built beside `clip`: photo
/// search needs SQLite (GRDB), which `clip` itself does not link, so `swift run clip demo` builds
/// quickly. These stubs only list the commands in `clip --help`; `CLIPCommand.main` forwards the
/// whole command line before ArgumentParser sees it.
enum IndexForwarding {
    static let commands: Set<String> = ["index", "search"]

    /// Replaces this process with `clip-index ARGUMENTS` (the original arguments, global options
    /// included); returns only when that is impossible, with the exit code to use.
    static func forward(_ arguments: [String]) -> ExitCode {
        let tool = executableDirectory().appendingPathComponent("clip-index").path
        guard FileManager.default.isExecutableFile(atPath: tool) else {
            return fail(
                "clip \(arguments.first { commands.contains($0) } ?? "index") needs the clip-index program, "
                    + "which is not built beside \(executableDirectory().path)",
                hint: "Build it: swift build -c release --product clip-index (or swift build -c release).", .model)
        }
        let argv = ([tool] + arguments).map { strdup($0) } + [nil]
        // clip-index decides about SIGPIPE itself; an ignored signal would stay ignored across exec.
        StandardStreams.restoreBrokenPipeSignal()
        execv(tool, argv)
        return fail("cannot run \(tool): \(String(cString: strerror(errno)))", .model)
    }

    /// The folder of the running `clip` executable.
    static func executableDirectory() -> URL {
        #if os(Linux)
            if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
                return URL(fileURLWithPath: path).deletingLastPathComponent()
            }
        #endif
        return (Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0]))
            .resolvingSymlinksInPath().deletingLastPathComponent()
    }
}

/// `clip index` in `clip --help` (runs `clip-index index`).
struct IndexStubCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index", abstract: "Index the images under folders for `clip search` (runs clip-index).")
    @Argument(parsing: .captureForPassthrough) var arguments: [String] = []
    func run() throws { throw IndexForwarding.forward(["index"] + arguments) }
}

/// `clip search` in `clip --help` (runs `clip-index search`).
struct SearchStubCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search", abstract: "Find indexed images by text or by image (runs clip-index).")
    @Argument(parsing: .captureForPassthrough) var arguments: [String] = []
    func run() throws { throw IndexForwarding.forward(["search"] + arguments) }
}
