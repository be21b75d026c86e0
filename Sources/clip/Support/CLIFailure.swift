import ArgumentParser
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
    if Ranks.heldErrors != nil { Ranks.heldErrors? += text } else { FileHandle.standardError.write(Data(text.utf8)) }
    return ExitCode(kind.rawValue)
}

/// Prints a warning line on stderr.
func warn(_ message: String) {
    FileHandle.standardError.write(Data("warning: \(message)\n".utf8))
}

/// Maps a library error to one `error:` line with its recovery hint.
func fail(_ error: any Error, _ kind: CLIExit) -> ExitCode {
    let localized = error as? LocalizedError
    return fail(localized?.errorDescription ?? String(describing: error), hint: localized?.recoverySuggestion, kind)
}

/// Writes `data` to `path` atomically, or to stdout when `path` is nil or "-".
func writeOutput(_ data: Data, to path: String?) throws {
    guard let path, path != "-" else {
        FileHandle.standardOutput.write(data)
        return
    }
    do {
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    } catch {
        throw fail(
            "cannot write \(path): \((error as NSError).localizedDescription)",
            hint: "Check that the directory exists and is writable.", .io)
    }
}
