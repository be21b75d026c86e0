import ArgumentParser
import CLIP
import CLISupport
import Foundation

/// `clip convert`: any readable checkpoint to safetensors (OpenAI keys) or a Hugging Face folder.
struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a checkpoint to safetensors with OpenAI key names, or to a Hugging Face CLIPModel folder.",
        discussion: """
            The input is anything --model accepts (OpenAI .pt, PyTorch state dict, safetensors, a Hugging \
            Face folder, or a model name). The output's safetensors metadata records the architecture \
            (swift_clip.architecture), the source file name and its SHA-256 (swift_clip.source, \
            swift_clip.source_sha256) and the model configuration (swift_clip.config), so it reloads \
            without --text-heads/--model-config. --format hf writes a folder with config.json and \
            model.safetensors; it holds ViT models only (Hugging Face's CLIPModel has no ResNet tower). \
            Floating-point weights are rounded to nearest even for f16/bf16. --dtype int8 (--format \
            openai only) stores the transformer's linear weights as int8 KEY with float32 per-output-channel \
            scales KEY.scale (weight = KEY.scale[o] · KEY[o][i]) and everything else as f32; --precision int8 \
            uses them as stored, fp32 dequantises them.

            Examples:
              clip convert --model ViT-B/32 -o ViT-B-32.safetensors
              clip convert --model ViT-B-32.pt -o ViT-B-32-f16.safetensors --dtype f16
              clip convert --model ViT-B/16 -o clip-vit-b16-hf --format hf
              clip convert --model ViT-B/32 -o ViT-B-32-int8.safetensors --dtype int8
            """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(
        name: [.short, .long],
        help: ArgumentHelp("Output .safetensors file (--format openai) or folder (--format hf).", valueName: "path"))
    var output: String?

    @Option(
        help:
            "Element type of floating-point weights: f32, f16, bf16, or int8 (linear weights int8 + scales, the rest f32)."
    )
    var dtype = "f32"

    @Option(help: "openai (one safetensors file, OpenAI key names) or hf (Hugging Face CLIPModel folder).")
    var format = "openai"

    func validate() throws {
        guard WeightCast.targets[dtype] != nil || dtype == "int8" else {
            throw ValidationError("--dtype must be f32, f16, bf16 or int8, got '\(dtype)'")
        }
        guard let layout = ExportFormat(rawValue: format) else {
            throw ValidationError("--format must be openai or hf, got '\(format)'")
        }
        if dtype == "int8" && layout == .huggingFace {
            throw ValidationError("--dtype int8 needs --format openai (Hugging Face folders hold float weights)")
        }
    }

    func run() throws {
        guard let output else {
            throw fail(
                "-o OUTPUT is required", hint: "For example: clip convert --model ViT-B/32 -o ViT-B-32.safetensors",
                .usage)
        }
        guard let target = dtype == "int8" ? .int8 : WeightCast.targets[dtype],
            let layout = ExportFormat(rawValue: format)
        else {
            throw ExitCode(CLIExit.usage.rawValue)
        }
        let (model, state, source) = try modelOptions.loadWithState()
        if layout == .huggingFace, case .resnet = model.configuration.vision {
            throw fail(
                "\(model.configuration.architectureName) has a ResNet image tower; Hugging Face CLIPModel folders hold ViT models only",
                hint: "Use --format openai (safetensors with OpenAI key names), which holds every architecture.", .usage
            )
        }
        let outputURL = URL(fileURLWithPath: output)
        // Through symbolic links too: OutputFile replaces the file a link points to.
        if outputURL.resolvingSymlinksInPath().standardizedFileURL.path
            == source.resolvingSymlinksInPath().standardizedFileURL.path
        {
            throw fail("the output would overwrite the input \(source.path)", hint: "Choose another -o path.", .usage)
        }
        let digest: String?
        let hashStarted = Date()
        do {
            // A folder's own size says nothing about its weights file: no total then.
            let isFolder = (try? source.resourceValues(forKeys: [.isDirectoryKey]))?.isDirectory == true
            let size =
                isFolder
                ? nil : (try? FileManager.default.attributesOfItem(atPath: source.path)[.size] as? NSNumber)?.int64Value
            let bar = ProgressBar(label: "hashing \(source.lastPathComponent)", total: size, unit: .bytes)
            digest = try ModelConverter.sourceDigest(source) { bar.update(done: $0) }
            bar.finish()
        } catch {
            throw fail(error, .input)
        }
        note(
            "source SHA-256 \(digest ?? "(none: sharded folder)") in \(String(format: "%.2f", Date().timeIntervalSince(hashStarted))) s"
        )
        let bar = ProgressBar(label: "converting", total: nil, unit: .items)
        defer { bar.finish() }
        do {
            try ModelConverter.write(
                state, configuration: model.configuration, dtype: target, format: layout, to: outputURL,
                source: .init(fileName: source.lastPathComponent, sha256: digest)
            ) { done, total in
                bar.update(done: Int64(done), total: Int64(total))
            }
        } catch let error as HubError {
            throw fail(error, .io)
        } catch {
            throw fail(error, .io)
        }
        bar.finish()
        note(
            "wrote \(outputURL.path) in \(String(format: "%.2f", Date().timeIntervalSince(hashStarted))) s since hashing began"
        )
    }
}
