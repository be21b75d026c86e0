import ArgumentParser
import CLIP
import CLISupport
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `clip serve`: runs the embedding server, the separate `clip-server` binary built next to
/// `clip` (its HTTP stack would slow every build of `clip`), with the same arguments.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve embeddings over HTTP (runs clip-server; `clip serve --help` lists its options).",
        discussion: """
            The server is its own product: build it with
              swift build -c release --product clip-server
            and `clip serve ARGS` runs the clip-server next to the clip binary with ARGS.
            """)

    @Argument(parsing: .captureForPassthrough, help: "Arguments for clip-server (--model M, --port P, ...).")
    var arguments: [String] = []

    /// `clip-server` in the folder of the running `clip`.
    static var serverURL: URL? {
        guard let me = Bundle.main.executableURL?.resolvingSymlinksInPath() else { return nil }
        let server = me.deletingLastPathComponent().appendingPathComponent("clip-server")
        return FileManager.default.isExecutableFile(atPath: server.path) ? server : nil
    }

    func run() throws {
        guard let server = Self.serverURL else {
            throw fail(
                "clip-server is not built next to this clip",
                hint: "Build it with `swift build -c release --product clip-server` (same configuration as clip).",
                .usage)
        }
        // Replace this process so signals (SIGTERM, SIGINT) reach the server directly.
        let argv = ([server.path] + arguments).map { strdup($0) } + [nil]
        // clip-server decides about SIGPIPE itself; an ignored signal would stay ignored across exec.
        StandardStreams.restoreBrokenPipeSignal()
        execv(server.path, argv)
        throw fail("cannot run \(server.path): \(String(cString: strerror(errno)))", .usage)
    }
}
