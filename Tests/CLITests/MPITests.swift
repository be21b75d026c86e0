import CLIP
import Foundation
import Testing

/// `mpirun -np N clip train|embed` against one process: the equivalence of data-parallel
/// training (N ranks at batch b ≡ one process at batch N·b), resume with another N, sharded
/// embedding, and the errors that must stop every rank. Needs Open MPI's `mpirun` and runs only
/// with CLIP_MPI_TESTS=1 (`.ci/run` sets it); every launch is bounded by `timeout`, so a
/// misbehaving MPI fails the test instead of hanging it.
/// Whether the MPI tests run: CLIP_MPI_TESTS=1 and Open MPI's mpirun installed.
let mpiTestsEnabled =
    ProcessInfo.processInfo.environment["CLIP_MPI_TESTS"] == "1"
    && FileManager.default.isExecutableFile(atPath: "/usr/bin/mpirun")

@Suite(.serialized, .enabled(if: mpiTestsEnabled)) struct MPITests {

    /// Synthetic shapes (180 train pairs at 32 px) and a tiny ViT config, shared by the tests.
    static let data: URL = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clip-mpi-\(UUID().uuidString)")
        _ = try? CLIRunner.run([
            "synth", "-o", dir.appendingPathComponent("data").path, "--count", "200", "--size", "32",
        ])
        let config = """
            {"embed_dim": 16, "quick_gelu": true,
             "vision_cfg": {"image_size": 32, "patch_size": 16, "width": 32, "layers": 1, "heads": 2},
             "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 16, "heads": 2, "layers": 1}}
            """
        try? config.write(to: dir.appendingPathComponent("model.json"), atomically: true, encoding: .utf8)
        return dir
    }()

    /// `timeout 600 mpirun ... -np N clip arguments` (np 0: `clip` alone), one thread per rank.
    static func launch(np: Int, _ arguments: [String], mpmd: [String]? = nil) throws -> CLIRunner.Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        let workers = arguments.first == "train" ? ["--workers", "0"] : []
        let clip = [CLIRunner.executable.path] + arguments + ["--threads", "1", "--quiet"] + workers
        var mpirun = ["600", "mpirun", "--allow-run-as-root", "--oversubscribe", "--bind-to", "none"]
        if let mpmd {
            mpirun += ["-np", "1"] + clip + [":", "-np", "1", CLIRunner.executable.path] + mpmd
        } else {
            mpirun += ["-np", "\(np)"] + clip
        }
        process.arguments = np == 0 ? ["600"] + clip : mpirun
        process.currentDirectoryURL = data
        let err = Pipe(), out = Pipe()
        process.standardError = err
        process.standardOutput = out
        try process.run()
        nonisolated(unsafe) var errData = Data()
        let reader = Thread { errData = err.fileHandleForReading.readDataToEndOfFile() }
        reader.start()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while !reader.isFinished { Thread.sleep(forTimeInterval: 0.001) }
        return CLIRunner.Result(
            status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self), stdoutData: outData)
    }

    static func train(np: Int, batch: Int, output: String, steps: Int = 50) throws -> CLIRunner.Result {
        try launch(
            np: np,
            [
                "train", "--train-data", "data/train.csv", "--model-config", "model.json", "--batch-size", "\(batch)",
                "--steps", "\(steps)", "--lr", "1e-3", "--warmup", "5", "--checkpoint-every", "25", "--output", output,
            ])
    }

    static func losses(_ run: String) throws -> [Float] {
        try String(contentsOf: data.appendingPathComponent("\(run)/log.jsonl"), encoding: .utf8).split(separator: "\n")
            .compactMap { line in
                ((try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["loss"] as? Double)
                    .map(Float.init)
            }
    }

    /// Largest per-tensor relative difference ‖a − b‖₂ / ‖a‖₂ between two runs' weights (the
    /// tolerance applies to it), the largest max|a − b| / max|a| (printed), and whether every
    /// value is bit-identical.
    static func weightDifference(_ a: String, _ b: String) throws -> (
        relative: Float, identical: Bool, key: String, elementwise: Float
    ) {
        let x = try TrainCommandTests.tensors(data.appendingPathComponent("\(a)/latest.safetensors"), prefix: "")
        let y = try TrainCommandTests.tensors(data.appendingPathComponent("\(b)/latest.safetensors"), prefix: "")
        #expect(Set(x.keys) == Set(y.keys))
        var worst: Float = 0, identical = true, worstKey = "", elementwise: Float = 0
        for (key, u) in x.sorted(by: { $0.key < $1.key }) {
            guard var v = y[key], v.count == u.count else {
                Issue.record("\(key) missing or reshaped")
                continue
            }
            var u = u
            if key.hasSuffix("attn.in_proj_bias") {
                // The key bias adds q·b_k to a whole softmax row, which the softmax ignores: its
                // gradient is zero in exact arithmetic and rounding noise in floats, which AdamW
                // normalises into full-size steps. Its values are noise in every run; the query
                // and value thirds are compared.
                let c = u.count / 3
                u.replaceSubrange(c..<(2 * c), with: repeatElement(0, count: c))
                v.replaceSubrange(c..<(2 * c), with: repeatElement(0, count: c))
            }
            let scale = max(u.map(abs).max() ?? 0, 1e-12)
            elementwise = max(elementwise, (zip(u, v).map { abs($0 - $1) }.max() ?? 0) / scale)
            let norm = sqrt(u.reduce(0) { $0 + Double($1) * Double($1) })
            let diff = sqrt(zip(u, v).reduce(0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) })
            let relative = Float(diff / max(norm, 1e-12))
            if relative > worst { (worst, worstKey) = (relative, key) }
            if u != v { identical = false }
        }
        return (worst, identical, worstKey, elementwise)
    }

    static func relativeLossDifference(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).map { abs($0 - $1) / abs($0) }.max() ?? .infinity
    }

    @Test(arguments: [2, 4])
    func ranksAtBatchBMatchOneProcessAtBatchNB(np: Int) throws {
        let reference = try Self.train(np: 0, batch: 8, output: "one-\(np)")
        #expect(reference.status == 0, "\(reference.stderr)")
        let parallel = try Self.train(np: np, batch: 8 / np, output: "np\(np)")
        #expect(parallel.status == 0, "\(parallel.stderr)")
        let one = try Self.losses("one-\(np)"), many = try Self.losses("np\(np)")
        #expect(one.count == 50 && many.count == 50)
        let lossDiff = Self.relativeLossDifference(one, many)
        let (weightDiff, identical, key, elementwise) = try Self.weightDifference("one-\(np)", "np\(np)")
        print(
            "np \(np): max relative loss difference \(lossDiff), weights ‖Δ‖/‖w‖ \(weightDiff) at \(key) (tolerance 1e-5), max|Δ|/max|w| \(elementwise); bit-identical: \(identical)"
        )
        #expect(lossDiff <= 1e-5)
        #expect(weightDiff <= 1e-5)
    }

    @Test func resumeWithAnotherWorldSize() throws {
        // One process to step 25, then 2 ranks (batch 4 each) to step 50 ≈ one process all the way.
        let full = try Self.train(np: 0, batch: 8, output: "full")
        #expect(full.status == 0, "\(full.stderr)")
        let fm = FileManager.default
        let stopped = Self.data.appendingPathComponent("resumed")
        try fm.createDirectory(at: stopped.appendingPathComponent("checkpoints"), withIntermediateDirectories: true)
        try fm.copyItem(
            at: Self.data.appendingPathComponent("full/checkpoints/step-00000025"),
            to: stopped.appendingPathComponent("checkpoints/step-00000025"))
        let resumed = try Self.launch(np: 2, ["train", "--resume", "resumed"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let (weightDiff, _, _, _) = try Self.weightDifference("full", "resumed")
        print("resume at np 2: max relative weight difference \(weightDiff) (tolerance 1e-5)")
        #expect(weightDiff <= 1e-5)
        // 8 pairs cannot be split over 3 ranks: a clear error, every rank non-zero.
        let odd = try Self.launch(np: 3, ["train", "--resume", "resumed"])
        #expect(odd.status != 0)
        #expect(odd.stderr.contains("cannot be split evenly over 3 ranks"), "\(odd.stderr)")
    }

    @Test func shardedEmbeddingEqualsOneProcess() throws {
        // 60 images: two batches of 32, so the ranks' shares differ in size.
        let list = try FileManager.default.contentsOfDirectory(
            atPath: Self.data.appendingPathComponent("data/val").path
        )
        .sorted().prefix(20).map { "data/val/\($0)" }
        let more = try FileManager.default.contentsOfDirectory(
            atPath: Self.data.appendingPathComponent("data/train").path
        ).sorted().prefix(40).map { "data/train/\($0)" }
        try (list + more).joined(separator: "\n").write(
            to: Self.data.appendingPathComponent("images.txt"), atomically: true, encoding: .utf8)
        let texts = (0..<45).map { "\"a photo of \($0) red circles\"" }.joined(separator: "\n")
        try texts.write(to: Self.data.appendingPathComponent("texts.jsonl"), atomically: true, encoding: .utf8)
        try "trained".write(to: Self.data.appendingPathComponent("keep"), atomically: true, encoding: .utf8)
        let model = try Self.train(np: 0, batch: 8, output: "embedder", steps: 2)
        #expect(model.status == 0, "\(model.stderr)")
        for (flag, file) in [("--images-from", "images.txt"), ("--texts-from", "texts.jsonl")] {
            for np in [0, 2, 3] {
                let r = try Self.launch(
                    np: np,
                    [
                        "embed", "--model", "embedder/latest.safetensors", flag, file, "--format", "npy", "-o",
                        "\(file)-\(np).npy",
                    ])
                #expect(r.status == 0, "\(r.stderr)")
            }
            let one = try Data(contentsOf: Self.data.appendingPathComponent("\(file)-0.npy"))
            for np in [2, 3] {
                let many = try Data(contentsOf: Self.data.appendingPathComponent("\(file)-\(np).npy"))
                #expect(one == many, "\(flag) at np \(np) differs from one process")
            }
        }
    }

    @Test func badInputStopsEveryRankWithOneClearError() throws {
        // 180 pairs cannot fill one global batch of 4 × 64.
        let small = try Self.train(np: 4, batch: 64, output: "small", steps: 2)
        #expect(small.status == 64, "\(small.stderr)")
        #expect(small.stderr.components(separatedBy: "fewer than one global batch").count == 2, "\(small.stderr)")
        // Ranks started with different arguments (MPMD launch).
        let common = ["train", "--train-data", "data/train.csv", "--model-config", "model.json", "--output", "differ"]
        let differ = try Self.launch(
            np: 2, common + ["--batch-size", "4", "--steps", "2"],
            mpmd: common + ["--batch-size", "4", "--steps", "3", "--threads", "1", "--workers", "0", "--quiet"])
        #expect(differ.status != 0)
        #expect(differ.stderr.contains("rank 1 was started with different arguments"), "\(differ.stderr)")
        #expect(!FileManager.default.fileExists(atPath: Self.data.appendingPathComponent("differ/log.jsonl").path))
    }
}

@Suite struct MPIRuntimeMissingTests {
    /// A launcher's environment without a loadable libmpi: one clear error and the usage status.
    @Test func launchedWithoutMPIRuntime() throws {
        let r = try CLIRunner.run(
            ["embed", "--text", "a cat", "--model", "nonexistent"],
            environment: [
                "OMPI_COMM_WORLD_SIZE": "2", "OMPI_COMM_WORLD_RANK": "0", "CLIP_MPI_LIBRARY": "/nonexistent/libmpi.so",
            ])
        #expect(r.status == 64)
        #expect(
            r.stderr.contains("started by mpirun (OMPI_COMM_WORLD_SIZE=2), but the MPI library could not be loaded"))
    }
}
