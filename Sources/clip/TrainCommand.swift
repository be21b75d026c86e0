import ArgumentParser
import CLIP
import Foundation

/// `clip train`: contrastive training from scratch or fine-tuning, with checkpoints and resume.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train or fine-tune a CLIP model with the contrastive loss (open_clip's recipe).",
        discussion: """
            Data: a CSV/TSV with image paths and captions, WebDataset tar shards (brace lists like
            data/{000..009}.tar), or a folder of images with .txt captions. The model: --model-config
            (open_clip model-config JSON) or --model NAME (one of `clip models`' architectures,
            random-initialised) to train from scratch, or --model FILE to fine-tune a checkpoint.

            Writes DIR/log.jsonl (one JSON object per step), DIR/checkpoints/step-N/ (model,
            optimiser state, data position; the last --keep-checkpoints kept) and
            DIR/latest.safetensors, which every --model option accepts. --resume DIR continues a
            stopped run exactly where it stopped (the same weights as an uninterrupted run).

            Examples:
              clip synth --output synth --count 20000
              clip train --train-data synth/train.csv --model-config tiny.json --batch-size 128 --steps 2000 --lr 1e-3 --warmup 100 --output run
              clip train --resume run --output run
              clip train --train-data pairs.csv --csv-separator , --model ViT-B-32.pt --lock-image --batch-size 64 --epochs 1 --lr 1e-5 --output tuned
            """)

    @Option(help: "Training data: CSV/TSV file, tar shard list, or folder with .txt captions.")
    var trainData: String?

    @Option(help: "CSV column holding image paths.")
    var csvImgKey = "filepath"

    @Option(help: "CSV column holding captions.")
    var csvCaptionKey = "title"

    @Option(help: "CSV separator (default: tab, as open_clip).")
    var csvSeparator = "\t"

    @Option(help: "open_clip model-config JSON to train from scratch.")
    var modelConfig: String?

    @Option(help: "Architecture name to train from scratch (e.g. ViT-B-32), or a checkpoint file to fine-tune.")
    var model: String?

    @Option(help: "Text heads / vision heads for checkpoints whose widths are not multiples of 64.")
    var textHeads: Int?
    @Option(help: "")
    var visionHeads: Int?

    @Option(help: "Pairs per optimiser step (the contrastive batch).")
    var batchSize: Int?

    @Option(help: "Optimiser steps.")
    var steps: Int?

    @Option(help: "Passes over the data (instead of --steps).")
    var epochs: Int?

    @Option(help: "Peak learning rate.")
    var lr: Float?

    @Option(help: "Linear warmup steps before cosine decay.")
    var warmup = 0

    @Option(help: "AdamW weight decay (not applied to gains, biases and the logit scale).")
    var wd: Float = 0.2

    @Option(help: "Seed for initialisation, shuffling and augmentation.")
    var seed: UInt64 = 0

    @Option(help: "Output directory.")
    var output: String

    @Option(help: "Resume the run whose checkpoints are in this directory.")
    var resume: String?

    @Flag(help: "Keep the image tower fixed (LiT).")
    var lockImage = false

    @Flag(help: "Keep the text tower fixed.")
    var lockText = false

    @Option(help: "Caption CSV for image↔text retrieval after training (and at checkpoints).")
    var valData: String?

    @Option(help: "Clip the global gradient norm to this value.")
    var gradClipNorm: Float?

    @Option(help: "Micro-batches per step (feature caching keeps the contrastive batch whole).")
    var accumFreq = 1

    @Option(help: "Checkpoint every N steps.")
    var checkpointEvery = 100

    @Option(help: "Checkpoints to keep.")
    var keepCheckpoints = 3

    @Flag(help: "Skip steps with a non-finite loss or gradient (with a warning) instead of stopping.")
    var skipNonfinite = false

    @Flag(help: "open_clip's RandomResizedCrop augmentation.")
    var augment = false

    @Option(help: "Background threads decoding images.")
    var workers = 2

    func validate() throws {
        if resume == nil {
            guard trainData != nil else { throw ValidationError("--train-data is required") }
            guard (modelConfig == nil) != (model == nil) else {
                throw ValidationError("give exactly one of --model-config and --model")
            }
            guard let batchSize, batchSize >= 2 else {
                throw ValidationError("--batch-size N (at least 2) is required")
            }
            guard (steps == nil) != (epochs == nil) else {
                throw ValidationError("give exactly one of --steps and --epochs")
            }
            guard let lr, lr > 0 else { throw ValidationError("--lr X (positive) is required") }
        }
        do { _ = try DelimitedText.separator(fromArgument: csvSeparator) } catch {
            throw ValidationError("--csv-separator: \(error.localizedDescription)")
        }
    }

    func run() throws {
        let outputURL = URL(fileURLWithPath: output)
        try? FileManager.default.createDirectory(at: outputURL, withIntermediateDirectories: true)
        let tokenizer = try Tokenizer.bundled()
        var trainer: Trainer
        var savedPosition: Data?
        var dataPath: String
        if let resume {
            do {
                let folder = try Checkpoint.latest(in: URL(fileURLWithPath: resume))
                let frozen = (lockImage ? ["visual."] : []) + (lockText ? TrainCommand.textPrefixes : [])
                (trainer, savedPosition) = try Checkpoint.resume(from: folder, frozenPrefixes: frozen)
                let runFile = URL(fileURLWithPath: resume).appendingPathComponent("run.json")
                let run = try JSONDecoder().decode(RunDescription.self, from: Data(contentsOf: runFile))
                dataPath = trainData ?? run.trainData
                note("resuming \(folder.path) at step \(trainer.step) of \(trainer.options.steps)")
            } catch { throw fail(error, .input) }
        } else {
            guard let trainData, let batchSize, let lr else { throw fail("missing options", .usage) }
            dataPath = trainData
            let dataset = try openData(dataPath)  // before building the model: bad data fails fast
            let model = try buildModel()
            let totalSteps = steps ?? max(1, (epochs ?? 1) * (dataset.count / batchSize))
            var options = TrainingOptions(batchSize: batchSize, steps: totalSteps, learningRate: lr)
            options.warmup = warmup
            options.weightDecay = wd
            options.seed = seed
            options.gradientClipNorm = gradClipNorm
            options.accumulationSteps = accumFreq
            options.lockImage = lockImage
            options.lockText = lockText
            options.checkpointEvery = checkpointEvery
            options.keepCheckpoints = keepCheckpoints
            options.skipNonFinite = skipNonfinite
            options.augment = augment
            do { trainer = try Trainer(model: model, options: options) } catch { throw fail(error, .usage) }
            let run = RunDescription(
                trainData: dataPath, csvImageKey: csvImgKey, csvCaptionKey: csvCaptionKey,
                csvSeparator: String(separator))
            try writeJSON(run, to: outputURL.appendingPathComponent("run.json"))
        }
        let options = trainer.options
        let dataset = try openData(dataPath)
        let loader: DataLoader
        do {
            loader = try DataLoader(
                source: dataset, batchSize: options.batchSize, imageSize: trainer.model.imageSize,
                tokenizer: tokenizer, contextLength: trainer.model.configuration.text.contextLength,
                seed: options.seed, augment: options.augment, workers: workers)
            if let savedPosition { try loader.restore(JSONDecoder().decode(DataPosition.self, from: savedPosition)) }
        } catch { throw fail(error, .input) }
        defer { loader.close() }
        note(
            "training \(trainer.model.configuration.architectureName), \(trainer.model.parameterCount) parameters, on \(dataset.count) samples; \(options.steps) steps of \(options.batchSize)"
        )

        let logURL = outputURL.appendingPathComponent("log.jsonl")
        if !FileManager.default.fileExists(atPath: logURL.path) {
            _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        }
        let log = try FileHandle(forWritingTo: logURL)
        defer { try? log.close() }
        _ = try? log.seekToEnd()
        let progress = TrainingProgress(total: options.steps, start: trainer.step)
        while trainer.step < options.steps {
            guard let batch = try loadBatch(loader) else { break }
            let started = Date()
            let report: StepReport
            do { report = try trainer.train(pixels: batch.pixels, tokens: batch.tokens) } catch {
                throw fail(error, .input)
            }
            if report.skipped {
                warn("step \(report.step): non-finite \(report.loss.isFinite ? "gradient" : "loss"), step skipped")
            }
            let rate = Double(options.batchSize) / max(Date().timeIntervalSince(started), 1e-9)
            let entry = LogEntry(
                step: report.step, loss: report.loss, lr: report.learningRate, logitScale: report.logitScale,
                gradNorm: report.gradientNorm, samplesPerSecond: rate, skippedSamples: loader.skippedSamples,
                stepSkipped: report.skipped)
            log.write(try JSONEncoder().encode(entry) + Data("\n".utf8))
            progress.update(report, samplesPerSecond: rate)
            if report.step % options.checkpointEvery == 0 || report.step == options.steps {
                do {
                    try Checkpoint.save(trainer, dataPosition: try JSONEncoder().encode(batch.position), to: outputURL)
                } catch { throw fail(error, .io) }
            }
        }
        progress.finish()
        if loader.skippedSamples > 0 { warn("\(loader.skippedSamples) bad samples were skipped") }
        note("saved \(outputURL.appendingPathComponent("latest.safetensors").path)")
        if let valData { try evaluate(trainer.model, valData, log: log) }
    }

    /// The CSV separator (validated in `validate()`; "\\t", "tab" and "comma" are spelled out).
    private var separator: Character { (try? DelimitedText.separator(fromArgument: csvSeparator)) ?? "\t" }

    static let textPrefixes = [
        "token_embedding.", "positional_embedding", "transformer.", "ln_final.", "text_projection",
    ]

    private func buildModel() throws -> CLIP {
        let frozen = (lockImage ? ["visual."] : []) + (lockText ? TrainCommand.textPrefixes : [])
        do {
            if let modelConfig {
                let config = try JSONDecoder().decode(
                    CLIPConfiguration.self, from: Data(contentsOf: URL(fileURLWithPath: modelConfig)))
                return try CLIP(configuration: config, seed: seed, frozenPrefixes: frozen)
            }
            guard let model else { throw fail("no model", .usage) }
            if FileManager.default.fileExists(atPath: model) {
                let state = try WeightLoader.load(URL(fileURLWithPath: model))
                var config: CLIPConfiguration?
                if textHeads != nil || visionHeads != nil {
                    config = try CLIPConfiguration.infer(from: state, textHeads: textHeads, visionHeads: visionHeads)
                }
                return try CLIP(state: state, configuration: config, trainable: true, frozenPrefixes: frozen)
            }
            guard let preset = CLIPConfiguration.preset(model) else {
                throw fail(
                    "'\(model)' is neither a file nor a known architecture",
                    hint: "`clip models` lists the architectures.", .model)
            }
            return try CLIP(configuration: preset, seed: seed, frozenPrefixes: frozen)
        } catch let exit as ExitCode {
            throw exit
        } catch {
            throw fail(error, .model)
        }
    }

    private func openData(_ path: String) throws -> any TrainingDataset {
        do {
            return try TrainingData.open(
                path, csv: .init(imageKey: csvImgKey, captionKey: csvCaptionKey, separator: separator))
        } catch { throw fail(error, .input) }
    }

    private func loadBatch(_ loader: DataLoader) throws -> DataLoader.Batch? {
        do { return try loader.nextBatch() } catch { throw fail(error, .input) }
    }

    private func evaluate(_ model: CLIP, _ path: String, log: FileHandle) throws {
        do {
            let data = try RetrievalDataset(
                csv: URL(fileURLWithPath: path), imageKey: csvImgKey, captionKey: csvCaptionKey,
                separator: separator)
            let report = try RetrievalEvaluation.evaluate(model: model, dataset: data)
            let json = try JSONSerialization.data(
                withJSONObject: ["validation": report.metrics.dictionary], options: [.sortedKeys])
            log.write(json + Data("\n".utf8))
            print(String(decoding: json, as: UTF8.self))
        } catch { throw fail(error, .input) }
    }

    private func writeJSON<T: Encodable>(_ value: T, to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do { try encoder.encode(value).write(to: url, options: .atomic) } catch {
            throw fail("cannot write \(url.path)", .io)
        }
    }

    private func note(_ message: String) {
        FileHandle.standardError.write(Data("\(message)\n".utf8))
    }
}

