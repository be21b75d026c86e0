import ArgumentParser
import CLIP
import CLISupport
import Foundation

/// Reads `--model-config FILE` (open_clip's model-config JSON), naming the file in errors.
enum ModelConfigFile {
    static func read(_ path: String) throws -> CLIPConfiguration {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            let readable = ReadableError(error)
            throw fail("--model-config: \(readable.message)", hint: readable.hint, .model)
        }
        do { return try JSONDecoder().decode(CLIPConfiguration.self, from: data) } catch {
            let readable = ReadableError(error)
            throw fail(
                "--model-config \(path): \(readable.message)",
                hint: "Give open_clip's model-config JSON (embed_dim, vision_cfg, text_cfg).", .model)
        }
    }
}
