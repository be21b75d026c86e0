import Foundation
import Testing

/// `clip models`, model names with `--model`, the cache and the global options.
@Suite struct ModelsCommandTests {
    /// A temporary cache folder, removed by `cleanUp`.
    static func makeCache() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clip-cache-\(UUID().uuidString)")
        try FileManager.default.createDirectory(
            at: dir.appendingPathComponent("openai"), withIntermediateDirectories: true)
        return dir
    }

    @Test func tableListsTheNineModels() throws {
        let cache = try Self.makeCache()
        defer { try? FileManager.default.removeItem(at: cache) }
        let r = try CLIRunner.run(["models"], environment: ["CLIP_CACHE": cache.path])
        #expect(r.status == 0, "\(r.stderr)")
        for name in [
            "RN50", "RN101", "RN50x4", "RN50x16", "RN50x64", "ViT-B/32", "ViT-B/16", "ViT-L/14", "ViT-L/14@336px",
        ] {
            #expect(r.stdout.contains(name + " "), "missing \(name):\n\(r.stdout)")
        }
        #expect(r.stdout.contains("151.3M") && r.stdout.contains("cache: \(cache.path)"), "\(r.stdout)")
    }

    @Test func jsonReportsCacheState() throws {
        let cache = try Self.makeCache()
        defer { try? FileManager.default.removeItem(at: cache) }
        try Data().write(to: cache.appendingPathComponent("openai/RN50.pt"))
        let r = try CLIRunner.run(["models", "--json"], environment: ["CLIP_CACHE": cache.path])
        #expect(r.status == 0, "\(r.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: r.stdoutData) as? [String: Any])
        let models = try #require(object["models"] as? [[String: Any]])
        #expect(models.count == 9)
        let cached = models.filter { $0["cached"] as? Bool == true }.compactMap { $0["name"] as? String }
        #expect(cached == ["RN50"])
        let vit = try #require(models.first { $0["name"] as? String == "ViT-B/32" })
        #expect(vit["sha256"] as? String == "40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af")
        #expect(vit["path"] as? String == cache.appendingPathComponent("openai/ViT-B-32.pt").path)
    }

    @Test func namedModelLoadsFromTheCache() throws {
        let cache = try Self.makeCache()
        defer { try? FileManager.default.removeItem(at: cache) }
        // Files are recognised by content, so the tiny safetensors model can stand in for ViT-B-32.pt.
        try FileManager.default.copyItem(
            atPath: TinyModel.path, toPath: cache.appendingPathComponent("openai/ViT-B-32.pt").path)
        for name in ["ViT-B/32", "ViT-B-32", "ViT-B-32-quickgelu/openai"] {
            let r = try CLIRunner.run(
                ["info", "--model", name, "--offline", "--verbose"], environment: ["CLIP_CACHE": cache.path])
            #expect(r.status == 0 && r.stdout.contains("\"embed_dim\" : 8"), "\(name): \(r.stderr)")
            #expect(r.stderr.contains("note: ViT-B/32 is cached at"), "\(r.stderr)")
        }
    }

    @Test func missingModelOfflineSaysWhereToPutIt() throws {
        let cache = try Self.makeCache()
        defer { try? FileManager.default.removeItem(at: cache) }
        let r = try CLIRunner.run(
            ["embed", "--model", "RN50x4", "--text", "x"], environment: ["CLIP_CACHE": cache.path, "CLIP_OFFLINE": "1"])
        let lines = r.stderr.split(separator: "\n")
        #expect(r.status == 66 && lines.count == 2, "\(r.status) \(r.stderr)")
        #expect(lines.first?.hasPrefix("error: ") == true && lines.last?.hasPrefix("hint: ") == true)
        #expect(r.stderr.contains("place it at \(cache.path)/openai/RN50x4.pt"), "\(r.stderr)")
        let unknown = try CLIRunner.run(["info", "--model", "ViT-Q-99"])
        #expect(unknown.status == 66 && unknown.stderr.contains("not a known model name"), "\(unknown.stderr)")
        let download = try CLIRunner.run(["download", "ViT-Q-99"])
        #expect(download.status == 64 && download.stderr.contains("unknown model name"), "\(download.stderr)")
    }

    static let globalCases: [([String], Int32, String)] = [
        (["--threads", "0", "models"], 64, "error: --threads must be"),
        (["models", "--threads"], 64, "error: --threads needs a value"),
        (["--threads", "1", "--quiet", "models"], 0, ""),
        (["models", "--threads=2", "--verbose"], 0, ""),
    ]

    @Test(arguments: globalCases)
    func globalOptions(_ arguments: [String], _ status: Int32, _ stderr: String) throws {
        let r = try CLIRunner.run(arguments)
        #expect(r.status == status && r.stderr.hasPrefix(stderr), "\(arguments): \(r.status) \(r.stderr)")
    }

    static let subcommands = [
        "demo", "selfcheck", "tokenize", "preprocess", "embed", "classify", "info", "eval", "synth", "train",
        "models", "download", "convert",
    ]

    @Test(arguments: subcommands)
    func helpHasExamples(_ name: String) throws {
        let r = try CLIRunner.run([name, "--help"])
        #expect(
            r.status == 0 && r.stdout.contains("clip \(name)") && r.stdout.contains("Example"), "\(name):\n\(r.stdout)")
    }
}
