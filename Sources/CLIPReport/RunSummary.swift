import Foundation

// What a run is, read from the trainer.json of its newest checkpoint
// (DIR/checkpoints/step-N/trainer.json, CLIPTraining's TrainerState):
//   {"format": 2, "step": 400, "run": {"model": "...", "data": {"path": ...}, "validation": ...,
//    "options": {"batchSize": 128, "steps": 2000, ...}, "lockedTowers": ["image"]}, "dataPosition": ...}
// Read as plain JSON, so this module needs nothing of the trainer, and a field a later version
// adds shows up in the settings table by itself.

/// The model, data and settings of a training run, for the report's summary table.
///
/// ```swift
/// let summary = RunSummary(runDirectory: URL(fileURLWithPath: "run"))
/// summary?.settings   // [("batch size", "128"), ("steps", "2000"), ...]
/// ```
public struct RunSummary: Sendable, Equatable {
    /// What the model was built from (`architecture ViT-B-32, random initialisation, seed 0`).
    public var model: String
    /// The training data path (absolute, as recorded).
    public var trainingData: String?
    /// The validation caption table, if any.
    public var validationData: String?
    /// Towers that did not train.
    public var lockedTowers: [String]
    /// Steps the run is set to take.
    public var totalSteps: Int?
    /// The step of the checkpoint read.
    public var checkpointStep: Int?
    /// The training options as (label, value), in the order of ``settingLabels`` then the rest by name.
    public var settings: [(String, String)]

    public static func == (a: RunSummary, b: RunSummary) -> Bool {
        a.model == b.model && a.trainingData == b.trainingData && a.validationData == b.validationData
            && a.lockedTowers == b.lockedTowers && a.totalSteps == b.totalSteps
            && a.checkpointStep == b.checkpointStep
            && a.settings.map { [$0.0, $0.1] } == b.settings.map { [$0.0, $0.1] }
    }

    /// Readable names of TrainingOptions' keys, in the order a reader looks for them.
    static let settingLabels: [(key: String, label: String)] = [
        ("batchSize", "batch size"), ("steps", "steps"), ("learningRate", "learning rate"), ("warmup", "warmup steps"),
        ("weightDecay", "weight decay"), ("seed", "seed"), ("accumulationSteps", "micro-batches per step"),
        ("gradientClipNorm", "gradient clip norm"), ("checkpointEvery", "checkpoint every"),
        ("keepCheckpoints", "checkpoints kept"), ("augment", "augmentation"),
        ("skipNonFinite", "skip non-finite steps"),
    ]

    /// Reads `trainer.json` of the newest checkpoint under `runDirectory`; nil when the run has
    /// no readable checkpoint yet (the report then shows the log alone).
    /// - Parameter root: when given, a file that resolves outside it (a symbolic link) is not read.
    public init?(runDirectory: URL, within root: URL? = nil) {
        guard let folder = Self.newestCheckpoint(in: runDirectory) else { return nil }
        let file = folder.appendingPathComponent("trainer.json")
        if let root, !RunFolders.isInside(file, root: root) { return nil }
        guard let data = FileManager.default.contents(atPath: file.path) else { return nil }
        self.init(trainerJSON: data)
    }

    /// Parses a `trainer.json`; nil when it is not one.
    public init?(trainerJSON data: Data) {
        guard let state = JSONValue.parse(data)?.object, let run = state["run"]?.object else { return nil }
        model = run["model"]?.string ?? ""
        trainingData = run["data"]?["path"]?.string
        validationData = run["validation"]?["path"]?.string
        if case .array(let towers) = run["lockedTowers"] ?? .null {
            lockedTowers = towers.compactMap(\.string)
        } else {
            lockedTowers = []
        }
        checkpointStep = state["step"]?.integer
        let options = run["options"]?.object ?? [:]
        totalSteps = options["steps"]?.integer
        var settings: [(String, String)] = []
        for (key, label) in Self.settingLabels {
            if let value = options[key] { settings.append((label, value.display)) }
        }
        let known = Set(Self.settingLabels.map(\.key))
        for key in options.keys.sorted() where !known.contains(key) {
            settings.append((key, options[key]?.display ?? ""))
        }
        self.settings = settings
    }

    /// The newest complete `checkpoints/step-N` folder (a `.partial` one is being written).
    static func newestCheckpoint(in runDirectory: URL) -> URL? {
        let root = runDirectory.appendingPathComponent("checkpoints")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        return names.filter { $0.hasPrefix("step-") }.sorted().last.map { root.appendingPathComponent($0) }
    }
}
