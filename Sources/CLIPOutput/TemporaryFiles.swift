import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The temporary files of unfinished ``OutputFile``s, removed by a SIGINT/SIGTERM/SIGHUP handler
/// so that Ctrl-C leaves no `.NAME.PID.RANDOM.tmp` litter beside the target.
///
/// A signal handler may only call async-signal-safe functions, so the paths live in a fixed
/// table of C strings that the handler reads without locks (`unlink` is async-signal-safe);
/// the handler then restores the default action and raises the signal again, so the process
/// still dies of it with the usual status. The handler is installed only for signals whose
/// action is still the default: a program that handles SIGINT itself keeps its handler.
enum TemporaryFiles {
    /// More unfinished outputs at once than any command has; beyond it a file is simply not
    /// cleaned up on a signal (it is still removed on errors).
    static let capacity = 256
    nonisolated(unsafe) static let slots: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> = {
        let table = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: capacity)
        table.initialize(repeating: nil, count: capacity)
        return table
    }()
    private static let lock = NSLock()
    nonisolated(unsafe) private static var installed = false

    /// Records `path`; returns its slot for ``unregister(_:)`` (nil when the table is full).
    static func register(_ path: String) -> Int? {
        lock.lock()
        defer { lock.unlock() }
        if !installed {
            installed = true
            install()
        }
        for slot in 0..<capacity where slots[slot] == nil {
            slots[slot] = strdup(path)
            return slot
        }
        return nil
    }

    /// Forgets a slot (the file was renamed into place or removed).
    static func unregister(_ slot: Int?) {
        guard let slot else { return }
        lock.lock()
        defer { lock.unlock() }
        let path = slots[slot]
        slots[slot] = nil
        // The handler may be reading this string right now on another thread; it is a few
        // bytes per output, so it is left allocated rather than risk a use after free.
        _ = path
    }

    /// Removes every registered temporary file (async-signal-safe: `unlink` only).
    static func removeAll() {
        for slot in 0..<capacity {
            if let path = slots[slot] { unlink(path) }
        }
    }

    private static func install() {
        for signal in [SIGINT, SIGTERM, SIGHUP] {
            let previous = setSignalHandler(signal, cleanUpAndReraise)
            // Someone else handles (or ignores) it: put theirs back.
            if previous != nil { _ = setSignalHandler(signal, previous) }
        }
    }
}

/// Removes every registered temporary file, then dies of `signal` as if unhandled.
private func cleanUpAndReraise(_ signal: Int32) {
    TemporaryFiles.removeAll()
    _ = setSignalHandler(signal, nil)
    raise(signal)
}

#if canImport(Glibc)
    private typealias SignalHandler = __sighandler_t
#else
    private typealias SignalHandler = sig_t
#endif

/// `signal(2)`; `nil` is `SIG_DFL`.
@discardableResult
private func setSignalHandler(_ number: Int32, _ handler: SignalHandler?) -> SignalHandler? {
    signal(number, handler)
}
