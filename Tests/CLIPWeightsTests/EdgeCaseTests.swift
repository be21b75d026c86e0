import Foundation
import Testing

@testable import CLIPWeights

// Edge cases written by scripts/reference/make_weight_fixtures.py (`format_cases`).
@Suite struct EdgeCaseTests {
    /// views.json: per tensor of views.pt its shape and values; for scripted.pt its state_dict keys.
    struct Expected: Decodable {
        let shape: [Int]?
        let values: [Double]?
        let keys: [String]?
    }

    static func expected() throws -> [String: Expected] {
        let data = try Data(contentsOf: Fixtures.cases.appendingPathComponent("views.json"))
        return try JSONDecoder().decode([String: Expected].self, from: data)
    }

    @Test(arguments: ["views.pt", "compressed.pt"])
    func stridedViewsAreMadeContiguous(file: String) throws {
        let expected = try Self.expected().compactMapValues { entry -> (shape: [Int], values: [Double])? in
            guard let shape = entry.shape, let values = entry.values else { return nil }
            return (shape, values)
        }
        let state = try WeightLoader.load(Fixtures.cases.appendingPathComponent(file))
        #expect(Set(state.tensors.keys) == Set(expected.keys))
        for (key, view) in expected {
            let tensor = try #require(state.tensors[key])
            #expect(tensor.shape == view.shape, "\(key)")
            let values = doubles(tensor)
            let firstMismatch = zip(values, view.values).enumerated().first { $0.element.0 != $0.element.1 }
            #expect(
                values.count == view.values.count && firstMismatch == nil,
                "\(key): first mismatch \(String(describing: firstMismatch))")
        }
        #expect(state.tensors["int64"]?.dtype == .int64)
        #expect(state.tensors["half_view"]?.dtype == .float16)
        #expect(state.tensors["bf16"]?.dtype == .bfloat16)
        #expect(state.tensors["f64"]?.dtype == .float64)
    }

    @Test func disallowedGlobalIsNamed() throws {
        let url = Fixtures.cases.appendingPathComponent("disallowed-global.pt")
        #expect(throws: WeightError.disallowedGlobal(file: url.path, module: "fractions", name: "Fraction")) {
            try WeightLoader.load(url)
        }
    }

    /// Only declared parameters and buffers count, as in torch.jit.load(...).state_dict().
    @Test func scriptedModuleKeepsOnlyDeclaredState() throws {
        let keys = try #require(try Self.expected()["scripted.pt"]?.keys)
        let state = try WeightLoader.load(Fixtures.cases.appendingPathComponent("scripted.pt"))
        #expect(state.format == .torchScript)
        #expect(state.sortedKeys == keys)
    }

    @Test func inflateHandlesAllBlockTypes() throws {
        // Stored block: BFINAL=1, BTYPE=00, LEN=3, NLEN=~3, "abc".
        let stored: [UInt8] = [0x01, 0x03, 0x00, 0xFC, 0xFF, 0x61, 0x62, 0x63]
        #expect(try stored.withUnsafeBytes { try Inflate.inflate($0, expectedSize: 3) } == Array("abc".utf8))
        // Fixed Huffman with a back-reference: zlib's raw deflate of "abcabcabcabc".
        let fixed: [UInt8] = [0x4B, 0x4C, 0x4A, 0x4E, 0x84, 0x21, 0x00]
        #expect(try fixed.withUnsafeBytes { try Inflate.inflate($0, expectedSize: 12) } == Array("abcabcabcabc".utf8))
        // Output larger than announced is refused rather than grown.
        #expect(throws: Inflate.Failure.self) { try fixed.withUnsafeBytes { try Inflate.inflate($0, expectedSize: 5) } }
        // A stream cut short, a reserved block type and an empty input are typed failures.
        func failure(_ bytes: [UInt8], _ size: Int) -> String {
            do {
                _ = try bytes.withUnsafeBytes { try Inflate.inflate($0, expectedSize: size) }
                return "inflated"
            } catch { return "\(error)" }
        }
        #expect(failure(Array(fixed.dropLast(3)), 12) == "truncated")
        #expect(failure([], 0) == "truncated")
        #expect(failure([0x07, 0x00], 12).hasPrefix("invalid"))
        #expect(failure(fixed, 11) == "tooLarge")
    }

    @Test func legacyFormatIsExplained() throws {
        let url = Fixtures.cases.appendingPathComponent("legacy.pt")
        do {
            _ = try WeightLoader.load(url)
            Issue.record("legacy checkpoint loaded")
        } catch let error as WeightError {
            guard case .unrecognizedFormat(let file, _) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(file == url.path)
            #expect(error.localizedDescription.contains("legacy.pt"))
        }
    }

    @Test func missingPathAndEmptyFolder() throws {
        #expect(throws: WeightError.self) { try WeightLoader.load(URL(fileURLWithPath: "/nonexistent/model.pt")) }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("clip-weights-empty-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(throws: WeightError.self) { try WeightLoader.load(folder) }
    }
}
