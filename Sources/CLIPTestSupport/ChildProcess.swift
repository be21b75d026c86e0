import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Runs a built program with chosen descriptors and tells exactly how it ended (an exit status
/// or a signal), for tests of what a program does when its output goes nowhere.
///
/// ```swift
/// let stderr = ChildProcess.brokenPipe()
/// let ending = try ChildProcess.run(clip, ["tokenize", "--context-length", "0", "hi"], stderr: stderr)
/// #expect(ending == .exited(64))   // not .signalled(SIGPIPE)
/// ```
public enum ChildProcess {
    /// How a process ended.
    public enum Ending: Equatable, CustomStringConvertible, Sendable {
        case exited(Int32)
        case signalled(Int32)

        public var description: String {
            switch self {
            case .exited(let status): "exit status \(status)"
            case .signalled(let signal): "killed by signal \(signal) (\(String(cString: strsignal(signal))))"
            }
        }
    }

    /// The write end of a pipe whose read end is already closed: a write to it fails with
    /// EPIPE, or raises SIGPIPE where that signal has its default action. Close it after use.
    public static func brokenPipe() -> Int32 {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { return -1 }
        close(ends[0])
        return ends[1]
    }

    /// Runs `executable` with `arguments` and waits for it (see ``spawn(_:_:stdout:stderr:)``).
    public static func run(_ executable: String, _ arguments: [String], stdout: Int32? = nil, stderr: Int32? = nil)
        throws -> Ending
    {
        let pid = try spawn(executable, arguments, stdout: stdout, stderr: stderr)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .ECHILD) }
        }
        // WIFEXITED / WEXITSTATUS / WTERMSIG are macros Swift does not import.
        let signal = status & 0x7f
        return signal == 0 ? .exited((status >> 8) & 0xff) : .signalled(signal)
    }

    /// Starts `executable` with `arguments` and returns its process id (wait for it with
    /// `waitpid`). Standard input is /dev/null; standard output and error are the given
    /// descriptors (nil: /dev/null). Every signal starts at its default action and unblocked,
    /// whatever the test runner ignores or blocks (a shell's background job ignores SIGINT, and an
    /// ignored signal stays ignored across exec).
    public static func spawn(_ executable: String, _ arguments: [String], stdout: Int32? = nil, stderr: Int32? = nil)
        throws -> pid_t
    {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t(), mask = sigset_t()
        sigfillset(&defaults)
        sigdelset(&defaults, SIGKILL)
        sigdelset(&defaults, SIGSTOP)
        sigemptyset(&mask)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &mask)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        for (target, source) in [(Int32(1), stdout), (Int32(2), stderr)] {
            if let source {
                posix_spawn_file_actions_adddup2(&actions, source, target)
            } else {
                posix_spawn_file_actions_addopen(&actions, target, "/dev/null", O_WRONLY, 0)
            }
        }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let code = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        guard code == 0 else { throw POSIXError(POSIXErrorCode(rawValue: code) ?? .EINVAL) }
        return pid
    }
}