/// What `--resume` needs besides the checkpoint: where the data came from.
struct RunDescription: Codable {
    var trainData: String
    var csvImageKey: String
    var csvCaptionKey: String
    var csvSeparator: String
}

/// One line of DIR/log.jsonl.
struct LogEntry: Codable {
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
        case
            skippedSamples = "skipped_samples"
        case stepSkipped = "step_skipped"
    }
}

/// A one-line progress bar on stderr (redrawn in place on a terminal, a line every 10% otherwise).
final class TrainingProgress {
    let total: Int
    let start: Int
    let began = Date()
    let isTerminal = isatty(FileHandle.standardError.fileDescriptor) != 0
    var lastPrinted = -1

    init(total: Int, start: Int) {
        self.total = total
        self.start = start
    }

    func update(_ r: StepReport, samplesPerSecond: Double) {
        let done = r.step - start, left = total - r.step
        let elapsed = Date().timeIntervalSince(began)
        let eta = done > 0 ? elapsed / Double(done) * Double(left) : 0
        let width = 24, filled = Int(Double(width) * Double(r.step) / Double(max(total, 1)))
        let bar = String(repeating: "=", count: filled) + String(repeating: " ", count: width - filled)
        let line = String(
            format: "step %d/%d [%@] loss %.4f lr %.2e scale %.2f %.0f samples/s ETA %@",
            r.step, total, bar, r.loss, r.learningRate, exp(r.logitScale), samplesPerSecond, TrainingProgress.clock(eta)
        )
        if isTerminal {
            FileHandle.standardError.write(Data("\r\(line)\u{1B}[K".utf8))
        } else {
            let decile = r.step * 10 / max(total, 1)
            if decile != lastPrinted || r.step == total {
                lastPrinted = decile
                FileHandle.standardError.write(Data("\(line)\n".utf8))
            }
        }
    }

    func finish() { if isTerminal { FileHandle.standardError.write(Data("\n".utf8)) } }

    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600
            ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
