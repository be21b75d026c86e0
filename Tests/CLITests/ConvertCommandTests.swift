import CLIP
import Foundation
import Testing

/// `clip convert` on the tiny fixtures of CLIPModelTests (scripts/reference/make_weight_fixtures.py):
/// the converted files reload without hints and embed images exactly like the source.
@Suite struct ConvertCommandTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("CLIPModelTests/Fixtures")
    static let image = TinyModel.image("chelsea_baseline.jpg")

    struct Output: Decodable { var image_embeddings: [[Float]] }

    func embed(_ arguments: [String]) throws -> [[Float]] {
        let r = try CLIRunner.run(["embed", "--image", Self.image, "--raw"] + arguments)
        #expect(r.status == 0, "\(arguments): \(r.stderr)")
        return try JSONDecoder().decode(Output.self, from: r.stdoutData).image_embeddings
    }

    static let cases: [(source: String, heads: [String], format: String, dtype: String)] = [
        ("vit.safetensors", ["--text-heads", "2", "--vision-heads", "2"], "openai", "f32"),
        ("vit-fp16.pt", ["--text-heads", "2", "--vision-heads", "2"], "hf", "f32"),
        ("vit.safetensors", ["--text-heads", "2", "--vision-heads", "2"], "hf", "bf16"),
        ("rn.safetensors", ["--text-heads", "2", "--vision-heads", "1"], "openai", "f16"),
        ("hf", [], "openai", "f32"),
    ]

    @Test(arguments: cases)
    func convertedModelEmbedsLikeTheSource(_ source: String, _ heads: [String], _ format: String, _ dtype: String)
        throws
    {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clip-convert-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = Self.fixtures.appendingPathComponent(source).path
        let output = dir.appendingPathComponent(format == "hf" ? "out" : "out.safetensors").path
        let r = try CLIRunner.run(
            ["convert", "--model", input, "-o", output, "--format", format, "--dtype", dtype] + heads)
        #expect(r.status == 0 && r.stdout.isEmpty, "\(r.stderr)")
        if format == "hf" {
            #expect(
                FileManager.default.fileExists(atPath: output + "/config.json")
                    && FileManager.default.fileExists(atPath: output + "/model.safetensors"))
        }
        let before = try embed(["--model", input] + heads)
        let after = try embed(["--model", output])
        let diff = zip(before.flatMap { $0 }, after.flatMap { $0 }).map { abs($0 - $1) }.max() ?? .infinity
        // f32 is exact; f16/bf16 round each weight (relative 2^-11 / 2^-8).
        let tolerance: Float = dtype == "f32" ? 0 : (dtype == "f16" ? 1e-2 : 1e-1)
        #expect(
            before.count == 1 && after.count == 1 && diff <= tolerance,
            "\(source) → \(format) \(dtype): max |diff| \(diff)")
        let info = try CLIRunner.run(["info", "--model", output])
        let expectedType = ["f32": "float32", "f16": "float16", "bf16": "bfloat16"][dtype] ?? ""
        #expect(info.stdout.contains("\"weight_dtype\" : \"\(expectedType)\""), "\(info.stdout)")
    }

    @Test func refusesResNetToHuggingFaceAndBadArguments() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clip-convert-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let rn = Self.fixtures.appendingPathComponent("rn.safetensors").path
        let r = try CLIRunner.run([
            "convert", "--model", rn, "--text-heads", "2", "--vision-heads", "1", "-o", dir.path, "--format", "hf",
        ])
        #expect(
            r.status == 64 && r.stderr.hasPrefix("error: ") && r.stderr.contains("ResNet")
                && r.stderr.contains("hint: "), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.path))
        let noOutput = try CLIRunner.run(["convert", "--model", rn])
        #expect(noOutput.status == 64 && noOutput.stderr.contains("-o OUTPUT is required"), "\(noOutput.stderr)")
        let badDType = try CLIRunner.run(["convert", "--model", rn, "-o", "x.safetensors", "--dtype", "f8"])
        #expect(badDType.status == 64, "\(badDType.stderr)")
        let missing = try CLIRunner.run(["convert", "--model", "/nonexistent/model.pt", "-o", "x.safetensors"])
        #expect(missing.status == 66, "\(missing.stderr)")
    }
}
