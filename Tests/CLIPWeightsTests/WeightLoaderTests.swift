import Foundation
import Testing

@testable import CLIPWeights

// Every fixture in every format must give the reference key set, shapes, dtypes and values
// (checksums written by scripts/reference/make_weight_fixtures.py from torch's own state_dict()).
@Suite struct WeightLoaderTests {
    @Test(arguments: Fixtures.fileNames)
    func matchesReferenceStateDict(name: String) throws {
        let record = try #require(Fixtures.manifest.files[name])
        let reference = try #require(Fixtures.manifest.states[record.state])
        let state = try WeightLoader.load(Fixtures.models.appendingPathComponent(name))

        #expect(state.format.rawValue == record.format)
        let missing = Set(reference.keys).subtracting(state.tensors.keys).sorted()
        let unexpected = Set(state.tensors.keys).subtracting(reference.keys).sorted()
        #expect(missing.isEmpty && unexpected.isEmpty, "\(name): missing \(missing), unexpected \(unexpected)")

        var worst = (key: "", difference: 0.0)
        for (key, expected) in reference {
            guard let tensor = state.tensors[key] else { continue }
            #expect(tensor.shape == expected.shape, "\(name) \(key): shape \(tensor.shape) vs \(expected.shape)")
            #expect(
                tensor.dtype.rawValue == expected.dtype, "\(name) \(key): dtype \(tensor.dtype) vs \(expected.dtype)")
            let values = doubles(tensor)
            let sum = values.reduce(0, +)
            let squares = values.reduce(0) { $0 + $1 * $1 }
            let weighted = values.enumerated().reduce(0) { $0 + $1.element * Double(1 + $1.offset % 13) }
            // Summation order differs from torch's; values themselves are exact.
            let scale = (expected.sum_squares * Double(max(values.count, 1))).squareRoot() + 1
            let difference =
                max(
                    abs(sum - expected.sum), abs(squares - expected.sum_squares),
                    abs(weighted - expected.weighted_sum) / 13) / scale
            if difference > worst.difference { worst = (key, difference) }
        }
        print(
            "\(name): \(state.tensors.count) tensors, max relative checksum difference \(worst.difference) (\(worst.key))"
        )
        #expect(worst.difference < 1e-9, "\(name): checksum of \(worst.key) differs by \(worst.difference)")
    }

    /// fp16 / bf16 files hold the fp32 master's values rounded to their dtype.
    @Test(arguments: Fixtures.fileNames)
    func valuesMatchFloat32Master(name: String) throws {
        let masterName = try #require(Fixtures.master(of: name))
        guard masterName != name else { return }
        let master = try WeightLoader.load(Fixtures.models.appendingPathComponent(masterName))
        let state = try WeightLoader.load(Fixtures.models.appendingPathComponent(name))
        var worst = (key: "", error: 0.0)
        for (key, tensor) in state.tensors {
            let reference = try #require(master.tensors[key], "\(key) missing from \(masterName)")
            #expect(reference.shape == tensor.shape)
            let relative: Double =
                switch tensor.dtype {
                case .float16: 0x1p-11
                case .bfloat16: 0x1p-8
                default: 0
                }
            for (a, b) in zip(doubles(tensor), doubles(reference)) {
                // Half-ulp rounding, plus fp16's subnormal step.
                let allowed = relative * abs(b) + (tensor.dtype == .float16 ? 0x1p-25 : 0)
                let error = abs(a - b) - allowed
                if error > worst.error { worst = (key, error) }
            }
        }
        print("\(name) vs \(masterName): worst excess over rounding error \(worst.error) (\(worst.key))")
        #expect(worst.error <= 0, "\(name) \(worst.key) differs from \(masterName) beyond rounding")
    }

    @Test func memoryMappedWhereTheFormatAllows() throws {
        for name in ["vit.safetensors", "vit-fp16.pt", "rn-jit.pt", "hf-bin"] {
            let state = try WeightLoader.load(Fixtures.models.appendingPathComponent(name))
            let copied = state.tensors.filter { !$0.value.isMemoryMapped }.keys.sorted()
            if name == "hf-bin" {
                // Only the mapped-from-HF tensors (q/k/v concatenations, transposed projections) are copies.
                #expect(
                    copied.allSatisfy {
                        $0.hasSuffix("in_proj_weight") || $0.hasSuffix("in_proj_bias") || $0 == "text_projection"
                            || $0 == "visual.proj"
                    }, "\(copied)")
            } else {
                #expect(copied.isEmpty, "\(name): copied \(copied)")
            }
        }
    }

    @Test func safetensorsMetadataAndHuggingFaceConfig() throws {
        let vit = try WeightLoader.load(Fixtures.models.appendingPathComponent("vit.safetensors"))
        #expect(vit.metadata == ["format": "pt"])
        let hf = try WeightLoader.load(Fixtures.models.appendingPathComponent("hf"))
        let config = try #require(hf.metadata[StateDict.configJSONKey])
        let object = try JSONSerialization.jsonObject(with: Data(config.utf8)) as? [String: Any]
        #expect(object?["projection_dim"] as? Int == 16)
    }

    @Test func huggingFaceFileOutsideFolderLoadIsMapped() throws {
        let state = try WeightLoader.load(Fixtures.models.appendingPathComponent("hf/model.safetensors"))
        #expect(state.format == .safetensors)
        #expect(state.tensors["visual.proj"]?.shape == [32, 16])
        #expect(state.metadata[StateDict.configJSONKey] != nil)
    }

    @Test func unknownHuggingFaceKeyIsNamed() {
        let tensors = [
            "text_model.encoder.layers.0.self_attn.q_proj.weight": WeightTensor(float32: [1], shape: [1, 1]),
            "text_model.mystery.weight": WeightTensor(float32: [1], shape: [1]),
        ]
        #expect(
            throws: WeightError.invalidHuggingFaceFolder(
                folder: "x", detail: "no OpenAI name for key text_model.mystery.weight")
        ) {
            _ = try HuggingFaceKeyMap.toOpenAI(tensors, source: "x")
        }
    }

    @Test func nestedCheckpointLosesModulePrefix() throws {
        let state = try WeightLoader.load(Fixtures.models.appendingPathComponent("vit-nested.pt"))
        #expect(!state.tensors.keys.contains { $0.hasPrefix("module.") })
        #expect(state.tensors["visual.conv1.weight"]?.shape == [32, 3, 8, 8])
    }
}
