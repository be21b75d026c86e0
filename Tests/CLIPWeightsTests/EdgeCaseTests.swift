import Foundation
import Testing
@testable import CLIPWeights

// Edge cases written by scripts/reference/make_weight_fixtures.py (`format_cases`).
@Suite struct EdgeCaseTests {
    struct View: Decodable {
        let shape: [Int]
        let values: [Double]
    }

    @Test func stridedViewsAreMadeContiguous() throws {
        let data = try Data(contentsOf: Fixtures.cases.appendingPathComponent("views.json"))
        let expected = try JSONDecoder().decode([String: View].self, from: data)
        let state = try WeightLoader.load(Fixtures.cases.appendingPathComponent("views.pt"))
        #expect(Set(state.tensors.keys) == Set(expected.keys))
        for (key, view) in expected {
            let tensor = try #require(state.tensors[key])
            #expect(tensor.shape == view.shape, "\(key)")
            let values = doubles(tensor)
            let firstMismatch = zip(values, view.values).enumerated().first { $0.element.0 != $0.element.1 }
            #expect(values.count == view.values.count && firstMismatch == nil,
                    "\(key): first mismatch \(String(describing: firstMismatch))")
        }
        #expect(state.tensors["int64"]?.dtype == .int64)
        #expect(state.tensors["half_view"]?.dtype == .float16)
    }

    @Test func disallowedGlobalIsNamed() throws {
        let url = Fixtures.cases.appendingPathComponent("disallowed-global.pt")
        #expect(throws: WeightError.disallowedGlobal(file: url.path, module: "fractions", name: "Fraction")) {
            try WeightLoader.load(url)
        }
    }

    @Test func compressedEntriesAreRejected() throws {
        let url = Fixtures.cases.appendingPathComponent("compressed.pt")
        do {
            _ = try WeightLoader.load(url)
            Issue.record("compressed archive loaded")
        } catch let error as WeightError {
            guard case .compressedZipEntry(_, let entry, let method) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(method == 8)
            #expect(entry.hasPrefix("views/"))
            #expect(error.recoverySuggestion != nil)
        }
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
