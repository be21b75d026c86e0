import ArgumentParser
import CLIP
import CLIPIndex
import Foundation

// The few command-line helpers `clip-index` shares in spirit with `clip` (Sources/clip/Support):
// the same exit codes, `error:`/`hint:` lines and global options. They are repeated here because
// an executable target cannot import another one.

/// Exit statuses, as in `clip`.
enum CLIExit: Int32 {
    case usage = 64
    case input = 65
    case model = 66
    case io = 74
}

/// Prints `error: message` (and `hint: ...`) on stderr and returns the exit code to throw.
func fail(_ message: String, hint: String? = nil, _ kind: CLIExit) -> ExitCode {
    var text = "error: \(message)\n"
    if let hint, !hint.isEmpty { text += "hint: \(hint)\n" }
    StandardStreams.printError(text)
    return ExitCode(kind.rawValue)
}

/// Maps a library error to one `error:` line with its recovery hint.
func fail(_ error: any Error, _ kind: CLIExit) -> ExitCode {
    if let code = error as? ExitCode { return code }
    let localized = error as? LocalizedError
    return fail(localized?.errorDescription ?? String(describing: error), hint: localized?.recoverySuggestion, kind)
}

/// The exit code for an index error: a file that is not an index is bad input (65), a model
/// mismatch is a model problem (66).
func fail(_ error: IndexError) -> ExitCode {
    switch error {
    case .modelMismatch, .dimensionMismatch: fail(error, .model)
    case .badQuery: fail(error, .usage)
    default: fail(error, .input)
    }
}

/// `--quiet`, `--verbose` and `--threads N`, accepted anywhere on the command line as in `clip`.
enum GlobalOptions {
    nonisolated(unsafe) static var quiet = false
    nonisolated(unsafe) static var verbose = false

    static func extract(_ arguments: [String]) -> Result<[String], ExitCode> {
        var rest: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--" {
                rest += arguments[index...]
                break
            }
            var threads: String?
            switch argument {
            case "--quiet", "-q": quiet = true
            case "--verbose": verbose = true
            case "--threads":
                index += 1
                threads = index < arguments.count ? arguments[index] : ""
            case _ where argument.hasPrefix("--threads="): threads = String(argument.dropFirst("--threads=".count))
            default: rest.append(argument)
            }
            if let threads {
                guard let n = Int(threads), (1...1024).contains(n) else {
                    return .failure(
                        fail("--threads must be a whole number from 1 to 1024, got '\(threads)'", .usage))
                }
                Parallel.threadCount = n
            }
            index += 1
        }
        return .success(rest)
    }
}

/// Writes `text` on standard output, checked as in `clip`: a full disk or a failed write is
/// exit 74 with an `error:` line; a reader that has gone ends the program quietly by SIGPIPE
/// (``StandardStreams``).
func writeOutput(_ text: String) throws {
    do { try OutputFile.standardOutput.write(text) } catch { throw fail(error, .io) }
}

/// Prints `note: message` on stderr with `--verbose`.
func note(_ message: @autoclosure () -> String) {
    guard GlobalOptions.verbose else { return }
    StandardStreams.printError("note: \(message())\n")
}
