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
