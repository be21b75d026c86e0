import ArgumentParser
import CLIP
import CLISupport
import Foundation

/// `clip download`: fetch named models into the cache ahead of use.
struct DownloadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "download",
        abstract: "Download models into the cache (resumable, SHA-256 verified) and print their paths.",
        discussion: """
            Interrupted downloads resume where they stopped. CLIP_MODEL_MIRROR=https://host/prefix \
            replaces the scheme and host of the official URLs (for mirrors inside air-gapped networks). \
            To install by hand instead, copy the file to the path `clip models --json` prints.

            Examples:
              clip download ViT-B/32
              clip download RN50 hf:openai/clip-vit-base-patch32
              CLIP_CACHE=/data/clip clip download ViT-L/14
            """)

    @Argument(help: "Model names (`clip models`) or hf:owner/name.")
    var names: [String] = []

    func run() throws {
        guard !names.isEmpty else {
            throw fail(
                "no model names", hint: "For example: clip download ViT-B/32 (`clip models` lists the names).", .usage)
        }
        let store = ModelStore.fromEnvironment()
        for name in names {
            guard let reference = ModelReference.named(name) else { throw fail(HubError.unknownModel(name), .usage) }
            let url = try ModelOptions.fetch(reference, from: store)
            try Output.print(url.path)
        }
    }
}
