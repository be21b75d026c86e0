import ArgumentParser
import CLIP
import CLISupport
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `clip train`: parses options into a ``RunRequest``, builds or resumes a ``Trainer`` and
/// prints its events. The loop, checkpoints, resume and the log live in CLIPTraining.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train or fine-tune a CLIP model with the contrastive loss (open_clip's recipe).",
        discussion: """
            Data: a CSV/TSV with image paths and captions, WebDataset tar shards (brace lists like \
            data/{000..009}.tar), or a folder of images with .txt captions. Relative paths are resolved \
            against the working directory and recorded absolute.

            The model: --architecture NAME (a `clip models` name or an open_clip name such as ViT-B-32) \
            or --model-config JSON (open_clip model config) builds a fresh, randomly initialised model; \
            --model loads pretrained weights to fine-tune (a file, a folder, a model name or \
            hf:owner/name, as every other command's --model), optionally with --architecture or \
            --model-config as its configuration.

            Writes DIR/log.jsonl (one JSON object per step, and the --val-data metrics at every \
            checkpoint), DIR/checkpoints/step-N/ (model, optimiser state, data position and every \
            setting of the run; the last --keep-checkpoints kept) and DIR/latest.safetensors, which \
            every --model option accepts. --resume DIR continues a stopped run exactly where it stopped \
            (the same weights as an uninterrupted run) with the settings its checkpoint recorded; an \
            option given again must agree with them. Ctrl-C saves a checkpoint and stops (exit 130); \
            --resume continues from there.

            Examples:
              clip synth --output synth --count 20000
              clip train --train-data synth/train.csv --model-config tiny.json --batch-size 128 --steps 2000 --lr 1e-3 --warmup 100 --output run
              clip train --resume run
              clip train --train-data pairs.csv --csv-separator , --model ViT-B/32 --lock-image --batch-size 64 --epochs 1 --lr 1e-5 --output tuned
            """)

    @Option(help: "Training data: CSV/TSV file, tar shard list, or folder with .txt captions.")
    var trainData: String?

    @OptionGroup(title: "Caption table (training and --val-data CSV/TSV)")
    var captionTable: CaptionTableOptions

    @Option(help: "Build a fresh model of this architecture (`clip models` names, or open_clip's like ViT-B-32).")
    var architecture: String?

    @Option(
        help: ArgumentHelp(
            "Pretrained weights to fine-tune: a checkpoint path or a model name (`clip models`; hf:owner/name).",
            valueName: "path-or-name"))
    var model: String?

    @OptionGroup var loading: ModelLoadingOptions

    @Option(help: "Pairs per optimiser step (the contrastive batch), 2 to 1048576.")
    var batchSize: Int?

    @Option(help: "Optimiser steps, 1 to 1000000000.")
    var steps: Int?

    @Option(help: "Passes over the data (instead of --steps).")
    var epochs: Int?

    @Option(help: "Peak learning rate, in (0, 10].")
    var lr: Float?

    @Option(help: "Linear warmup steps before cosine decay (default: 0).")
    var warmup: Int?

    @Option(help: "AdamW weight decay, not applied to gains, biases and the logit scale (default: 0.2).")
    var wd: Float?

    @Option(help: "Seed for initialisation, shuffling and augmentation (default: 0).")
    var seed: UInt64?

    @Option(help: "Output directory (with --resume: the same directory, which is the default).")
    var output: String?

    @Option(help: "Resume the run whose checkpoints are in this directory, with its recorded settings.")
    var resume: String?

    @Flag(help: "Keep the image tower fixed (LiT).")
    var lockImage = false

    @Flag(help: "Keep the text tower fixed.")
    var lockText = false

    @Option(help: "Caption CSV for image↔text retrieval at every checkpoint and at the end (same CSV keys).")
    var valData: String?

    @Option(help: "Clip the global gradient norm to this positive value.")
    var gradClipNorm: Float?

    @Option(help: "Micro-batches per step, dividing the batch size (feature caching keeps the batch whole).")
    var accumFreq: Int?

    @Option(help: "Checkpoint every N steps, N ≥ 1 (default: 100).")
    var checkpointEvery: Int?

    @Option(help: "Checkpoints to keep, 1 to 10000 (default: 3).")
    var keepCheckpoints: Int?

    @Flag(help: "Skip steps with a non-finite loss or gradient (with a warning) instead of stopping.")
    var skipNonfinite = false

    @Flag(help: "open_clip's RandomResizedCrop augmentation.")
    var augment = false

    @Option(help: "Background threads decoding images, 0 to 64 (0 decodes between steps).")
    var workers = 2

    func validate() throws {
        guard (0...64).contains(workers) else { throw ValidationError("--workers must be 0 to 64, got \(workers)") }
        if let resume {
            if let output,
                URL(fileURLWithPath: output).standardizedFileURL
                    != URL(fileURLWithPath: resume)
                    .standardizedFileURL
            {
                throw ValidationError("--output must be the --resume directory '\(resume)' (or left out)")
            }
            let modelFlags = [
                ("--model", model), ("--architecture", architecture), ("--model-config", loading.modelConfig),
                ("--activation", loading.activation), ("--text-heads", loading.textHeads.map(String.init)),
                ("--vision-heads", loading.visionHeads.map(String.init)),
            ]
            if let (flag, _) = modelFlags.first(where: { $0.1 != nil }) {
                throw ValidationError("\(flag) cannot be given with --resume: the model comes from the checkpoint")
            }
            return
        }
        guard output != nil else { throw ValidationError("--output DIR is required") }
        guard trainData != nil else { throw ValidationError("--train-data is required") }
        guard model != nil || architecture != nil || loading.modelConfig != nil else {
            throw ValidationError(
                "give --architecture NAME or --model-config JSON (a fresh model) or --model (weights)")
        }
        guard architecture == nil || loading.modelConfig == nil else {
            throw ValidationError("give only one of --architecture and --model-config")
        }
        if let architecture, CLIPConfiguration.preset(architecture) == nil {
            throw ValidationError(
                "--architecture: unknown architecture '\(architecture)'; known: \(CLIPConfiguration.presetNames.joined(separator: ", "))"
            )
        }
    }

    func run() throws {
        // Under mpirun/srun: one rank of a data-parallel run (--batch-size per rank; README "MPI").
        let world = try Ranks.join()
        defer { world?.finalize() }
        var request = self.request
        request.batchSize = batchSize.map { $0 * (world?.worldSize ?? 1) }
        let (trainer, outputURL) = try Ranks.agree(world, during: "preparing the run") {
            let prepared = try prepare(request)
            if let world {
                prepared.0.collective = MPITrainingCollective(world)
                do {
                    try prepared.0.checkDataParallel(samples: try prepared.0.runDescription.data?.open().count ?? 0)
                } catch { throw fail(error, Self.exitKind(error)) }
            }
            return prepared
        }
        try Ranks.abortOnFailure(world) { try train(trainer, outputURL) }
    }

    /// The trainer of a new or resumed run, and its output directory.
    private func prepare(_ request: RunRequest) throws -> (Trainer, URL) {
        let trainer: Trainer
        let outputURL: URL
        if let resume {
            outputURL = URL(fileURLWithPath: resume)
            do { trainer = try Trainer.resume(from: outputURL, request: request) } catch {
                throw fail(error, Self.exitKind(error))
            }
            status("resuming \(outputURL.path) at step \(trainer.step) of \(trainer.options.steps)")
        } else {
            outputURL = URL(fileURLWithPath: output ?? ".")
            let description: RunDescription
            // The data is opened (and the options checked) before the model is built: bad data fails fast.
            do { description = try request.newRun(model: origin) } catch { throw fail(error, Self.exitKind(error)) }
            let model = try buildModel(lockedTowers: request.lockedTowers ?? [])
            do { trainer = try Trainer(model: model, run: description) } catch { throw fail(error, .usage) }
        }

        return (trainer, outputURL)
    }

    /// Runs the loop, printing its events.
    private func train(_ trainer: Trainer, _ outputURL: URL) throws {
        trainer.validation = Self.retrieval
        let interrupt = InterruptFlag.install()
        var bar: ProgressBar?
        let summary: TrainingSummary
        do {
            summary = try trainer.run(output: outputURL, workers: workers) { event in
                switch event {
                case .started(let start):
                    status(
                        "training \(start.architectureName), \(start.parameterCount) parameters, on \(start.samples) samples; \(start.totalSteps) steps of \(trainer.options.batchSize)"
                    )
                    bar = ProgressBar(label: "train", total: Int64(start.totalSteps), unit: .steps)
                    bar?.setBaseline(Int64(start.step))
                case .step(let report, _):
                    if report.skipped {
                        bar?.finish()
                        warn(
                            "step \(report.step): non-finite \(report.loss.isFinite ? "gradient" : "loss"), step skipped"
                        )
                    }
                    bar?.update(done: Int64(report.step), detail: String(format: "loss %.4f", report.loss))
                    if report.step % trainer.options.checkpointEvery == 0 || report.step == trainer.options.steps {
                        bar?.finish()
                        status(
                            String(
                                format: "step %d/%d loss %.4f lr %.2e logit scale %.2f", report.step,
                                trainer.options.steps, report.loss, report.learningRate, exp(report.logitScale)))
                    }
                case .checkpoint(_, let folder):
                    note("saved \(folder.path)")
                case .validation(let step, let metrics):
                    bar?.finish()
                    let json = try JSONSerialization.data(
                        withJSONObject: ["step": step, "validation": metrics] as [String: Any], options: [.sortedKeys])
                    try Output.write(json + Data("\n".utf8), to: nil)
                case .finished(let summary):
                    bar?.finish()
                    if summary.skippedSamples > 0 { warn("\(summary.skippedSamples) bad samples were skipped") }
                }
                return interrupt.isSet ? .stop : .more
            }
        } catch {
            bar?.finish()
            throw fail(error, Self.exitKind(error))
        }
        if summary.stopped {
            status(
                "stopped at step \(summary.step) of \(summary.totalSteps); continue with: clip train --resume \(outputURL.path)"
            )
            throw ExitCode(130)
        }
        status("saved \(summary.latest.path)")
    }

    /// The settings given on the command line (nil where not given).
    private var request: RunRequest {
        var r = RunRequest()
        r.trainData = trainData
        r.csvImageKey = captionTable.csvImageKey
        r.csvCaptionKey = captionTable.csvCaptionKey
        r.csvSeparator = captionTable.csvSeparator.flatMap { try? DelimitedText.separator(fromArgument: $0) }
        r.validationData = valData
        r.batchSize = batchSize
        r.steps = steps
        r.epochs = epochs
        r.learningRate = lr
        r.warmup = warmup
        r.weightDecay = wd
        r.seed = seed
        r.gradientClipNorm = gradClipNorm
        r.accumulationSteps = accumFreq
        r.checkpointEvery = checkpointEvery
        r.keepCheckpoints = keepCheckpoints
        r.skipNonFinite = skipNonfinite ? true : nil
        r.augment = augment ? true : nil
        let locked = Set((lockImage ? [CLIP.Tower.image] : []) + (lockText ? [.text] : []))
        r.lockedTowers = locked.isEmpty ? nil : locked
        return r
    }

    /// What the model is built from, as the run description records it.
    private var origin: String {
        let shape =
            architecture.map { "architecture \($0)" }
            ?? loading.modelConfig.map { "model config \(URL(fileURLWithPath: $0).standardizedFileURL.path)" }
        if let model { return "pretrained \(model)" + (shape.map { " as \($0)" } ?? "") }
        return (shape ?? "") + ", random initialisation, seed \(seed ?? 0)"
    }

    /// A fresh model from --architecture / --model-config, or pretrained weights from --model.
    private func buildModel(lockedTowers: Set<CLIP.Tower>) throws -> CLIP {
        if let model {
            // --architecture with --model: the preset is the configuration of the weights.
            return try loading.load(
                model, configuration: architecture.flatMap(CLIPConfiguration.preset), trainable: true,
                lockedTowers: lockedTowers
            ).model
        }
        guard var configuration = try architecture.flatMap(CLIPConfiguration.preset) ?? loading.configurationFile()
        else { throw fail("no model", .usage) }
        if let activation = loading.activation.flatMap(Activation.init(rawValue:)) {
            configuration.activation = activation
        }
        do { return try CLIP(configuration: configuration, seed: seed ?? 0, lockedTowers: lockedTowers) } catch {
            throw fail(error, .model)
        }
    }

    /// Image↔text retrieval on the validation table (`clip eval --retrieval`'s metrics).
    static func retrieval(_ model: CLIP, _ data: TrainingDataSource) throws -> [String: Double] {
        let dataset = try RetrievalDataset(
            csv: URL(fileURLWithPath: data.path), imageKey: data.imageKey, captionKey: data.captionKey,
            separator: data.separator.first ?? "\t")
        return try RetrievalEvaluation.evaluate(model: model, dataset: dataset).metrics.dictionary
    }

    /// Exit status for a library error: settings → usage, unwritable output → 74, data → 65.
    static func exitKind(_ error: any Error) -> CLIExit {
        switch error {
        case let training as TrainingError:
            switch training {
            case .invalidOption, .invalidOptions, .resumeConflict, .outputInUse: return .usage
            case .nonFinite, .noCheckpoint, .corruptCheckpoint: return .input
            case .unsafeLog: return .io
            }
        case is CocoaError: return .io
        case let nsError as NSError where nsError.domain == NSPOSIXErrorDomain: return .io
        default: return .input
        }
    }
}

/// Prints a status line on stderr unless `--quiet`.
private func status(_ message: String) {
    guard GlobalOptions.verbosity > .quiet else { return }
    standardError("\(message)\n")
}

/// Set by SIGINT/SIGTERM so the training loop can save a checkpoint and stop.
private final class InterruptFlag: @unchecked Sendable {
    nonisolated(unsafe) private static var raised: sig_atomic_t = 0

    var isSet: Bool { Self.raised != 0 }

    static func install() -> InterruptFlag {
        // The first signal asks for a checkpoint and a clean stop; a second one ends at once.
        signal(SIGINT) { _ in
            if InterruptFlag.raised != 0 { _exit(130) }
            InterruptFlag.raised = 1
        }
        signal(SIGTERM) { _ in
            if InterruptFlag.raised != 0 { _exit(143) }
            InterruptFlag.raised = 1
        }
        return InterruptFlag()
    }
}
