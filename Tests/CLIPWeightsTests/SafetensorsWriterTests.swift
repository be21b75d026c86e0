import Foundation
import Testing

@testable import CLIPWeights

@Suite struct SafetensorsWriterTests {
    /// Without metadata our writer reproduces the reference (safetensors 0.4.5) byte for byte.
    @Test func rewritesReferenceFileByteForByte() throws {
        let source = Fixtures.models.appendingPathComponent("rn-bf16.safetensors")
        let state = try WeightLoader.load(source)
        let output = FileManager.default.temporaryDirectory.appendingPathComponent(
            "clip-weights-\(getpid()).safetensors")
        defer { try? FileManager.default.removeItem(at: output) }
        try SafetensorsWriter.write(state.tensors.map { ($0.key, $0.value) }, metadata: [:], to: output)
        let written = try Data(contentsOf: output)
        let original = try Data(contentsOf: source)
        let firstMismatch = zip(written, original).enumerated().first { $0.element.0 != $0.element.1 }?.offset
        #expect(
            written == original,
            "sizes \(written.count) vs \(original.count), first mismatch at \(String(describing: firstMismatch))")
    }

    @Test func roundTripsWithMetadataAndAlignment() throws {
        let tensors: [(String, WeightTensor)] = [
            ("a \"quoted\" name", WeightTensor(float32: [1, 2, 3, 4, 5, 6], shape: [2, 3])),
            ("scalar", WeightTensor(float32: [0.5], shape: [])),
            ("bytes", WeightTensor(dtype: .uint8, shape: [3], bytes: [1, 2, 3])),
        ]
        let output = FileManager.default.temporaryDirectory.appendingPathComponent(
            "clip-weights-rt-\(getpid()).safetensors")
        defer { try? FileManager.default.removeItem(at: output) }
        try SafetensorsWriter.write(tensors, metadata: ["format": "pt", "note": "line\nbreak"], to: output)
        let data = try Data(contentsOf: output)
        let headerLength = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        #expect((8 + headerLength) % 8 == 0)
        let (read, metadata) = try SafetensorsReader.read(output)
        #expect(metadata == ["format": "pt", "note": "line\nbreak"])
        for (name, tensor) in tensors {
            let back = try #require(read[name])
            #expect(back.shape == tensor.shape && back.dtype == tensor.dtype && back.bytes == tensor.bytes, "\(name)")
        }
    }

    @Test func duplicateNamesAreRejected() {
        let t = WeightTensor(float32: [1], shape: [1])
        let output = FileManager.default.temporaryDirectory.appendingPathComponent(
            "clip-weights-dup-\(getpid()).safetensors")
        #expect(throws: WeightError.duplicateKey(file: output.path, key: "x")) {
            try SafetensorsWriter.write([("x", t), ("x", t)], metadata: [:], to: output)
        }
        #expect(!FileManager.default.fileExists(atPath: output.path))
    }
}
