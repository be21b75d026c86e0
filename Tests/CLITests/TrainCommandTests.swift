import CLIP
import CLIPTestSupport
import Foundation
import Testing

/// `clip train` end to end on a tiny generated dataset: log, checkpoints, latest.safetensors,
/// and resume from an intermediate checkpoint reaching the same weights.
@Suite struct TrainCommandTests {
    /// 16 solid-colour 16×16 PNGs with captions naming the colour, plus a tiny model config.
    static func makeRun() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clip-train-\(UUID().uuidString)")
        try FileManager.default.createDirectory(
            at: dir.appendingPathComponent("images"), withIntermediateDirectories: true)
        let colours: [(String, [UInt8])] = [
            ("red", [230, 20, 20]), ("green", [20, 200, 30]), ("blue", [20, 40, 220]), ("yellow", [240, 230, 20]),
        ]
        var csv = "filepath\ttitle\n"
        for i in 0..<16 {
            let (name, rgb) = colours[i % 4]
            let pixels = (0..<(16 * 16)).flatMap { _ in rgb }
            try PNGEncoder.encode(pixels: pixels, width: 16, height: 16, channels: 3).write(
                to: dir.appendingPathComponent("images/\(i).png"))
            csv += "images/\(i).png\ta \(name) square\n"
        }
        try csv.write(to: dir.appendingPathComponent("train.csv"), atomically: true, encoding: .utf8)
        let config = """
            {"embed_dim": 8, "quick_gelu": true,
             "vision_cfg": {"image_size": 16, "patch_size": 8, "width": 16, "layers": 1, "heads": 2},
             "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 8, "heads": 2, "layers": 1}}
            """
        try config.write(to: dir.appendingPathComponent("model.json"), atomically: true, encoding: .utf8)
        return dir
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
        let log = try String(contentsOf: out.appendingPathComponent("log.jsonl"), encoding: .utf8).split(
            separator: "\n")
        #expect(log.count == 4 && log[3].contains("\"step\":4"), "\(log)")
        let checkpoints = try FileManager.default.contentsOfDirectory(
            atPath: out.appendingPathComponent("checkpoints").path
        ).sorted()
        #expect(checkpoints == ["step-00000002", "step-00000004"])
        let final = try Data(contentsOf: out.appendingPathComponent("latest.safetensors"))

        // A run stopped after step 2: its directory holds only the step-2 checkpoint.
        let stopped = dir.appendingPathComponent("stopped")
        try FileManager.default.createDirectory(
            at: stopped.appendingPathComponent("checkpoints"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            at: out.appendingPathComponent("checkpoints/step-00000002"),
            to: stopped.appendingPathComponent("checkpoints/step-00000002"))
        try FileManager.default.copyItem(
            at: out.appendingPathComponent("run.json"), to: stopped.appendingPathComponent("run.json"))
        let resumed = try CLIRunner.run(["train", "--resume", stopped.path, "--output", stopped.path, "--workers", "1"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("resuming"))
        let again = try Data(contentsOf: stopped.appendingPathComponent("latest.safetensors"))
        // Same tensors bit for bit (the header's "step" metadata is the same too).
        #expect(again == final, "resumed run ended with different weights")

        // The result is usable for inference.
        let embed = try CLIRunner.run([
            "embed", "--model", out.appendingPathComponent("latest.safetensors").path, "--text", "a red square",
        ])
        #expect(embed.status == 0, "\(embed.stderr)")
    }

    @Test func trainRejectsBadOptions() throws {
        let r = try CLIRunner.run([
            "train", "--train-data", "x.csv", "--batch-size", "4", "--steps", "1", "--lr", "1e-3", "--output", "/tmp/x",
        ])
        #expect(r.status == 64 && r.stderr.contains("--model-config"), "\(r.stderr)")
        let missing = try CLIRunner.run([
            "train", "--train-data", "/nonexistent.csv", "--model", "ViT-B-32", "--batch-size", "4", "--steps", "1",
            "--lr", "1e-3", "--output",
            FileManager.default.temporaryDirectory.appendingPathComponent("clip-x-\(UUID().uuidString)").path,
        ])
        #expect(missing.status == 65, "\(missing.status) \(missing.stderr)")
    }
}
