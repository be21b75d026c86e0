import ArgumentParser
import CLIP
import Foundation

/// Exit statuses of `clip` (documented in the README), following BSD sysexits where one fits.
enum CLIExit: Int32 {
    /// Bad command line (ArgumentParser uses the same code for its own validation errors).
    case usage = 64
    /// Unreadable or invalid input data: an image, a text file, token ids.
    case input = 65
    /// The model file could not be loaded or does not fit the request.
    case model = 66
    /// Writing an output failed.
    case io = 74
}

/// Prints `error: message` (and `hint: ...`) on stderr and returns the exit code to throw.
func fail(_ message: String, hint: String? = nil, _ kind: CLIExit) -> ExitCode {
    var text = "error: \(message)\n"
    if let hint, !hint.isEmpty { text += "hint: \(hint)\n" }
    if Ranks.heldErrors != nil { Ranks.heldErrors? += text } else { standardError(text) }
    return ExitCode(kind.rawValue)
}

/// Prints a warning line on stderr.
func warn(_ message: String) {
    standardError("warning: \(message)\n")
}

/// Writes to stderr, ignoring failures (``StandardStreams/printError(_:)``): a full or closed
/// stderr must never end the command, and there is nowhere left to report it.
func standardError(_ text: String) {
    StandardStreams.printError(text)
}

/// Maps a library error to one `error:` line with its recovery hint. Errors that are not
/// swift-clip's own (Foundation's file and JSON errors) are reworded by ``ReadableError``.
func fail(_ error: any Error, _ kind: CLIExit) -> ExitCode {
    let readable = ReadableError(error)
    return fail(readable.message, hint: readable.hint, kind)
}

/// Where a command's output goes: standard output, or a file written through ``OutputFile``
/// (temporary file, fsync, rename; a folder is refused, a FIFO or device written into).
/// Errors print one `error:` line and exit 74.
enum Output {
    /// Opens `path` (nil or "-": standard output).
    static func open(_ path: String?) throws -> OutputFile {
        guard let path, path != "-" else { return OutputFile.standardOutput }
        do { return try OutputFile(path: path) } catch { throw fail(error, .io) }
    }

    /// Writes `data` to `path` (nil or "-": standard output) in one step.
    static func write(_ data: Data, to path: String?) throws {
        let file = try open(path)
        do {
            try file.write(data)
            try file.commit()
        } catch {
            throw fail(error, .io)
        }
    }

    /// Prints `text` and a newline on standard output, checking the write: a full disk or
    /// closed output is exit 74, never a silent success.
    static func print(_ text: String = "") throws {
        try write(Data((text + "\n").utf8), to: nil)
    }
}
