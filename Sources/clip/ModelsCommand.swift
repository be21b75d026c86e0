import ArgumentParser
import CLIP
import CLISupport
import Foundation

/// `clip models`: the names `--model` accepts, with sizes and whether each is cached.
struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract:
            "List OpenAI's nine CLIP models: names, image size, embed dim, parameters, download size, cache state.",
        discussion: """
            Any listed name works with --model wherever a path is accepted; so do the dash spellings \
            (ViT-B-32, ViT-L-14-336), open_clip's tags (ViT-B-32/openai, ViT-B-32-quickgelu/openai) and \
            hf:owner/name for a Hugging Face CLIPModel repo (config.json + model.safetensors). A named \
            model is downloaded into the cache on first use (CLIP_CACHE, else $XDG_CACHE_HOME/swift-clip, \
            else ~/.cache/swift-clip); download sizes are approximate.

            Examples:
              clip models
              clip models --json
            """)

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func run() throws {
        let store = ModelStore.fromEnvironment()
        if json {
            let rows: [[String: Any]] = OpenAIModel.all.map { m in
                [
                    "name": m.name, "open_clip_name": m.openCLIPName, "image_size": m.imageSize,
                    "embed_dim": m.embedDim,
                    "parameters": m.parameters, "approximate_download_mib": m.approximateMiB, "url": m.url,
                    "sha256": m.sha256,
                    "cached": store.isCached(.openAI(m)), "path": store.localURL(for: .openAI(m)).path,
                ]
            }
            let object: [String: Any] = ["cache": store.cacheDirectory.path, "models": rows]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
            try Output.print(String(decoding: data, as: UTF8.self))
            return
        }
        let header = ["NAME", "ALSO", "IMAGE", "EMBED", "PARAMS", "DOWNLOAD", "CACHED"]
        let rows = OpenAIModel.all.map { m in
            [
                m.name, m.openCLIPName == m.name ? "" : m.openCLIPName, "\(m.imageSize)", "\(m.embedDim)",
                String(format: "%.1fM", Double(m.parameters) / 1e6),
                m.approximateMiB >= 1000
                    ? String(format: "~%.2f GiB", Double(m.approximateMiB) / 1024) : "~\(m.approximateMiB) MiB",
                store.isCached(.openAI(m)) ? "yes" : "no",
            ]
        }
        let widths = header.indices.map { c in ([header] + rows).map { $0[c].count }.max() ?? 0 }
        for row in [header] + rows {
            try Output.print(
                row.enumerated().map { c, cell in cell.padding(toLength: widths[c], withPad: " ", startingAt: 0) }
                    .joined(separator: "  ").trimmingCharacters(in: .whitespaces))
        }
        try Output.print("cache: \(store.cacheDirectory.path)")
    }
}
