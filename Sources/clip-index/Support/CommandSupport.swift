import ArgumentParser
import CLIP
import CLIPIndex
import CLISupport
import Foundation

// `clip-index` shares `clip`'s command-line helpers (exit statuses, `error:`/`hint:` lines,
// global options, checked stdout) through the CLISupport target; only the index's own error
// mapping is here.

/// The exit code for an index error: a file that is not an index is bad input (65), a model
/// mismatch is a model problem (66), an index another process kept locked or this user may not
/// write an output failure (74).
func fail(_ error: IndexError) -> ExitCode {
    switch error {
    case .modelMismatch, .dimensionMismatch: fail(error, .model)
    case .badQuery: fail(error, .usage)
    case .busy, .readOnly: fail(error, .io)
    default: fail(error, .input)
    }
}
