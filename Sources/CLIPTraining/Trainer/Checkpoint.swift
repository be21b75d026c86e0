import CLIPModel
import CLIPOutput
import CLIPTensor
import CLIPWeights
import Foundation

// Checkpoint layout under a run's output directory:
//   DIR/checkpoints/step-00000100/model.safetensors      the model (OpenAI keys + config metadata)
//   DIR/checkpoints/step-00000100/optimizer.safetensors  AdamW moments: exp_avg.<key>, exp_avg_sq.<key>
//   DIR/checkpoints/step-00000100/trainer.json           step, options, data position
//   DIR/latest.safetensors                               the newest model, loadable by `clip embed`
// A checkpoint folder is written under a temporary name and renamed when complete, so a
// crash never leaves a half-written checkpoint where resume would find it.

/// What a checkpoint records besides tensors.
public struct TrainerState: Codable, Sendable, Equatable {
    public var step: Int
    public var options: TrainingOptions
    /// The data loader's position after the last batch of `step`, encoded by the caller.
    public var dataPosition: Data?
    public var format = 1
}

/// Saving and restoring training runs.
public enum Checkpoint {
    /// Writes a checkpoint for the trainer's current step and updates DIR/latest.safetensors.
    /// Refuses (throws) when any parameter is not finite, so NaN never reaches a checkpoint.
    public static func save(_ trainer: Trainer, dataPosition: Data?, to directory: URL) throws {
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
        let state = TrainerState(step: trainer.step, options: trainer.options, dataPosition: dataPosition)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try OutputFile.write(encoder.encode(state), to: partial.appendingPathComponent("trainer.json"))
        try? fm.removeItem(at: final)
        try fm.moveItem(at: partial, to: final)
        try model.save(
            to: directory.appendingPathComponent("latest.safetensors"), metadata: ["step": String(trainer.step)])
        try prune(root, keep: trainer.options.keepCheckpoints)
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

    /// Loads a checkpoint folder: a trainable model, a trainer with the optimiser state and
    /// step restored, and the saved data position.
    public static func resume(from folder: URL, frozenPrefixes: [String] = []) throws -> (
        trainer: Trainer, dataPosition: Data?
    ) {
        let stateURL = folder.appendingPathComponent("trainer.json")
        let state: TrainerState
        do {
            state = try JSONDecoder().decode(TrainerState.self, from: Data(contentsOf: stateURL))
        } catch {
            throw TrainingError.corruptCheckpoint(path: stateURL.path, reason: error.localizedDescription)
        }
        let weights = try WeightLoader.load(folder.appendingPathComponent("model.safetensors"))
        let model = try CLIP(state: weights, trainable: true, frozenPrefixes: frozenPrefixes)
        let trainer = try Trainer(model: model, options: state.options)
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
        return (trainer, state.dataPosition)
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
