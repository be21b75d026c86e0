import ArgumentParser
import CLIP
import Foundation

/// How chatty `clip` is on stderr: `--quiet` drops progress bars and notes, `--verbose` adds notes.
package enum Verbosity: Int, Comparable, Sendable {
    case quiet, normal, verbose
    package static func < (a: Verbosity, b: Verbosity) -> Bool { a.rawValue < b.rawValue }
}

/// Options every subcommand accepts (`--quiet`, `--verbose`, `--threads N`), taken out of the
/// arguments before ArgumentParser sees them so that each subcommand need not declare them.
/// They are listed in `clip --help`; `clip-index` takes the same.
package enum GlobalOptions {
    nonisolated(unsafe) package private(set) static var verbosity: Verbosity = .normal

    package static let help = """
          --quiet               No progress bars or notes on stderr (errors are still printed).
          --verbose             Notes on stderr: resolved model paths, timings.
          --threads N           Worker threads for the tensor engine and BLAS (default: all cores).
        """

    /// Removes the global options from `arguments` (stopping at `--`) and applies them; a bad
    /// value prints one `error:` line and returns the usage exit code.
    package static func extract(_ arguments: [String]) -> Result<[String], ExitCode> {
        var rest: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--" {
                rest += arguments[index...]
                break
            }
            switch argument {
            case "--quiet", "-q":
                verbosity = .quiet
            case "--verbose":
                verbosity = .verbose
            case "--threads":
                index += 1
                guard index < arguments.count else {
                    return .failure(fail("--threads needs a value", hint: "For example --threads 2.", .usage))
                }
                guard let applied = applyThreads(arguments[index]) else {
                    return .failure(ExitCode(CLIExit.usage.rawValue))
                }
                _ = applied
            case _ where argument.hasPrefix("--threads="):
                guard applyThreads(String(argument.dropFirst("--threads=".count))) != nil else {
                    return .failure(ExitCode(CLIExit.usage.rawValue))
                }
            default:
                rest.append(argument)
            }
            index += 1
        }
        return .success(rest)
    }

    /// Ranks other than 0 of an MPI job print errors only (rank 0 reports progress).
    package static func quietenRank() { verbosity = .quiet }

    private static func applyThreads(_ value: String) -> Int? {
        guard let n = Int(value), (1...1024).contains(n) else {
            _ = fail(
                "--threads must be a whole number from 1 to 1024, got '\(value)'", hint: "For example --threads 2.",
                .usage)
            return nil
        }
        Parallel.threadCount = n
        return n
    }
}

/// Prints `note: message` on stderr with `--verbose`.
package func note(_ message: @autoclosure () -> String) {
    guard GlobalOptions.verbosity >= .verbose else { return }
    standardError("note: \(message())\n")
}
