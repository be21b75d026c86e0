import CLIPModel
import CLIPTensor
import Foundation
import Testing

@testable import CLIPTraining

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The library's training loop: events, checkpoint cadence, validation, stop and resume, the
/// run description as the single source of truth, option ranges, and a run directory left
/// clean after a crash.
@Suite struct TrainingLoopTests {
    /// A tiny ViT whose text tower takes the bundled tokenizer's ids.
    static let config = CLIPConfiguration(
        embedDim: 8, vision: .vit(imageSize: 16, patchSize: 8, width: 16, layers: 1, heads: 2),
        text: TextConfiguration(contextLength: 16, vocabularySize: 49408, width: 8, heads: 2, layers: 1))

    static func description(_ csv: URL, validation: Bool = false) -> RunDescription {
        var options = TrainingOptions(batchSize: 4, steps: 6, learningRate: 1e-3)
        options.warmup = 1
        options.checkpointEvery = 2
        options.keepCheckpoints = 5
        return RunDescription(
            data: TrainingDataSource(path: csv.path),
            validation: validation ? TrainingDataSource(path: csv.path) : nil, options: options)
    }

    static func logSteps(_ dir: URL) throws -> [Int] {
        try String(contentsOf: dir.appendingPathComponent("log.jsonl"), encoding: .utf8).split(separator: "\n")
            .compactMap { line -> Int? in
                let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                return object?["validation"] == nil ? object?["step"] as? Int : nil
            }
    }

    /// The last step report.html shows (its `clip-report-step` meta), nil when absent.
    static func reportStep(_ page: URL) -> Int? {
        guard let html = try? String(contentsOf: page, encoding: .utf8),
            let range = html.range(of: "<meta name=\"clip-report-step\" content=\"")
        else { return nil }
        return Int(html[range.upperBound...].prefix { $0.isNumber })
    }

    @Test func stoppedAndResumedRunEndsWithTheUninterruptedRunsBytes() throws {
        let folder = try DataFixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let csv = try DataFixtures.writeCSV(count: 12, in: folder)

        // Uninterrupted, with validation at every checkpoint.
        let straight = folder.appendingPathComponent("straight")
        var events: [String] = []
        var validated: [Int] = []
        let trainer = try Trainer(
            model: try CLIP(configuration: Self.config, seed: 1, lockedTowers: []),
            run: Self.description(csv, validation: true))
        trainer.validation = { _, data in
            #expect(data.path == csv.path)
            return ["score": 1]
        }
        // The step report.html shows when each step begins: refreshed after every checkpoint.
        var reported: [Int] = []
        let page = straight.appendingPathComponent("report.html")
        let summary = try trainer.run(output: straight, workers: 0) { event in
            switch event {
            case .started(let start): events.append("started \(start.step)/\(start.totalSteps)")
            case .step(let report, _):
                events.append("step \(report.step)")
                reported.append(Self.reportStep(page) ?? 0)
            case .checkpoint(let step, _): events.append("checkpoint \(step)")
            case .validation(let step, _): validated.append(step)
            case .finished(let summary): events.append("finished \(summary.step) stopped \(summary.stopped)")
            }
            return .more
        }
        #expect(summary.step == 6 && !summary.stopped)
        #expect(
            events == [
                "started 0/6", "step 1", "step 2", "checkpoint 2", "step 3", "step 4", "checkpoint 4", "step 5",
                "step 6", "checkpoint 6", "finished 6 stopped false",
            ])
        #expect(validated == [2, 4, 6])
        #expect(reported == [0, 0, 2, 2, 4, 4], "\(reported)")
        #expect(Self.reportStep(page) == 6)
        // Six curves: five training metrics and the validation "score".
        let html = try String(contentsOf: page, encoding: .utf8)
        #expect(html.components(separatedBy: "<path").count - 1 == 6)
        #expect(html.contains("validation: score"))
        let log = try String(contentsOf: straight.appendingPathComponent("log.jsonl"), encoding: .utf8)
        #expect(log.components(separatedBy: "\"validation\"").count == 4, "\(log)")

