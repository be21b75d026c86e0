import CLIPModel
import CLIPTensor
import CLIPWeights
import Foundation

// Checkpoint layout under a run's output directory:
//   DIR/checkpoints/step-00000100/model.safetensors      the model (OpenAI keys + config metadata)
//   DIR/checkpoints/step-00000100/optimizer.safetensors  AdamW moments: exp_avg.<key>, exp_avg_sq.<key>
//   DIR/checkpoints/step-00000100/trainer.json           step, the run description, data position
//   DIR/latest.safetensors                               the newest model, loadable by `clip embed`
// A checkpoint folder is written under a temporary name (.step-N.partial) and renamed when
// complete, so a crash never leaves a half-written checkpoint where resume would find it; the
// run description travels inside it, so weights and settings can never disagree.

/// What a checkpoint records besides tensors (`trainer.json`).
public struct TrainerState: Codable, Sendable, Equatable {
    /// Steps completed.
    public var step: Int
    /// The run's settings: the single source of truth on resume.
    public var run: RunDescription
    /// The data loader's position after the last batch of `step`.
    public var dataPosition: DataPosition?
    /// 2 since the run description moved into the checkpoint.
    public var format = Self.currentFormat

    public static let currentFormat = 2
}

/// Saving and restoring training runs.
public enum Checkpoint {
    /// Writes a checkpoint for the trainer's current step and updates DIR/latest.safetensors;
    /// returns the checkpoint folder. Refuses (throws) when any parameter is not finite, so
    /// NaN never reaches a checkpoint.
    @discardableResult
    public static func save(_ trainer: Trainer, to directory: URL) throws -> URL {
        let model = trainer.model
        for (key, p) in model.namedParameters where !p.value.scalars.allSatisfy(\.isFinite) {
            throw TrainingError.nonFinite(step: trainer.step, what: "parameter \(key)")
        }
        let fm = FileManager.default
        let root = directory.appendingPathComponent("checkpoints")
        try fm.createDirectory(at: root, withIntermediateDirectories: true)
        let name = String(format: "step-%08d", trainer.step)
        let partial = root.appendingPathComponent(".\(name).partial")
        let final = root.appendingPathComponent(name)
        try? fm.removeItem(at: partial)
        try fm.createDirectory(at: partial, withIntermediateDirectories: true)
        try model.save(
            to: partial.appendingPathComponent("model.safetensors"), metadata: ["step": String(trainer.step)])
        var moments: [(String, WeightTensor)] = []
        for (key, _) in trainer.optimizer.parameters {
            if let m = trainer.optimizer.firstMoments[key] {
                moments.append(("exp_avg.\(key)", WeightTensor(float32: m.scalars, shape: m.shape)))
            }
            if let v = trainer.optimizer.secondMoments[key] {
                moments.append(("exp_avg_sq.\(key)", WeightTensor(float32: v.scalars, shape: v.shape)))
            }
        }
        try SafetensorsWriter.write(
            moments, metadata: ["step": String(trainer.optimizer.step)],
            to: partial.appendingPathComponent("optimizer.safetensors"))
        let state = TrainerState(step: trainer.step, run: trainer.runDescription, dataPosition: trainer.dataPosition)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(state).write(to: partial.appendingPathComponent("trainer.json"), options: .atomic)
        try? fm.removeItem(at: final)
        try fm.moveItem(at: partial, to: final)
        try model.save(
            to: directory.appendingPathComponent("latest.safetensors"), metadata: ["step": String(trainer.step)])
        try prune(root, keep: trainer.options.keepCheckpoints)
        return final
    }

    /// The newest complete checkpoint folder under DIR/checkpoints.
    public static func latest(in directory: URL) throws -> URL {
        let root = directory.appendingPathComponent("checkpoints")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        guard let newest = names.filter({ $0.hasPrefix("step-") }).sorted().last else {
            throw TrainingError.noCheckpoint(directory.path)
        }
        return root.appendingPathComponent(newest)
    }

    /// Reads a checkpoint folder's `trainer.json` (cheap: no tensors).
    public static func state(in folder: URL) throws -> TrainerState {
        let url = folder.appendingPathComponent("trainer.json")
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw TrainingError.corruptCheckpoint(path: url.path, reason: "it cannot be read")
        }
        if let format = (try? JSONSerialization.jsonObject(with: data) as? [String: Any])?["format"] as? Int,
            format != TrainerState.currentFormat
        {
            throw TrainingError.corruptCheckpoint(
                path: url.path,
                reason:
                    "it has format \(format); this swift-clip reads format \(TrainerState.currentFormat) (start a new run, or fine-tune from its model.safetensors)"
            )
        }
        do { return try JSONDecoder().decode(TrainerState.self, from: data) } catch {
            throw TrainingError.corruptCheckpoint(path: url.path, reason: "it is not a valid trainer state")
        }
    }

    /// Loads a checkpoint folder: the model with the recorded towers locked, a trainer with
    /// the optimiser state, step, data position and run description restored.
    public static func resume(from folder: URL) throws -> Trainer {
        let state = try state(in: folder)
        let weights = try WeightLoader.load(folder.appendingPathComponent("model.safetensors"))
        let model = try CLIP(state: weights, trainable: true, lockedTowers: Set(state.run.lockedTowers))
        let trainer = try Trainer(model: model, run: state.run)
        let optimizerState = try WeightLoader.load(folder.appendingPathComponent("optimizer.safetensors"))
        var first: [String: Tensor] = [:], second: [String: Tensor] = [:]
        for (key, w) in optimizerState.tensors {
            if key.hasPrefix("exp_avg_sq.") {
                second[String(key.dropFirst("exp_avg_sq.".count))] = try Tensor(converting: w).copy()
            } else if key.hasPrefix("exp_avg.") {
                first[String(key.dropFirst("exp_avg.".count))] = try Tensor(converting: w).copy()
            }
        }
        let optimizerStep = Int(optimizerState.metadata["step"] ?? "") ?? state.step
        trainer.restore(step: state.step, firstMoments: first, secondMoments: second)
        trainer.optimizer.restore(step: optimizerStep, firstMoments: first, secondMoments: second)
        trainer.dataPosition = state.dataPosition
        return trainer
    }

    /// Deletes all but the newest `keep` checkpoint folders.
    static func prune(_ root: URL, keep: Int) throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: root.path).filter { $0.hasPrefix("step-") }
            .sorted()
        for name in names.dropLast(max(keep, 1)) {
            try? FileManager.default.removeItem(at: root.appendingPathComponent(name))
        }
    }
}

extension Trainer {
    /// Resumes the run in `directory` from its newest checkpoint. The checkpoint's run
    /// description is the single source of truth; `request` holds the settings given again
    /// (nil where not given), which must agree with it.
    /// - Throws: ``TrainingError/resumeConflict(name:recorded:given:)`` naming both values,
    ///   ``TrainingError/noCheckpoint(_:)``, ``TrainingError/corruptCheckpoint(path:reason:)``.
    public static func resume(from directory: URL, request: RunRequest = RunRequest()) throws -> Trainer {
        let folder = try Checkpoint.latest(in: directory)
        try request.check(against: Checkpoint.state(in: folder).run)
        return try Checkpoint.resume(from: folder)
    }
}
