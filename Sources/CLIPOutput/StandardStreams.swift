import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Diagnostics on standard error, and what a closed pipe does to swift-clip's programs.
///
/// - ``printError(_:)`` writes with `write(2)` and ignores every failure. A message on a closed
///   pipe (`clip ... 2>&1 | head -1`), a full disk or a closed descriptor has nowhere else to go,
///   and it must never end the program: `FileHandle.standardError.write(_: Data)` traps on such an
///   error, and with SIGPIPE at its default action the write itself killed the process.
/// - ``ignoreBrokenPipeSignal()``, called first by each executable, sets SIGPIPE to ignored, so
///   a closed stderr or a client that hung up is an `EPIPE` error rather than a signal. Standard
///   output keeps the Unix behaviour: when its reader has gone (`clip search cat | head -1`),
///   ``OutputFile`` removes the temporary files of unfinished outputs and ends the process by
///   SIGPIPE, quietly, as it did before (a full disk is still exit 74 with an `error:` line).
///
/// ```swift
/// StandardStreams.ignoreBrokenPipeSignal()      // first thing in main()
/// StandardStreams.printError("warning: no images found\n")
/// ```
public enum StandardStreams {
    /// Set once by ``ignoreBrokenPipeSignal()``, before any other thread writes.
    nonisolated(unsafe) static var brokenOutputEndsProcess = false

    /// Writes `text` to standard error (file descriptor 2), retrying interrupted and partial
    /// writes; any other failure drops the rest of the text silently.
    public static func printError(_ text: String) {
        write(text, to: STDERR_FILENO)
    }

    /// Writes `text` to `descriptor` as ``printError(_:)`` does: best effort, never a trap or a
    /// thrown error. For lines whose loss harms nobody (a server's "listening on" line).
    public static func write(_ text: String, to descriptor: Int32) {
        var text = text
        text.withUTF8 { bytes in
            guard var next = UnsafeRawPointer(bytes.baseAddress) else { return }
            var left = bytes.count
            while left > 0 {
                let n = systemWrite(descriptor, next, left)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { return }
                left -= n
                next += n
            }
        }
    }

    /// Ignores SIGPIPE if its action is still the default (a parent that ignores it, or a
    /// program with its own handler, keeps its choice), and makes a broken standard output
    /// end the process by SIGPIPE as before (``OutputFile``). Call it first in `main`.
    public static func ignoreBrokenPipeSignal() {
        // `signal` returns nil for SIG_DFL.
        let previous = signal(SIGPIPE, SIG_IGN)
        if previous == nil {
            brokenOutputEndsProcess = true
        } else {
            signal(SIGPIPE, previous)
        }
    }

    /// Puts SIGPIPE back to its default action if ``ignoreBrokenPipeSignal()`` changed it: call
    /// it before `exec` of another program (an ignored signal stays ignored across exec).
    public static func restoreBrokenPipeSignal() {
        guard brokenOutputEndsProcess else { return }
        signal(SIGPIPE, SIG_DFL)
        brokenOutputEndsProcess = false
    }

    /// After `EPIPE` on an output stream: what SIGPIPE at its default action would have done.
    /// Returns only when the program chose otherwise (then the write error is reported).
    static func brokenPipe() {
        guard brokenOutputEndsProcess else { return }
        TemporaryFiles.removeAll()
        signal(SIGPIPE, SIG_DFL)
        var pipeOnly = sigset_t()
        sigemptyset(&pipeOnly)
        sigaddset(&pipeOnly, SIGPIPE)
        // A thread that blocks signals (a dispatch worker) would leave a raised SIGPIPE pending.
        pthread_sigmask(SIG_UNBLOCK, &pipeOnly, nil)
        raise(SIGPIPE)
        _exit(128 + SIGPIPE)
    }
}

/// `write(2)`, named apart from ``StandardStreams/write(_:to:)``.
private func systemWrite(_ fd: Int32, _ pointer: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, pointer, count)
}
