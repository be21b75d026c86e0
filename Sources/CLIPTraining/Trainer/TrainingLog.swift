import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// DIR/log.jsonl: one JSON object per line, each with the `step` it belongs to. Opening it for
/// a run at step k drops every line after step k (and a line torn by a crash), so a resumed
/// run never logs a step twice.
struct TrainingLog {
    /// One step's line.
    struct StepEntry: Encodable {
        var step: Int
        var loss: Float
        var lr: Float
        var logitScale: Float
        var gradNorm: Float
        var samplesPerSecond: Double
        var skippedSamples: Int
        var stepSkipped: Bool

        enum CodingKeys: String, CodingKey {
            case step, loss, lr
            case logitScale = "logit_scale"
            case gradNorm = "grad_norm"
            case samplesPerSecond = "samples_per_second"
            case skippedSamples = "skipped_samples"
            case stepSkipped = "step_skipped"
        }
    }

    let url: URL
    private let handle: FileHandle

    /// Opens (or creates) the log, keeping only lines of steps up to `step`.
    init(url: URL, keepingThrough step: Int) throws {
        self.url = url
        let fm = FileManager.default
        if let data = fm.contents(atPath: url.path) {
            let lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true)
            let kept = lines.filter { line in
                guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
                    let lineStep = object["step"] as? Int
                else { return false }
                return lineStep <= step
            }
            if kept.count != lines.count || data.last != UInt8(ascii: "\n") && !data.isEmpty {
                var text = Data()
                for line in kept { text += line + [UInt8(ascii: "\n")] }
                // Temporary file beside the log, then rename: a crash keeps the old log whole.
                let temporary = url.deletingLastPathComponent().appendingPathComponent(
                    ".\(url.lastPathComponent).\(getpid()).tmp")
                try text.write(to: temporary)
                guard rename(temporary.path, url.path) == 0 else {
                    try? fm.removeItem(at: temporary)
                    throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
                }
            }
        } else {
            guard fm.createFile(atPath: url.path, contents: nil) else {
                throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: url.path])
            }
        }
        handle = try FileHandle(forWritingTo: url)
        try handle.seekToEnd()
    }

    func append<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        try handle.write(contentsOf: encoder.encode(value) + Data("\n".utf8))
    }

    /// A `{"step": N, "validation": {...}}` line.
    func appendValidation(step: Int, metrics: [String: Double]) throws {
        let json = try JSONSerialization.data(
            withJSONObject: ["step": step, "validation": metrics] as [String: Any], options: [.sortedKeys])
        try handle.write(contentsOf: json + Data("\n".utf8))
    }

    func close() { try? handle.close() }
}

/// Leftovers of a process that was killed while writing into a run directory: a `.partial`
/// checkpoint folder, or a temporary file of our own naming (`.latest.safetensors.PID.N.tmp`,
/// `.log.jsonl.PID.tmp`) whose process is gone. Nothing else is touched.
enum StaleFiles {
    /// The files `Trainer` writes at the top of a run directory.
    static let outputs = ["latest.safetensors", "log.jsonl"]

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