        // Stopped by the callback after step 3 (a checkpoint is saved there), then resumed.
        let stopped = folder.appendingPathComponent("stopped")
        let first = try Trainer(
            model: try CLIP(configuration: Self.config, seed: 1, lockedTowers: []), run: Self.description(csv))
        let partial = try first.run(output: stopped, workers: 0) { event in
            if case .step(let report, _) = event, report.step == 3 { return .stop }
            return .more
        }
        #expect(partial.stopped && partial.step == 3)
        #expect(try Checkpoint.latest(in: stopped).lastPathComponent == "step-00000003")
        let resumed = try Trainer.resume(from: stopped)
        #expect(resumed.step == 3 && resumed.runDescription == first.runDescription)
        try resumed.run(output: stopped, workers: 1)
        let a = try Data(contentsOf: straight.appendingPathComponent("latest.safetensors"))
        let b = try Data(contentsOf: stopped.appendingPathComponent("latest.safetensors"))
        #expect(a == b, "the resumed run ended with different weights")
        #expect(try Self.logSteps(stopped) == [1, 2, 3, 4, 5, 6])

        // A new run does not write into a directory that holds a run.
        let again = try Trainer(
            model: try CLIP(configuration: Self.config, seed: 1, lockedTowers: []), run: Self.description(csv))
        #expect(throws: TrainingError.outputInUse(straight.path)) { try again.run(output: straight, workers: 0) }
        // Validation data without a validation function is refused, not ignored.
        #expect(throws: TrainingError.self) {
            try Trainer(
                model: try CLIP(configuration: Self.config, seed: 1, lockedTowers: []),
                run: Self.description(csv, validation: true)
            ).run(output: folder.appendingPathComponent("unvalidated"), workers: 0)
        }
    }

    @Test func lockedTowersAreRecordedAndRestoredFromTheModel() throws {
        let folder = try DataFixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let csv = try DataFixtures.writeCSV(count: 8, in: folder)
        let model = try CLIP(configuration: Self.config, seed: 2, lockedTowers: [.image])
        let before = model.namedParameters.filter { CLIP.Tower.image.contains(key: $0.key) }.map(\.variable.value)
        var run = Self.description(csv)
        run.options.steps = 2
        let out = folder.appendingPathComponent("run")
        try Trainer(model: model, run: run).run(output: out, workers: 0)
        let state = try Checkpoint.state(in: try Checkpoint.latest(in: out))
        #expect(state.run.lockedTowers == [.image])
        let resumed = try Checkpoint.resume(from: try Checkpoint.latest(in: out))
        #expect(resumed.model.lockedTowers == [.image])
        let after = resumed.model.namedParameters.filter { CLIP.Tower.image.contains(key: $0.key) }
        #expect(zip(before, after).allSatisfy { $0.scalars == $1.variable.value.scalars })
        // Every parameter but the logit scale belongs to exactly one tower.
        for (key, _) in model.namedParameters where key != "logit_scale" {
            #expect(CLIP.Tower.allCases.filter { $0.contains(key: key) }.count == 1, "\(key)")
        }
    }

    /// (what was given again at resume, the option named in the error), against a run recorded
    /// with batch 4, lr 1e-3, tab-separated `train.csv`, no locked tower.
    static let conflicts: [(String, @Sendable (inout RunRequest) -> Void, String?)] = [
        ("same batch size", { $0.batchSize = 4 }, nil),
        ("other batch size", { $0.batchSize = 8 }, "--batch-size"),
        ("other lr", { $0.learningRate = 2e-3 }, "--lr"),
        ("lock image", { $0.lockedTowers = [.image] }, "--lock-image"),
        ("comma separator", { $0.csvSeparator = "," }, "--csv-separator"),
        ("other caption column", { $0.csvCaptionKey = "caption" }, "--csv-caption-key"),
        ("other data", { $0.trainData = "/elsewhere/train.csv" }, "--train-data"),
        ("steps", { $0.steps = 7 }, "--steps"),
        ("checkpoint cadence", { $0.checkpointEvery = 3 }, "--checkpoint-every"),
        ("augment", { $0.augment = true }, "--augment"),
        ("seed", { $0.seed = 1 }, "--seed"),
    ]

    @Test func settingsGivenAtResumeMustAgreeWithTheRecordedOnes() throws {
        let folder = try DataFixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let csv = try DataFixtures.writeCSV(count: 8, in: folder)
        // A relative path resolves against the given working directory and is recorded absolute.
        var request = RunRequest()
        request.trainData = "train.csv"
        request.workingDirectory = folder
        request.batchSize = 4
        request.steps = 6
        request.learningRate = 1e-3
        let recorded = try request.newRun(model: "test")
        #expect(recorded.data?.path == csv.standardizedFileURL.path)
        var same = RunRequest()
        same.trainData = csv.path
        try same.check(against: recorded)
        for (name, change, option) in Self.conflicts {
            var given = RunRequest()
            change(&given)
            do {
                try given.check(against: recorded)
                #expect(option == nil, "\(name): accepted")
            } catch let error as TrainingError {
                guard case .resumeConflict(let flag, let old, let new) = error else {
                    Issue.record("\(name): \(error)")
                    continue
                }
                #expect(flag == option, "\(name): \(error.localizedDescription)")
                #expect(
                    old != new && error.localizedDescription.contains(old), "\(name): \(error.localizedDescription)")
            }
        }
    }

    /// (option, a setting outside its range, words the message must contain).
    static let outOfRange: [(String, @Sendable (inout TrainingOptions) -> Void, String)] = [
        ("--checkpoint-every", { $0.checkpointEvery = 0 }, "1 to"),
        ("--checkpoint-every", { $0.checkpointEvery = -5 }, "1 to"),
        ("--lr", { $0.learningRate = .infinity }, "finite"),
        ("--lr", { $0.learningRate = .nan }, "finite"),
        ("--lr", { $0.learningRate = 0 }, "(0, 10]"),
        ("--warmup", { $0.warmup = -1 }, "0 to"),
        ("--grad-clip-norm", { $0.gradientClipNorm = -1 }, "positive"),
        ("--wd", { $0.weightDecay = -0.1 }, "[0, 10]"),
        ("--batch-size", { $0.batchSize = 1 }, "2 to"),
        ("--steps", { $0.steps = 0 }, "1 to"),
        ("--accum-freq", { $0.accumulationSteps = 3 }, "divisor"),
        ("--keep-checkpoints", { $0.keepCheckpoints = 0 }, "1 to"),
    ]

    @Test func optionsOutsideTheirRangeAreRefusedNamingTheRange() throws {
        try TrainingOptions(batchSize: 4, steps: 6, learningRate: 1e-3).validate()
        for (name, change, words) in Self.outOfRange {
            var options = TrainingOptions(batchSize: 4, steps: 6, learningRate: 1e-3)
            change(&options)
            do {
                try options.validate()
                Issue.record("\(name): accepted")
            } catch let error as TrainingError {
                let message = error.localizedDescription
                #expect(message.hasPrefix(name + " must be") && message.contains(words), "\(message)")
            }
        }
        #expect(throws: TrainingError.self) {
            _ = try TrainingOptions.steps(epochs: Int.max, samples: 16, batchSize: 4)
        }
        #expect(throws: TrainingError.self) { _ = try TrainingOptions.steps(epochs: 1, samples: 3, batchSize: 4) }
        #expect(try TrainingOptions.steps(epochs: 3, samples: 17, batchSize: 4) == 12)
    }

    @Test func logKeepsOnlyStepsUpToTheCheckpoint() throws {
        let folder = try DataFixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("log.jsonl")
        // Steps 1-5 and a validation line at 2, then a line torn by kill -9.
        let lines =
            (1...5).map { "{\"loss\":1,\"step\":\($0)}" } + ["{\"step\":2,\"validation\":{}}", "{\"step\":6,\"lo"]
        try Data(lines.joined(separator: "\n").utf8).write(to: url)
        let log = try TrainingLog(url: url, keepingThrough: 3)
        try log.append(["step": 4])
        log.close()
        let kept = try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(kept == Array(lines[0..<3]) + ["{\"step\":2,\"validation\":{}}", "{\"step\":4}"], "\(kept)")
    }

    /// The log appends only to a regular file holding a training log: a link, a FIFO, a folder
    /// or someone else's file named log.jsonl is refused and left exactly as it was.
    @Test func logNeverAppendsToAFileThatIsNotItsOwn() throws {
        let folder = try DataFixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let fm = FileManager.default
        let other = folder.appendingPathComponent("notes.txt")
        let notes = Data("my notes\nline two\n{\"step\": 1}\n".utf8)
        try notes.write(to: other)

        let linked = folder.appendingPathComponent("linked")
        try fm.createDirectory(at: linked, withIntermediateDirectories: true)
        try fm.createSymbolicLink(at: linked.appendingPathComponent("log.jsonl"), withDestinationURL: other)
        let foreign = folder.appendingPathComponent("foreign")
        try fm.createDirectory(at: foreign, withIntermediateDirectories: true)
        try notes.write(to: foreign.appendingPathComponent("log.jsonl"))
        let fifo = folder.appendingPathComponent("fifo")
        try fm.createDirectory(at: fifo, withIntermediateDirectories: true)
        #expect(mkfifo(fifo.appendingPathComponent("log.jsonl").path, 0o644) == 0)
        let nested = folder.appendingPathComponent("nested")
        try fm.createDirectory(at: nested.appendingPathComponent("log.jsonl"), withIntermediateDirectories: true)

        for (run, reason) in [
            (linked, "symbolic link"), (foreign, "not a JSON object"), (fifo, "not a regular file"), (nested, "folder"),
        ] {
            do {
                _ = try TrainingLog(url: run.appendingPathComponent("log.jsonl"), keepingThrough: 0)
                Issue.record("\(run.lastPathComponent): opened")
            } catch let error as TrainingError {
                guard case .unsafeLog(_, let why) = error else { throw error }
                #expect(why.contains(reason), "\(run.lastPathComponent): \(why)")
            }
        }
        #expect(try Data(contentsOf: other) == notes)
        #expect(try Data(contentsOf: foreign.appendingPathComponent("log.jsonl")) == notes)
        #expect(try fm.destinationOfSymbolicLink(atPath: linked.appendingPathComponent("log.jsonl").path) == other.path)
    }

    /// A skipped step's NaN loss is written as null (JSON has no NaN), and every line has a time.
    @Test func nonFiniteValuesAreLoggedAsNull() throws {
        let folder = try DataFixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("log.jsonl")
        let log = try TrainingLog(url: url, keepingThrough: 0)
        try log.append(
            TrainingLog.StepEntry(
                step: 1, loss: .nan, lr: 1e-3, logitScale: 2.5, gradNorm: .infinity, samplesPerSecond: 10,
                skippedSamples: 0, stepSkipped: true))
        try log.appendValidation(step: 1, metrics: ["a": .nan, "b": 0.5])
        log.close()
        let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2)
        let step = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(step["loss"] is NSNull && step["grad_norm"] is NSNull && step["time"] is Double, "\(lines[0])")
        #expect(lines[1].contains("\"a\":null") && lines[1].contains("\"time\""), "\(lines[1])")
        #expect(log.history.series["loss"]?.hasData == false && log.history.skippedSteps == 1)
    }

    @Test func staleTemporariesOfAKilledRunAreRemovedAndNothingElse() throws {
        let folder = try DataFixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let fm = FileManager.default
        let dead: Int32 = 2_147_483_646  // beyond any pid_max: no such process
        let stale = [
            ".latest.safetensors.\(dead).12345.tmp", ".log.jsonl.\(dead).tmp", ".log.jsonl.\(dead).77.tmp",
            ".report.html.\(dead).9.tmp",
        ]
        let kept = [
            ".latest.safetensors.\(getppid()).1.tmp",  // a live process's file
            "notes.tmp", ".other.\(dead).tmp", "latest.safetensors", "log.jsonl",
        ]
        for name in stale + kept { try Data(count: 64).write(to: folder.appendingPathComponent(name)) }
        let checkpoints = folder.appendingPathComponent("checkpoints")
        try fm.createDirectory(
            at: checkpoints.appendingPathComponent(".step-00000004.partial"), withIntermediateDirectories: true)
        try fm.createDirectory(
            at: checkpoints.appendingPathComponent("step-00000002"), withIntermediateDirectories: true)
        let removed = StaleFiles.remove(in: folder).map(\.lastPathComponent).sorted()
        #expect(removed == (stale + [".step-00000004.partial"]).sorted())
        #expect(try fm.contentsOfDirectory(atPath: folder.path).sorted() == (kept + ["checkpoints"]).sorted())
        #expect(try fm.contentsOfDirectory(atPath: checkpoints.path) == ["step-00000002"])
    }
}
