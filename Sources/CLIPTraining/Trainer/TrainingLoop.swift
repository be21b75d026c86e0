import CLIPModel
import CLIPReport
import CLIPTensor
import CLIPTokenizer
import Foundation

// The whole run in one readable loop (llm.c's main()): batches from the DataLoader, one
// optimiser step each (Trainer.train, where a distributed version gathers features and
// averages gradients), the log line, and at the checkpoint cadence a checkpoint and the
// validation metrics. Resume is the same loop started from a restored Trainer.

extension Trainer {
    /// Runs the training loop until ``TrainingOptions/steps`` are done or `progress` returns
    /// ``TrainingDisposition/stop`` (a checkpoint is saved at the current step first), writing
    /// into `output`: `checkpoints/step-N/`, `latest.safetensors`, `log.jsonl` and `report.html`
    /// (the run's curves and settings, refreshed after every checkpoint and its validation).
    ///
    /// With ``RunDescription/validation`` data, ``validation`` evaluates the model at every
    /// checkpoint (`.validation` events and log lines); a run with validation data and no
    /// validation function is refused rather than silently not evaluated.
    ///
    /// A new run refuses an `output` that already holds checkpoints; a resumed run
    /// (``resume(from:request:)``) truncates `log.jsonl` to its checkpoint's step. Both first
    /// remove what a killed run left behind (``StaleFiles``).
    ///
    /// ```swift
    /// let summary = try trainer.run(output: URL(fileURLWithPath: "run"), workers: 2) { event in
    ///     switch event {
    ///     case .step(let report, _): print("step", report.step, "loss", report.loss)
    ///     case .validation(_, let metrics): print(metrics)
    ///     default: break
    ///     }
    ///     return .more
    /// }
    /// ```
    /// - Parameters:
    ///   - workers: background threads decoding images (0 to 256; 0 decodes in the caller).
    /// - Throws: ``TrainingError``, ``DataError``, and file errors while writing `output`.
    @discardableResult
    public func run(
        output: URL, workers: Int = 2,
        progress: (TrainingEvent) throws -> TrainingDisposition = { _ in .more }
    ) throws -> TrainingSummary {
        guard let source = runDescription.data else {
            throw TrainingError.invalidOptions("the run description names no training data")
        }
        try TrainingOptions.check("--workers", workers, in: 0...256)
        if runDescription.validation != nil && validation == nil {
            throw TrainingError.invalidOptions("the run has validation data but the trainer no validation function")
        }
        let writes = collective.rank == 0
        let fm = FileManager.default
        if writes {
            try fm.createDirectory(at: output, withIntermediateDirectories: true)
            if step == 0, (try? Checkpoint.latest(in: output)) != nil {
                throw TrainingError.outputInUse(output.path)
            }
            StaleFiles.remove(in: output)
        }
        let dataset = try source.open()
        let ranks = collective.worldSize
        if ranks > 1 { try checkDataParallel(samples: dataset.count) }
        let loader = try DataLoader(
            source: dataset, batchSize: options.batchSize, imageSize: model.imageSize, tokenizer: try model.tokenizer,
            contextLength: model.configuration.text.contextLength, seed: options.seed, augment: options.augment,
            workers: workers)
        defer { loader.close() }
        if let dataPosition { try loader.restore(dataPosition) }
        let log = writes ? try TrainingLog(url: output.appendingPathComponent("log.jsonl"), keepingThrough: step) : nil
        defer { log?.close() }

        var summary = TrainingSummary(
            step: step, totalSteps: options.steps, stopped: false, skippedSamples: loader.skippedSamples,
            skippedSteps: 0, latest: output.appendingPathComponent("latest.safetensors"))
        var disposition = try progress(
            .started(
                TrainingStart(
                    step: step, totalSteps: options.steps, samples: dataset.count,
                    parameterCount: model.parameterCount, architectureName: model.configuration.architectureName)))
        var reportedStep: Int?
        while step < options.steps && disposition == .more {
            guard let batch = try loader.nextBatch() else { break }
            let started = Date()
            // Every rank loads the same global batch and trains on its contiguous share, so the
            // global batch at step s is the same whatever the number of ranks.
            let share = ranks > 1 ? batch.share(rank: collective.rank, of: ranks) : (batch.pixels, batch.tokens)
            let report = try train(pixels: share.0, tokens: share.1)
            dataPosition = batch.position
            let rate = Double(options.batchSize) / max(Date().timeIntervalSince(started), 1e-9)
            if report.skipped { summary.skippedSteps += 1 }
            try log?.append(
                TrainingLog.StepEntry(
                    step: report.step, loss: report.loss, lr: report.learningRate, logitScale: report.logitScale,
                    gradNorm: report.gradientNorm, samplesPerSecond: rate, skippedSamples: loader.skippedSamples,
                    stepSkipped: report.skipped))
            disposition = try progress(.step(report, samplesPerSecond: rate))
            // A stop (Ctrl-C reaches every rank at a different moment) holds when any rank asks.
            if ranks > 1, try collective.allReduceSum([disposition == .stop ? 1 : 0])[0] > 0 { disposition = .stop }
            let due = step % options.checkpointEvery == 0 || step == options.steps
            if due || disposition == .stop {
                if try checkpoint(output: output, log: log, progress: progress) == .stop {
                    disposition = .stop
                }
                reportedStep = try writeReport(output: output, log: log)
            }
        }
        // The loop also ends when the data runs out between checkpoints.
        if let log, log.history.lastStep != reportedStep { try writeReport(output: output, log: log) }
        summary.step = step
        summary.stopped = step < options.steps
        summary.skippedSamples = loader.skippedSamples
        _ = try progress(.finished(summary))
        return summary
    }

