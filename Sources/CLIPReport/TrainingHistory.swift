import Foundation

// What a run's DIR/log.jsonl says, as series over steps. The trainer (CLIPTraining's
// TrainingLog) writes one JSON object per line:
//   {"step": 12, "loss": 2.1, "lr": 0.001, "logit_scale": 2.66, "grad_norm": 0.8,
//    "samples_per_second": 310.5, "skipped_samples": 0, "step_skipped": false, "time": 1764705600.123}
//   {"step": 100, "validation": {"image_to_text_R@1": 0.41, ...}, "time": 1764705700.5}
// A non-finite value is written as null (a skipped step's NaN loss): a gap in its curve.

/// The metrics of a training log, one series per logged number, in the order a report shows them.
///
/// ```swift
/// let history = TrainingHistory(jsonl: try Data(contentsOf: run.appendingPathComponent("log.jsonl")))
/// history.series["loss"]?.points.last   // (step: 2000, value: 0.31)
/// ```
public struct TrainingHistory: Sendable, Equatable {
    /// One metric over steps; `nil` values are gaps (non-finite or missing).
    public struct Series: Sendable, Equatable {
        public var steps: [Int] = []
        public var values: [Double?] = []

        /// The points with a value.
        public var points: [(step: Int, value: Double)] {
            zip(steps, values).compactMap { step, value in value.map { (step, $0) } }
        }
        /// True when at least one value is finite.
        public var hasData: Bool { values.contains { $0 != nil } }

        mutating func append(step: Int, value: Double?) {
            steps.append(step)
            values.append(value.flatMap { $0.isFinite ? $0 : nil })
        }
    }

    /// Keys of step lines that are bookkeeping, not curves.
    static let stepBookkeeping: Set<String> = ["step", "time", "skipped_samples", "step_skipped"]

    /// Training metrics (keys of step lines, e.g. `loss`, `lr`) and validation metrics
    /// (`validation.` + the key, e.g. `validation.image_to_text_R@1`).
    public private(set) var series: [String: Series] = [:]
    /// Keys of ``series`` in the order they first appeared.
    public private(set) var keys: [String] = []
    /// The last step logged (0 for an empty log).
    public private(set) var lastStep = 0
    /// Steps logged (validation lines not counted).
    public private(set) var stepCount = 0
    /// Steps the trainer skipped for a non-finite loss or gradient.
    public private(set) var skippedSteps = 0
    /// Samples the data loader skipped, whole run (the last line's count).
    public private(set) var skippedSamples = 0
    /// Unix time of the first and last line that carried one.
    public private(set) var firstTime: Double?
    public private(set) var lastTime: Double?
    /// Lines that were not JSON objects with a step (a line torn by a crash), skipped.
    public private(set) var unreadableLines = 0

    public init() {}

    /// Parses a whole log (JSON Lines); unreadable lines are counted and skipped.
    public init(jsonl: Data) {
        for line in jsonl.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true) {
            add(line: Data(line))
        }
    }

    /// Adds one line of the log.
    public mutating func add(line: Data) {
        guard let object = JSONValue.parse(line)?.object, let step = object["step"]?.integer else {
            unreadableLines += 1
            return
        }
        if let time = object["time"]?.number {
            firstTime = firstTime.map { min($0, time) } ?? time
            lastTime = lastTime.map { max($0, time) } ?? time
        }
        lastStep = max(lastStep, step)
        if let validation = object["validation"]?.object {
            for key in validation.keys.sorted() {
                append("validation." + key, step: step, value: validation[key]?.number)
            }
            return
        }
        stepCount += 1
        if object["step_skipped"] == .bool(true) { skippedSteps += 1 }
        if let skipped = object["skipped_samples"]?.integer { skippedSamples = skipped }
        for key in object.keys.sorted() where !Self.stepBookkeeping.contains(key) {
            // Numbers and nulls are curves; anything else (text, objects) is not a metric.
            guard let value = object[key], value == .null || value.number != nil else { continue }
            append(key, step: step, value: value.number)
        }
    }

    private mutating func append(_ key: String, step: Int, value: Double?) {
        if series[key] == nil {
            series[key] = Series()
            keys.append(key)
        }
        series[key]?.append(step: step, value: value)
    }
}
