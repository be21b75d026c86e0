import CLIPOutput
import CLIPReport
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// DIR/log.jsonl: one JSON object per line, each with the `step` it belongs to and the Unix
/// `time` it was written. Opening it for a run at step k drops every line after step k (and a
/// line torn by a crash), so a resumed run never logs a step twice. A non-finite number (a
/// skipped step's loss) is written as `null`.
///
/// The log is the one file the trainer appends to rather than replaces (``OutputFile``'s rule
/// is for whole outputs; a log of a long run is written line by line). So that appending can
/// never damage a file that is not this run's log:
/// - `log.jsonl` must be a regular file of our own format: a symbolic link, a folder, a FIFO
///   or a device is refused (opened with `O_NOFOLLOW`, then checked with `fstat`), and so is a
///   file whose lines, the last aside (a line cut by a crash), are not JSON objects with a step.
/// - Lines are added with `O_APPEND`, each in one `write(2)`: a line is never interleaved with
///   another writer's bytes or written over existing ones.
/// - Dropping lines (resume) rewrites the file through ``OutputFile``: temporary file, fsync,
///   rename, so a crash keeps the old log whole.
/// Its lines are also kept as a ``TrainingHistory`` for `report.html`.
final class TrainingLog {
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
        var time = Date().timeIntervalSince1970

        enum CodingKeys: String, CodingKey {
            case step, loss, lr, time
            case logitScale = "logit_scale"
            case gradNorm = "grad_norm"
            case samplesPerSecond = "samples_per_second"
            case skippedSamples = "skipped_samples"
            case stepSkipped = "step_skipped"
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            // JSON has no NaN or infinity (JSONEncoder would throw): null, a gap in the curve.
            func number<T: BinaryFloatingPoint & Encodable>(_ value: T, _ key: CodingKeys) throws {
                if value.isFinite { try c.encode(value, forKey: key) } else { try c.encodeNil(forKey: key) }
            }
            try c.encode(step, forKey: .step)
            try number(loss, .loss)
            try number(lr, .lr)
            try number(logitScale, .logitScale)
            try number(gradNorm, .gradNorm)
            try number(samplesPerSecond, .samplesPerSecond)
            try c.encode(skippedSamples, forKey: .skippedSamples)
            try c.encode(stepSkipped, forKey: .stepSkipped)
            try c.encode((time * 1000).rounded() / 1000, forKey: .time)
        }
    }

    let url: URL
    private let descriptor: Int32
    /// Every line of the log so far, as the report reads them.
    private(set) var history: TrainingHistory

    /// Opens (or creates) the log, keeping only lines of steps up to `step`.
    /// - Throws: ``TrainingError/unsafeLog(path:reason:)`` for a path that is not a regular
    ///   file or a file that is not a training log; file errors.
    init(url: URL, keepingThrough step: Int) throws {
        self.url = url
        let path = url.path
        // O_NONBLOCK: a FIFO without a reader fails at once instead of blocking the run.
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0o666)
        guard fd >= 0 else {
            let code = errno
            switch code {
            case ELOOP, EMLINK: throw TrainingError.unsafeLog(path: path, reason: "it is a symbolic link")
            case EISDIR: throw TrainingError.unsafeLog(path: path, reason: "it is a folder")
            case ENXIO: throw TrainingError.unsafeLog(path: path, reason: "it is not a regular file")
            default: throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
            }
        }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            closeDescriptor(fd)
            throw TrainingError.unsafeLog(path: path, reason: "it is not a regular file")
        }
        descriptor = fd
        history = TrainingHistory()
        do { try keepLines(through: step) } catch {
            closeDescriptor(fd)
            closed = true
            throw error
        }
    }

    deinit { close() }

    /// Drops lines after `step` and a torn last line; refuses a file that is not a log.
    private func keepLines(through step: Int) throws {
        guard let data = FileManager.default.contents(atPath: url.path), !data.isEmpty else { return }
        let lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true)
        var kept: [Data] = []
        for (index, line) in lines.enumerated() {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
                let lineStep = object["step"] as? Int
            else {
                // Only the last line can be cut short by a crash; anything else is not our log.
                if index == lines.count - 1 { continue }
                throw TrainingError.unsafeLog(
                    path: url.path, reason: "line \(index + 1) is not a JSON object with a step: not a training log")
            }
            if lineStep <= step { kept.append(Data(line)) }
        }
        for line in kept { history.add(line: line) }
        guard kept.count != lines.count || data.last != UInt8(ascii: "\n") else { return }
        var text = Data()
        for line in kept { text += line + [UInt8(ascii: "\n")] }
        // Replaced whole (temporary file beside it, fsync, rename): a crash keeps the old log.
        // Our descriptor still points at the old file afterwards: reopen by reopening the path.
        try OutputFile.write(text, to: url)
        let fd = open(url.path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: url.path]) }
        defer { closeDescriptor(fd) }
        guard dup2(fd, descriptor) >= 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
        }
    }

    func append<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        try write(line: encoder.encode(value))
    }

    /// A `{"step": N, "validation": {...}, "time": T}` line (non-finite metrics as null).
    func appendValidation(step: Int, metrics: [String: Double]) throws {
        let values = metrics.mapValues { $0.isFinite ? $0 as Any : NSNull() }
        let time = (Date().timeIntervalSince1970 * 1000).rounded() / 1000
        let json = try JSONSerialization.data(
            withJSONObject: ["step": step, "validation": values, "time": time] as [String: Any], options: [.sortedKeys])
        try write(line: json)
    }

    /// The line and its newline at the end of the file (`O_APPEND`), in one `write(2)` (a
    /// regular file takes it whole unless the disk is full; the rest is then retried).
    private func write(line: Data) throws {
        let bytes = line + Data("\n".utf8)
        try bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = writeDescriptor(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw CocoaError(.fileWriteOutOfSpace, userInfo: [NSFilePathErrorKey: url.path]) }
                offset += n
            }
        }
        history.add(line: line)
    }

    private var closed = false

    func close() {
        guard !closed else { return }
        closed = true
        closeDescriptor(descriptor)
    }
}

/// `close(2)` and `write(2)`, named apart from ``TrainingLog``'s methods.
private func closeDescriptor(_ fd: Int32) { _ = close(fd) }
private func writeDescriptor(_ fd: Int32, _ pointer: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, pointer, count)
}