    /// Rewrites DIR/report.html (rank 0) from the log's lines and the newest checkpoint's
    /// trainer.json: the page `TrainingReport.load(runDirectory:)` rebuilds from the files.
    /// Returns the last step it shows.
    @discardableResult
    private func writeReport(output: URL, log: TrainingLog?) throws -> Int? {
        guard let log else { return nil }
        let report = TrainingReport(
            name: output.standardizedFileURL.lastPathComponent, history: log.history,
            summary: RunSummary(runDirectory: output))
        try report.write(to: output.appendingPathComponent(TrainingReport.fileName))
        return log.history.lastStep
    }

    /// Refuses settings a data-parallel run cannot work with (``run(output:workers:progress:)``
    /// checks them before its first collective call; every rank finds the same): a global batch
    /// the ranks cannot split evenly, micro-batches that do not divide a rank's share, and data
    /// with fewer than `samples` than one global batch. Nothing to check with one process.
    public func checkDataParallel(samples: Int) throws {
        guard collective.worldSize > 1 else { return }
        let ranks = collective.worldSize, batch = options.batchSize
        guard ranks <= batch, batch % ranks == 0 else {
            throw TrainingError.invalidOptions(
                "the global batch of \(batch) pairs cannot be split evenly over \(ranks) ranks")
        }
        guard (batch / ranks) % options.accumulationSteps == 0 else {
            throw TrainingError.invalidOptions(
                "\(options.accumulationSteps) micro-batches do not divide the \(batch / ranks) pairs per rank")
        }
        guard samples >= batch else {
            throw TrainingError.invalidOptions(
                "the data has \(samples) samples, fewer than one global batch of \(batch) (\(ranks) ranks × \(batch / ranks))"
            )
        }
    }

    /// Saves a checkpoint (rank 0), then evaluates the validation data if the run has some (rank 0).
    private func checkpoint(
        output: URL, log: TrainingLog?, progress: (TrainingEvent) throws -> TrainingDisposition
    ) throws -> TrainingDisposition {
        var disposition = TrainingDisposition.more
        if collective.rank == 0 {
            let folder = try Checkpoint.save(self, to: output)
            if try progress(.checkpoint(step: step, folder: folder)) == .stop { disposition = .stop }
        }
        if collective.rank == 0, let validation, let data = runDescription.validation {
            let metrics = try validation(model, data)
            try log?.appendValidation(step: step, metrics: metrics)
            if try progress(.validation(step: step, metrics: metrics)) == .stop { disposition = .stop }
        }
        return disposition
    }
}

extension DataLoader.Batch {
    /// Rank `rank`'s contiguous share of the batch (its size divisible by `ranks`).
    func share(rank: Int, of ranks: Int) -> (Tensor, [[Int32]]) {
        let b = tokens.count / ranks, rows = (rank * b)..<((rank + 1) * b)
        return (pixels.sliced(dim: 0, range: rows).contiguous(), Array(tokens[rows]))
    }
}
