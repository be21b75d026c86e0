import ArgumentParser
import CLIP
import Foundation

// The command-line helpers `clip` and `clip-index` share (package access: no public API):
// exit statuses, `error:`/`hint:`/`warning:` lines on stderr, and checked standard output.

/// Exit statuses of `clip` and `clip-index` (documented in the README), following BSD
/// sysexits where one fits.
package enum CLIExit: Int32 {
    /// Bad command line (ArgumentParser uses the same code for its own validation errors).
    case usage = 64
    /// Unreadable or invalid input data: an image, a text file, token ids.
    case input = 65
    /// The model file could not be loaded or does not fit the request.
    case model = 66
    /// Writing an output failed.
    case io = 74
}

/// Prints `error: message` (and `hint: ...`) on stderr, or adds them to ``HeldErrors`` while it
/// collects, and returns the exit code to throw.
package func fail(_ message: String, hint: String? = nil, _ kind: CLIExit) -> ExitCode {
    var text = "error: \(message)\n"
    if let hint, !hint.isEmpty { text += "hint: \(hint)\n" }
    if HeldErrors.text != nil { HeldErrors.text? += text } else { standardError(text) }
    return ExitCode(kind.rawValue)
}

/// While ``text`` is set, ``fail(_:hint:_:)`` appends its lines there instead of printing them
/// (an MPI rank of `clip` holds its errors until the ranks agree who reports: `Ranks.agree`).
package enum HeldErrors {
    nonisolated(unsafe) package static var text: String?
}

/// Prints a warning line on stderr.
package func warn(_ message: String) {
    standardError("warning: \(message)\n")
}

/// Writes to stderr, ignoring failures (``StandardStreams/printError(_:)``): a full or closed
/// stderr must never end the command, and there is nowhere left to report it.
package func standardError(_ text: String) {
    StandardStreams.printError(text)
}

/// Maps a library error to one `error:` line with its recovery hint. Errors that are not
/// swift-clip's own (Foundation's file and JSON errors) are reworded by ``ReadableError``; an
/// `ExitCode` (already reported) passes through.
package func fail(_ error: any Error, _ kind: CLIExit) -> ExitCode {
    if let code = error as? ExitCode { return code }
    let readable = ReadableError(error)
    return fail(readable.message, hint: readable.hint, kind)
}

/// Where a command's output goes: standard output, or a file written through ``OutputFile``
/// (temporary file, fsync, rename; a folder is refused, a FIFO or device written into).
/// Errors print one `error:` line and exit 74.
package enum Output {
    /// Opens `path` (nil or "-": standard output).
    package static func open(_ path: String?) throws -> OutputFile {
        guard let path, path != "-" else { return OutputFile.standardOutput }
        do { return try OutputFile(path: path) } catch { throw fail(error, .io) }
    }

    /// Writes `data` to `path` (nil or "-": standard output) in one step.
    package static func write(_ data: Data, to path: String?) throws {
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
    package static func print(_ text: String = "") throws {
        try write(Data((text + "\n").utf8), to: nil)
    }
}
