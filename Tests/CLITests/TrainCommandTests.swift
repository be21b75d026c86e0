import CLIP
import CLIPTestSupport
import Foundation
import Testing

/// `clip train` end to end on a tiny generated dataset: log, checkpoints, latest.safetensors,
/// resume from an intermediate checkpoint reaching the same weights with the recorded
/// settings, refused contradictions and out-of-range options, and a run directory cleaned of
/// what a killed run left behind.
@Suite struct TrainCommandTests {
    /// 16 solid-colour 16×16 PNGs with captions naming the colour, as `train.csv` (tab,
    /// filepath/title) and `pairs.csv` (comma, path/caption), plus a tiny model config.
    static func makeRun() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clip-train-\(UUID().uuidString)")
        try FileManager.default.createDirectory(
            at: dir.appendingPathComponent("images"), withIntermediateDirectories: true)
        let colours: [(String, [UInt8])] = [
            ("red", [230, 20, 20]), ("green", [20, 200, 30]), ("blue", [20, 40, 220]), ("yellow", [240, 230, 20]),
        ]
        var csv = "filepath\ttitle\n", pairs = "path,caption\n"
        for i in 0..<16 {
            let (name, rgb) = colours[i % 4]
            let pixels = (0..<(16 * 16)).flatMap { _ in rgb }
            try PNGEncoder.encode(pixels: pixels, width: 16, height: 16, channels: 3).write(
                to: dir.appendingPathComponent("images/\(i).png"))
            csv += "images/\(i).png\ta \(name) square\n"
            pairs += "images/\(i).png,a \(name) square\n"
        }
        try csv.write(to: dir.appendingPathComponent("train.csv"), atomically: true, encoding: .utf8)
        try pairs.write(to: dir.appendingPathComponent("pairs.csv"), atomically: true, encoding: .utf8)
        let config = """
            {"embed_dim": 8, "quick_gelu": true,
             "vision_cfg": {"image_size": 16, "patch_size": 8, "width": 16, "layers": 1, "heads": 2},
             "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 8, "heads": 2, "layers": 1}}
            """
        try config.write(to: dir.appendingPathComponent("model.json"), atomically: true, encoding: .utf8)
        return dir
    }

    /// A copy of run `out` as it was after a stop at step 2: the step-2 checkpoint, and the
    /// log of `loggedSteps` steps (a kill after step 3 leaves three lines).
    static func stoppedCopy(of out: URL, at stopped: URL, loggedSteps: Int) throws {
        let fm = FileManager.default
        try fm.createDirectory(at: stopped.appendingPathComponent("checkpoints"), withIntermediateDirectories: true)
        try fm.copyItem(
            at: out.appendingPathComponent("checkpoints/step-00000002"),
            to: stopped.appendingPathComponent("checkpoints/step-00000002"))
        let log = try String(contentsOf: out.appendingPathComponent("log.jsonl"), encoding: .utf8)
            .split(separator: "\n").prefix(loggedSteps)
        try (log.joined(separator: "\n") + "\n").write(
            to: stopped.appendingPathComponent("log.jsonl"), atomically: true, encoding: .utf8)
    }

    static func logSteps(_ dir: URL) throws -> [Int] {
        try String(contentsOf: dir.appendingPathComponent("log.jsonl"), encoding: .utf8).split(separator: "\n")
            .compactMap { line in
                (try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["step"] as? Int
            }
    }

    static func tensors(_ url: URL, prefix: String) throws -> [String: [Float]] {
        let state = try WeightLoader.load(url)
        var result: [String: [Float]] = [:]
        for (key, w) in state.tensors where key.hasPrefix(prefix) { result[key] = try Tensor(converting: w).scalars }
        return result
    }

    /// DIR/report.html as `clip train` left it: one curve per logged metric (loss, learning
    /// rate, logit scale, gradient norm, samples/s), the run's settings, and the same bytes as
    /// the page `clip report` rebuilds from the run folder.
    static func checkReport(_ dir: URL, steps: Int) throws {
        let url = dir.appendingPathComponent("report.html")
        let written = try String(contentsOf: url, encoding: .utf8)
        #expect(written.components(separatedBy: "<path").count - 1 == 5, "\(written)")
        #expect(written.contains("<meta name=\"clip-report-step\" content=\"\(steps)\">"))
        #expect(
            written.contains("finished: step \(steps) of \(steps)") && written.contains("<th>batch size</th><td>4</td>")
        )
        try FileManager.default.removeItem(at: url)
        let rebuilt = try CLIRunner.run(["report", dir.path])
        #expect(rebuilt.status == 0, "\(rebuilt.stderr)")
        #expect(try String(contentsOf: url, encoding: .utf8) == written, "clip report differs from the trainer's page")
    }

    /// `clip report` on a folder that is no run: exit 65 with the reason and a hint; -o - prints.
    @Test func reportNeedsARunFolder() throws {
        let dir = try Self.makeRun()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try CLIRunner.run(["report", dir.path])
        #expect(
            r.status == 65 && r.stderr.contains("is not a training run") && r.stderr.contains("hint:"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("report.html").path))
        try Data("{\"step\":1,\"loss\":2.5}\n".utf8).write(to: dir.appendingPathComponent("log.jsonl"))
        let printed = try CLIRunner.run(["report", dir.path, "-o", "-"])
        #expect(printed.status == 0 && printed.stdout.hasPrefix("<!DOCTYPE html>"), "\(printed.stderr)")
        #expect(printed.stdout.components(separatedBy: "<path").count == 2)
    }

    @Test func trainWritesLogCheckpointsAndResumesExactly() throws {
        let dir = try Self.makeRun()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("run")
        let args = [
            "train", "--train-data", dir.appendingPathComponent("train.csv").path, "--model-config",
            dir.appendingPathComponent("model.json").path, "--batch-size", "4", "--steps", "4", "--lr", "1e-3",
            "--warmup", "1", "--checkpoint-every", "2", "--keep-checkpoints", "2", "--workers", "1", "--output",
            out.path,
        ]
        let r = try CLIRunner.run(args)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try Self.logSteps(out) == [1, 2, 3, 4])
        let checkpoints = try FileManager.default.contentsOfDirectory(
            atPath: out.appendingPathComponent("checkpoints").path
        ).sorted()
        #expect(checkpoints == ["step-00000002", "step-00000004"])
        let final = try Data(contentsOf: out.appendingPathComponent("latest.safetensors"))
        try Self.checkReport(out, steps: 4)

        // The same command again would mix two runs in one directory: refused, nothing touched.
        let again = try CLIRunner.run(args)
        #expect(again.status == 64 && again.stderr.contains("--resume"), "\(again.stderr)")
        #expect(try Data(contentsOf: out.appendingPathComponent("latest.safetensors")) == final)

        // A run killed after step 3: the step-2 checkpoint, three log lines, and a model-sized
        // temporary of latest.safetensors from the dead process (issue 14, case 8).
        let stopped = dir.appendingPathComponent("stopped")
        try Self.stoppedCopy(of: out, at: stopped, loggedSteps: 3)
        let temporary = stopped.appendingPathComponent(".latest.safetensors.2147483646.77.tmp")
        try final.write(to: temporary)
        let resumed = try CLIRunner.run(["train", "--resume", stopped.path, "--workers", "1"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("resuming"))
        let again2 = try Data(contentsOf: stopped.appendingPathComponent("latest.safetensors"))
        // Same tensors bit for bit (the header's "step" metadata is the same too).
        #expect(again2 == final, "resumed run ended with different weights")
        #expect(!FileManager.default.fileExists(atPath: temporary.path), "the dead run's temporary file survived")
        #expect(try Self.logSteps(stopped) == [1, 2, 3, 4], "log.jsonl repeats steps after resume")
        try Self.checkReport(stopped, steps: 4)

        // The result is usable for inference.
        let embed = try CLIRunner.run([
            "embed", "--model", out.appendingPathComponent("latest.safetensors").path, "--text", "a red square",
        ])
        #expect(embed.status == 0, "\(embed.stderr)")
    }

    /// Issue 14, case 6: a resumed run keeps --lock-image, the CSV separator and columns, and
    /// the data path given relative to the first run's working directory.
    @Test func resumeKeepsTheRecordedSettings() throws {
        let dir = try Self.makeRun()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("run")
        let r = try CLIRunner.run(
            [
                "train", "--train-data", "pairs.csv", "--csv-separator", ",", "--csv-img-key", "path",
                "--csv-caption-key", "caption", "--lock-image", "--model-config", "model.json", "--batch-size", "4",
                "--steps", "4", "--lr", "1e-2", "--checkpoint-every", "2", "--workers", "0", "--output", "run",
            ], currentDirectory: dir)
        #expect(r.status == 0, "\(r.stderr)")
        let stopped = dir.appendingPathComponent("stopped")
        try Self.stoppedCopy(of: out, at: stopped, loggedSteps: 2)
        // Resumed from another working directory, with none of the settings repeated.
        let elsewhere = FileManager.default.temporaryDirectory
        let resumed = try CLIRunner.run(
            ["train", "--resume", stopped.path, "--workers", "0"], currentDirectory: elsewhere)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let full = try Data(contentsOf: out.appendingPathComponent("latest.safetensors"))
        let again = try Data(contentsOf: stopped.appendingPathComponent("latest.safetensors"))
        #expect(again == full, "the resumed run differs from the uninterrupted one")
        // The image tower stayed as it was at step 2 (it never trains), the text tower moved.
        let atStep2 = out.appendingPathComponent("checkpoints/step-00000002/model.safetensors")
        let end = stopped.appendingPathComponent("latest.safetensors")
        #expect(try Self.tensors(atStep2, prefix: "visual.") == Self.tensors(end, prefix: "visual."))
        #expect(try Self.tensors(atStep2, prefix: "transformer.") != Self.tensors(end, prefix: "transformer."))
    }

    /// (settings given again at resume, words the usage error must contain).
    static let contradictions: [([String], [String])] = [
        (["--lock-text"], ["--lock-text", "off"]),
        (["--batch-size", "8"], ["--batch-size 8", "--batch-size 4"]),
        (["--csv-separator", ","], ["--csv-separator", "','", "'\\t'"]),
        (["--lr", "2e-3"], ["--lr"]),
        (["--train-data", "/elsewhere/train.csv"], ["/elsewhere/train.csv"]),
        (["--model", "ViT-B/32"], ["--model", "checkpoint"]),
        (["--output", "/tmp/other"], ["--output"]),
    ]

    @Test func resumeRefusesSettingsThatContradictTheRecordedOnes() throws {
        let dir = try Self.makeRun()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("run")
        let r = try CLIRunner.run([
            "train", "--train-data", dir.appendingPathComponent("train.csv").path, "--model-config",
            dir.appendingPathComponent("model.json").path, "--batch-size", "4", "--steps", "2", "--lr", "1e-3",
            "--workers", "0", "--output", out.path, "--quiet",
        ])
        #expect(r.status == 0 && r.stderr.isEmpty, "--quiet printed: \(r.stderr)")
        let latest = try Data(contentsOf: out.appendingPathComponent("latest.safetensors"))
        for (given, words) in Self.contradictions {
            let resumed = try CLIRunner.run(["train", "--resume", out.path] + given)
            #expect(resumed.status == 64, "\(given): \(resumed.status) \(resumed.stderr)")
            for word in words { #expect(resumed.stderr.contains(word), "\(given): \(resumed.stderr)") }
        }
        // Agreeing settings are accepted (nothing left to do: the run is complete).
        let agreeing = try CLIRunner.run(["train", "--resume", out.path, "--batch-size", "4", "--workers", "0"])
        #expect(agreeing.status == 0, "\(agreeing.stderr)")
        #expect(try Data(contentsOf: out.appendingPathComponent("latest.safetensors")) == latest)
    }

    /// Issue 14, case 7: (option and value, words of the usage error).
    static let badOptions: [([String], String)] = [
        (["--checkpoint-every", "0"], "--checkpoint-every must be 1 to"),
        (["--checkpoint-every=-5"], "--checkpoint-every must be 1 to"),
        (["--epochs", "9223372036854775807"], "--epochs must be 1 to"),
        (["--lr", "inf"], "--lr must be a finite number in (0, 10]"),
        (["--lr", "nan"], "--lr must be a finite number"),
        (["--workers", "100000"], "--workers must be 0 to 64"),
        (["--warmup=-1"], "--warmup must be 0 to"),
        (["--grad-clip-norm=-1"], "--grad-clip-norm must be a finite positive number"),
        (["--wd=-0.5"], "--wd must be a finite number in [0, 10]"),
        (["--batch-size", "1"], "--batch-size must be 2 to"),
        (["--accum-freq", "3"], "--accum-freq must be a divisor of --batch-size 4"),
        (["--keep-checkpoints", "0"], "--keep-checkpoints must be 1 to 10000"),
        (["--architecture", "ViT-Z-99"], "unknown architecture"),
    ]

    @Test func numericOptionsOutsideTheirRangeAreUsageErrors() throws {
        let dir = try Self.makeRun()
        defer { try? FileManager.default.removeItem(at: dir) }
        for (option, words) in Self.badOptions {
            var base = [
                "train", "--train-data", dir.appendingPathComponent("train.csv").path, "--model-config",
                dir.appendingPathComponent("model.json").path, "--batch-size", "4", "--lr", "1e-3", "--output",
                dir.appendingPathComponent("run").path,
            ]
            if option[0] != "--epochs" { base += ["--steps", "2"] }
            if option[0] == "--batch-size" { base.removeSubrange(5...6) }
            if option[0] == "--lr" { base.removeSubrange(7...8) }
            if option[0] == "--architecture" { base.removeSubrange(3...4) }
            let r = try CLIRunner.run(base + option)
            #expect(r.status == 64, "\(option): \(r.status) \(r.stderr)")
            #expect(r.stderr.contains(words), "\(option): \(r.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("run").path))
    }

    @Test func modelMeansPretrainedWeightsAndMissingDataIsBadInput() throws {
        let dir = try Self.makeRun()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try CLIRunner.run([
            "train", "--train-data", "x.csv", "--batch-size", "4", "--steps", "1", "--lr", "1e-3", "--output", "/tmp/x",
        ])
        #expect(r.status == 64 && r.stderr.contains("--architecture"), "\(r.stderr)")
        let missing = try CLIRunner.run([
            "train", "--train-data", "/nonexistent.csv", "--architecture", "ViT-B-32", "--batch-size", "4", "--steps",
            "1", "--lr", "1e-3", "--output", dir.appendingPathComponent("x").path,
        ])
        #expect(missing.status == 65, "\(missing.status) \(missing.stderr)")
        // --model is a pretrained checkpoint here as everywhere: an unknown name is "model not found".
        let unknown = try CLIRunner.run([
            "train", "--train-data", dir.appendingPathComponent("train.csv").path, "--model", "no-such-model",
            "--batch-size", "4", "--steps", "1", "--lr", "1e-3", "--output", dir.appendingPathComponent("y").path,
            "--offline",
        ])
        #expect(unknown.status == 66, "\(unknown.status) \(unknown.stderr)")

        // Fine-tuning the first run's weights with the text tower locked.
        let first = dir.appendingPathComponent("first")
        let a = try CLIRunner.run([
            "train", "--train-data", dir.appendingPathComponent("train.csv").path, "--model-config",
            dir.appendingPathComponent("model.json").path, "--batch-size", "4", "--steps", "2", "--lr", "1e-3",
            "--workers", "0", "--output", first.path,
        ])
        #expect(a.status == 0, "\(a.stderr)")
        let tuned = dir.appendingPathComponent("tuned")
        let b = try CLIRunner.run([
            "train", "--train-data", dir.appendingPathComponent("train.csv").path, "--model",
            first.appendingPathComponent("latest.safetensors").path, "--lock-text", "--batch-size", "4", "--steps",
            "2", "--lr", "1e-2", "--workers", "0", "--output", tuned.path,
        ])
        #expect(b.status == 0, "\(b.stderr)")
        let before = first.appendingPathComponent("latest.safetensors")
        let after = tuned.appendingPathComponent("latest.safetensors")
        #expect(try Self.tensors(before, prefix: "transformer.") == Self.tensors(after, prefix: "transformer."))
        #expect(try Self.tensors(before, prefix: "visual.") != Self.tensors(after, prefix: "visual."))
    }

    @Test func interruptSavesACheckpointAtTheCurrentStep() throws {
        let dir = try Self.makeRun()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("run")
        let process = Process()
        process.executableURL = CLIRunner.executable
        process.arguments = [
            "train", "--train-data", dir.appendingPathComponent("train.csv").path, "--model-config",
            dir.appendingPathComponent("model.json").path, "--batch-size", "4", "--steps", "100000", "--lr", "1e-3",
            "--checkpoint-every", "100000", "--workers", "0", "--output", out.path,
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        // Wait for two logged steps (at most a minute), then Ctrl-C.
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, ((try? Self.logSteps(out)) ?? []).count < 2 { Thread.sleep(forTimeInterval: 0.05) }
        process.interrupt()
        process.waitUntilExit()
        #expect(process.terminationStatus == 130)
        let state = try Checkpoint.state(in: try Checkpoint.latest(in: out))
        #expect(state.step >= 2 && state.step < 100_000)
        #expect(try Self.logSteps(out) == Array(1...state.step))
    }
}
