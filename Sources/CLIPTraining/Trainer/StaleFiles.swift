import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Leftovers of a process that was killed while writing into a run directory: a `.partial`
/// checkpoint folder, or a temporary file of our own naming (`.latest.safetensors.PID.N.tmp`,
/// `.log.jsonl.PID.tmp`) whose process is gone. Nothing else is touched.
enum StaleFiles {
    /// The files `Trainer` writes at the top of a run directory.
    static let outputs = ["latest.safetensors", "log.jsonl", "report.html"]

    /// Removes the leftovers under `directory`; returns what was removed.
    @discardableResult
    static func remove(in directory: URL) -> [URL] {
        let fm = FileManager.default
        var removed: [URL] = []
        for name in (try? fm.contentsOfDirectory(atPath: directory.path)) ?? [] where isStaleTemporary(name) {
            let url = directory.appendingPathComponent(name)
            if (try? fm.removeItem(at: url)) != nil { removed.append(url) }
        }
        let checkpoints = directory.appendingPathComponent("checkpoints")
        for name in (try? fm.contentsOfDirectory(atPath: checkpoints.path)) ?? []
        where name.hasPrefix(".step-") && name.hasSuffix(".partial") {
            let url = checkpoints.appendingPathComponent(name)
            if (try? fm.removeItem(at: url)) != nil { removed.append(url) }
        }
        return removed
    }

    /// `.OUTPUT.PID[.N].tmp` for one of ``outputs``, written by a process that no longer runs
    /// (or by this one).
    static func isStaleTemporary(_ name: String) -> Bool {
        guard name.hasSuffix(".tmp"),
            let output = outputs.first(where: { name.hasPrefix(".\($0).") })
        else { return false }
        let rest = name.dropFirst(output.count + 2).dropLast(4)
        guard let pidText = rest.split(separator: ".").first, let pid = Int32(pidText) else { return false }
        if pid == getpid() { return true }
        return kill(pid, 0) != 0 && errno == ESRCH
    }
}
