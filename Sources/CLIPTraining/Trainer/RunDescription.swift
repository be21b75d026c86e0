import CLIPModel
import Foundation

// What a training run is, written once into every checkpoint (trainer.json) together with the
// weights and optimiser state it belongs to. Resuming reads it back and nothing else: the
// settings of the command line that resumes only have to agree with it.

/// Where training or validation pairs come from: a path (absolute once recorded) and, for
/// caption tables, the columns and separator.
///
/// ```swift
/// let source = TrainingDataSource(path: "synth/train.csv", separator: ",")   // made absolute
/// let dataset = try source.open()
/// ```
public struct TrainingDataSource: Codable, Sendable, Equatable {
    /// A CSV/TSV file, a tar shard pattern (`data/{000..009}.tar`, `a.tar::b.tar`) or a folder.
    public var path: String
    /// Column holding image paths (caption tables).
    public var imageKey: String
    /// Column holding captions (caption tables).
    public var captionKey: String
    /// Field separator of caption tables, one character.
    public var separator: String

    /// A source whose relative `path` resolves against `directory` (by default the working
    /// directory) and is stored absolute, so a run resumed elsewhere reads the same files.
    public init(
        path: String, imageKey: String = "filepath", captionKey: String = "title", separator: Character = "\t",
        relativeTo directory: URL? = nil
    ) {
        let base = directory ?? URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true)
        self.path = Self.absolute(path, relativeTo: base)
        self.imageKey = imageKey
        self.captionKey = captionKey
        self.separator = String(separator)
    }

    /// Column names and separator as ``TrainingData`` takes them.
    public var csvOptions: TrainingData.CSVOptions {
        TrainingData.CSVOptions(imageKey: imageKey, captionKey: captionKey, separator: separator.first ?? "\t")
    }

    /// Opens the data (``TrainingData/open(_:csv:)``).
    public func open() throws -> any TrainingDataset { try TrainingData.open(path, csv: csvOptions) }

    /// `path` made absolute against `base`; each member of a `::` shard list separately.
    static func absolute(_ path: String, relativeTo base: URL) -> String {
        let base = URL(fileURLWithPath: base.path, isDirectory: true)
        return path.components(separatedBy: "::").map { part -> String in
            guard !part.isEmpty else { return part }
            return URL(fileURLWithPath: part, relativeTo: base).standardizedFileURL.path
        }.joined(separator: "::")
    }
}

/// Everything that defines a training run. ``Trainer`` writes it into every checkpoint, and a
/// resumed run takes it from there as the single source of truth.
///
/// ```swift
/// var request = RunRequest()
/// request.trainData = "synth/train.csv"
/// request.batchSize = 128
/// request.steps = 2000
/// request.learningRate = 1e-3
/// let description = try request.newRun(model: "model-config tiny.json")
/// ```
public struct RunDescription: Codable, Sendable, Equatable {
    /// Training pairs (nil for a ``Trainer`` driven step by step).
    public var data: TrainingDataSource?
    /// Held-out caption table evaluated at every checkpoint and at the end.
    public var validation: TrainingDataSource?
    /// Batch size, steps, schedule, seed, accumulation, clipping, checkpoint cadence.
    public var options: TrainingOptions
    /// Towers that do not train (LiT). ``Trainer`` takes them from the model it is given.
    public var lockedTowers: [CLIP.Tower]
    /// What the model was built from, for people reading the checkpoint (an architecture and
    /// seed, a model-config file, or pretrained weights).
    public var model: String

    public init(
        data: TrainingDataSource?, validation: TrainingDataSource? = nil, options: TrainingOptions,
        lockedTowers: Set<CLIP.Tower> = [], model: String = ""
    ) {
        self.data = data
        self.validation = validation
        self.options = options
        self.lockedTowers = lockedTowers.sorted()
        self.model = model
    }
}

/// The settings a user gave for a run, nil where they gave none. A new run fills the gaps
/// with open_clip's defaults (``newRun(model:)``); a resumed run checks that what was given
/// agrees with what the checkpoint recorded (``check(against:)``).
public struct RunRequest: Sendable, Equatable {
    /// `--train-data`: a path, relative to ``workingDirectory`` or absolute.
    public var trainData: String?
    /// `--csv-img-key` (default `filepath`).
    public var csvImageKey: String?
    /// `--csv-caption-key` (default `title`).
    public var csvCaptionKey: String?
    /// `--csv-separator` (default tab).
    public var csvSeparator: Character?
    /// `--val-data`: a caption table evaluated at every checkpoint.
    public var validationData: String?
    /// The ``TrainingOptions`` fields, as `--batch-size`, `--steps`, `--epochs` (turned into
    /// steps), `--lr`, `--warmup`, `--wd`, `--seed`, `--grad-clip-norm`, `--accum-freq`,
    /// `--checkpoint-every` and `--keep-checkpoints` give them.
    public var batchSize: Int?
    public var steps: Int?
    public var epochs: Int?
    public var learningRate: Float?
    public var warmup: Int?
    public var weightDecay: Float?
    public var seed: UInt64?
    public var gradientClipNorm: Float?
    public var accumulationSteps: Int?
    public var checkpointEvery: Int?
    public var keepCheckpoints: Int?
    /// `--skip-nonfinite` and `--augment`: nil or false when not given.
    public var skipNonFinite: Bool?
    public var augment: Bool?
    /// Towers asked to be locked (nil or empty: none asked).
    public var lockedTowers: Set<CLIP.Tower>?
    /// Where relative paths resolve (the working directory by default).
    public var workingDirectory: URL?

