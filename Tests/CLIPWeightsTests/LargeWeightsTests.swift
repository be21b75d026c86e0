import Foundation
import Testing

@testable import CLIPWeights

#if canImport(Glibc)
    import Glibc
#endif

// Opt-in timing of full-size ViT-B/32 files written by scripts/reference/make_large_weights.py:
//   CLIP_LARGE_WEIGHTS=/tmp/clip-large-weights swift test --filter LargeWeightsTests
@Suite(.enabled(if: ProcessInfo.processInfo.environment["CLIP_LARGE_WEIGHTS"] != nil))
struct LargeWeightsTests {
    static let folder = URL(
        fileURLWithPath: ProcessInfo.processInfo.environment["CLIP_LARGE_WEIGHTS"] ?? "/nonexistent")

    static func maxResidentMiB() -> Double {
        var usage = rusage()
        #if os(Linux)
            getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        #else
            getrusage(RUSAGE_SELF, &usage)
        #endif
        return Double(usage.ru_maxrss) / 1024
    }

    @Test(arguments: ["vitb32.safetensors", "vitb32.pt", "ViT-B-32-jit.pt", "hf"])
    func loadsFullSizeViTB32Quickly(name: String) throws {
        let keysData = try Data(contentsOf: Self.folder.appendingPathComponent("keys.json"))
        let expected = try JSONDecoder().decode([String: [Int]].self, from: keysData)
        let before = Self.maxResidentMiB()
        let clock = ContinuousClock()
        var state: StateDict?
        let elapsed = try clock.measure { state = try WeightLoader.load(Self.folder.appendingPathComponent(name)) }
        let loaded = try #require(state)
        let bytes = loaded.tensors.values.reduce(0) { $0 + $1.byteCount }
        print(
            "\(name): \(loaded.tensors.count) tensors, \(bytes >> 20) MiB, loaded in \(elapsed), max RSS \(Int(before)) -> \(Int(Self.maxResidentMiB())) MiB"
        )
        #expect(elapsed < .seconds(1))
        for (key, shape) in expected
        where name != "hf" || !["input_resolution", "context_length", "vocab_size"].contains(key) {
            #expect(loaded.tensors[key]?.shape == shape, "\(name): \(key)")
        }
    }
}