    public init() {}

    /// The description of a new run: defaults where nothing was given, paths absolute, every
    /// setting validated, and the training data opened once so a bad table fails before any
    /// model is built.
    /// - Throws: ``TrainingError/invalidOption(name:value:valid:)``,
    ///   ``TrainingError/invalidOptions(_:)`` for a missing setting, data errors.
    public func newRun(model: String) throws -> RunDescription {
        guard let trainData else { throw TrainingError.invalidOptions("--train-data is required") }
        guard let batchSize else { throw TrainingError.invalidOptions("--batch-size N (at least 2) is required") }
        guard (steps == nil) != (epochs == nil) else {
            throw TrainingError.invalidOptions("give exactly one of --steps and --epochs")
        }
        guard let learningRate else { throw TrainingError.invalidOptions("--lr X (positive) is required") }
        let data = source(trainData)
        var options = TrainingOptions(batchSize: batchSize, steps: steps ?? 1, learningRate: learningRate)
        apply(to: &options)
        try options.validate()
        let dataset = try data.open()
        if let epochs {
            options.steps = try TrainingOptions.steps(epochs: epochs, samples: dataset.count, batchSize: batchSize)
        }
        return RunDescription(
            data: data, validation: validationData.map(source), options: options, lockedTowers: lockedTowers ?? [],
            model: model)
    }

    /// Throws ``TrainingError/resumeConflict(name:recorded:given:)`` for the first given
    /// setting that differs from the recorded one.
    public func check(against recorded: RunDescription) throws {
        let o = recorded.options
        func same<T: Equatable>(_ name: String, _ value: T?, _ old: T, _ show: (T) -> String = { "\($0)" }) throws {
            if let value, value != old {
                throw TrainingError.resumeConflict(name: name, recorded: show(old), given: show(value))
            }
        }
        let quoted: (String) -> String = { "'\($0)'" }
        let data = recorded.data
        if let trainData { try same("--train-data", source(trainData).path, data?.path ?? "(none)", quoted) }
        try same("--csv-img-key", csvImageKey, data?.imageKey ?? "filepath", quoted)
        try same("--csv-caption-key", csvCaptionKey, data?.captionKey ?? "title", quoted)
        try same(
            "--csv-separator", csvSeparator.map(String.init), data?.separator ?? "\t",
            { quoted($0 == "\t" ? "\\t" : $0) })
        if let validationData {
            try same("--val-data", source(validationData).path, recorded.validation?.path ?? "(none)", quoted)
        }
        try same("--batch-size", batchSize, o.batchSize)
        try same("--steps", steps, o.steps)
        if let epochs, let data {
            let steps = try TrainingOptions.steps(epochs: epochs, samples: data.open().count, batchSize: o.batchSize)
            if steps != o.steps {
                throw TrainingError.resumeConflict(
                    name: "--epochs", recorded: "(\(o.steps) steps)", given: "\(epochs) (\(steps) steps)")
            }
        }
        try same("--lr", learningRate, o.learningRate)
        try same("--warmup", warmup, o.warmup)
        try same("--wd", weightDecay, o.weightDecay)
        try same("--seed", seed, o.seed)
        if let gradientClipNorm {
            try same("--grad-clip-norm", gradientClipNorm, o.gradientClipNorm ?? 0, { $0 == 0 ? "(off)" : "\($0)" })
        }
        try same("--accum-freq", accumulationSteps, o.accumulationSteps)
        try same("--checkpoint-every", checkpointEvery, o.checkpointEvery)
        try same("--keep-checkpoints", keepCheckpoints, o.keepCheckpoints)
        if skipNonFinite == true { try same("--skip-nonfinite", true, o.skipNonFinite, { $0 ? "on" : "off" }) }
        if augment == true { try same("--augment", true, o.augment, { $0 ? "on" : "off" }) }
        for tower in (lockedTowers ?? []).sorted() where !recorded.lockedTowers.contains(tower) {
            throw TrainingError.resumeConflict(
                name: "--lock-\(tower.rawValue)", recorded: "off (the \(tower.rawValue) tower trains)", given: "on")
        }
    }

    private func apply(to options: inout TrainingOptions) {
        if let warmup { options.warmup = warmup }
        if let weightDecay { options.weightDecay = weightDecay }
        if let seed { options.seed = seed }
        options.gradientClipNorm = gradientClipNorm
        if let accumulationSteps { options.accumulationSteps = accumulationSteps }
        if let checkpointEvery { options.checkpointEvery = checkpointEvery }
        if let keepCheckpoints { options.keepCheckpoints = keepCheckpoints }
        options.skipNonFinite = skipNonFinite ?? false
        options.augment = augment ?? false
    }

    private func source(_ path: String) -> TrainingDataSource {
        TrainingDataSource(
            path: path, imageKey: csvImageKey ?? "filepath", captionKey: csvCaptionKey ?? "title",
            separator: csvSeparator ?? "\t", relativeTo: workingDirectory)
    }
}
