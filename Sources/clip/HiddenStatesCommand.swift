import ArgumentParser
import CLIP
import CLISupport
import Foundation

/// `clip hidden-states`: per-token states of a text or image tower, as diffusion pipelines
/// and IP-Adapter consume them.
struct HiddenStatesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hidden-states",
        abstract: "Per-token hidden states of a text or image tower (Stable Diffusion, SDXL, Flux, IP-Adapter).",
        discussion: """
            Texts give (N, 77, C), or (N, 77·k, C) with --chunks; images give (B, 1 + P, C), class token \
            first; --pooled gives (N, C): the state at each prompt's EOT, or the class token. Rows follow \
            the input order (--text/--image arguments, then --texts-from lines / --images-from paths; \
            folders in sorted order). Output is a little-endian float32 NPY array, or with --format \
            safetensors one tensor named "hidden_states" (or "pooled").

            --layer counts like transformers' hidden_states: 0 = embeddings (ViT: after ln_pre), k = block \
            k, -1 = last block, -2 = penultimate; only blocks 1 ... k run. Defaults: texts --layer -1 \
            --final-norm --pad eot (diffusers' SD 1.x prompt_embeds, transformers' last_hidden_state); \
            images --layer -1 --no-final-norm (transformers' last_hidden_state); --pooled implies \
            --final-norm unless told otherwise (transformers' pooler_output).

            --model takes what other subcommands take, and also diffusers folders: text_encoder/, \
            text_encoder_2/, image_encoder/, or a pipeline root (model_index.json) with --component.

            Prompts longer than 75 tokens are truncated (a warning names them); --chunks instead splits \
            them into 75-token chunks, each wrapped in SOT ... EOT, as AUTOMATIC1111's webui does.

            Examples:
              clip hidden-states --model sd15/text_encoder --text "a photo of a cat" -o cond.npy
              clip hidden-states --model sdxl --component text_encoder_2 --layer -2 --no-final-norm \\
                --pad zero --text "a photo of a cat" -o te2.npy
              clip hidden-states --model ip-adapter/image_encoder --layer -2 --image cat.jpg -o image.npy
            """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "For a diffusers pipeline folder: the component (text_encoder, text_encoder_2, image_encoder).")
    var component: String?

    @Option(name: .customLong("text"), help: "A prompt (repeatable).")
    var texts: [String] = []

    @Option(help: "A JSON Lines file with one JSON string per line.")
    var textsFrom: String?

    @Option(name: .customLong("image"), help: "An image file (repeatable).")
    var images: [String] = []

    @Option(help: ArgumentHelp("A folder of images, or a file with one image path per line.", valueName: "dir-or-list"))
    var imagesFrom: String?

    @Option(
        parsing: .unconditional,
        help: "Layer as transformers' hidden_states counts: 0 embeddings, k block k, -1 last, -2 penultimate.")
    var layer: Int = -1

    @Flag(inversion: .prefixedNo, help: "Apply the final layer norm (ln_final / ln_post) to every token.")
    var finalNorm: Bool?

    @Option(help: "Padding after EOT: eot (Hugging Face tokenizer, SD 1.x) or zero (clip.tokenize, open_clip).")
    var pad: String?

    @Flag(help: "One row per input: the state at the EOT token (texts) or the class token (images).")
    var pooled = false

    @Flag(help: "Keep long prompts whole: 75-token chunks wrapped to 77, concatenated along the tokens.")
    var chunks = false

    @Option(
        name: .customLong("format"),
        help: "Output format: npy or safetensors (default: the -o file's extension if it is one of these, else npy).")
    var formatFlag: String?

    /// --format, else the output file's extension, else npy.
    var format: String {
        OutputFormat.resolve(flag: formatFlag, output: output, formats: ["npy", "safetensors"], default: "npy")
    }

    @Option(name: [.short, .long], help: "Output file (default: standard output).")
    var output: String?

    func validate() throws {
        if let formatFlag, !["npy", "safetensors"].contains(formatFlag) {
            throw ValidationError("--format must be npy or safetensors, got '\(formatFlag)'")
        }
        if let pad, TextPadding(rawValue: pad) == nil {
            throw ValidationError("--pad must be eot or zero, got '\(pad)'")
        }
        let hasImages = !images.isEmpty || imagesFrom != nil
        let hasTexts = !texts.isEmpty || textsFrom != nil
        if hasImages && hasTexts { throw ValidationError("give texts or images, not both: they have different shapes") }
        if !hasImages && !hasTexts {
            throw ValidationError("nothing to encode: give --text, --texts-from, --image or --images-from")
        }
        if hasImages && chunks { throw ValidationError("--chunks applies to texts only") }
        if hasImages && pad != nil { throw ValidationError("--pad applies to texts only") }
        if pooled && chunks {
            throw ValidationError("--pooled takes one row per prompt; it cannot be combined with --chunks")
        }
        if format == "safetensors" && (output == nil || output == "-") {
            throw ValidationError("--format safetensors needs an output file (-o)")
        }
    }

    func run() throws {
        var textInputs = texts
        if let textsFrom { textInputs += try InputLists.jsonStrings(textsFrom) }
        var imagePaths = images
        if let imagesFrom {
            let found = try ImageInputs.paths(imagesFrom)
            if found.isEmpty {
                throw fail("no images in \(imagesFrom)", hint: "Give a folder of images or a list.", .input)
            }
            imagePaths += found
        }
        let towers = try loadTowers(modality: imagePaths.isEmpty ? .text : .image)
        let states: Tensor
        if imagePaths.isEmpty {
            states = try textStates(textInputs, towers)
        } else {
            states = try imageStates(imagePaths, towers)
        }
        try write(states)
        note("wrote \(states.shape) states; peak RSS \(PeakMemory.megabytes()) MB")
    }

    private func loadTowers(modality: CLIPTowers.Modality) throws -> CLIPTowers {
        let url = try modelOptions.resolve()
        let config = try modelOptions.loading.configurationFile()
        do {
            let towers = try CLIPTowers.load(
                url, component: component, modality: modality, configuration: config,
                activation: modelOptions.loading.activation.flatMap(Activation.init(rawValue:)),
                textHeads: modelOptions.loading.textHeads, visionHeads: modelOptions.loading.visionHeads)
            note("loaded \(towers.kind.rawValue) from \(towers.source.path)")
            return towers
        } catch {
            throw fail(error, .model)
        }
    }

    /// Checks --layer against the tower's depth (exit 64 naming the range).
    private func checkLayer(blocks: Int) throws {
        do { _ = try HiddenStateLayer.blocks(for: layer, layers: blocks) } catch { throw fail(error, .usage) }
    }

    private func textStates(_ prompts: [String], _ towers: CLIPTowers) throws -> Tensor {
        let tower: TextTower
        do { tower = try towers.textTower() } catch { throw fail(error, .model) }
        try checkLayer(blocks: tower.transformer.blocks.count)
        let padding = pad.flatMap(TextPadding.init(rawValue:)) ?? .eot
        let context = tower.configuration.contextLength
        let tokens: PromptTokens
        do {
            tokens = try PromptTokens(
                prompts, tokenizer: towers.tokenizer, contextLength: context, padding: padding, chunks: chunks)
        } catch {
            throw fail(error, .input)
        }
        for i in tokens.truncated {
            warn(
                "prompt \(i + 1) (\(JSONRows.string(String(prompts[i].prefix(60))))\(prompts[i].count > 60 ? "…" : "")) is longer than \(context - 2) tokens and was truncated; --chunks keeps all of it"
            )
        }
        do {
            let norm = finalNorm ?? true
            if pooled { return try tower.pooledStates(tokens.rows, layer: layer, finalNorm: norm) }
            let states = try tower.hiddenStates(tokens.rows, layer: layer, finalNorm: norm)  // (N·k, T, C)
            // Prompt i's k chunks are consecutive rows: (N·k, T, C) → (N, k·T, C) is a reshape.
            return states.reshaped([prompts.count, tokens.chunksPerPrompt * context, tower.configuration.width])
        } catch {
            throw fail(error, .input)
        }
    }

    private func imageStates(_ paths: [String], _ towers: CLIPTowers) throws -> Tensor {
        let tower: VisionTower
        do { tower = try towers.visionTower() } catch { throw fail(error, .model) }
        try checkLayer(blocks: tower.transformer.blocks.count)
        let preprocessor = CLIPPreprocessor(size: tower.imageSize)
        let bar = ProgressBar(label: "encoding images", total: Int64(paths.count), unit: .items)
        defer { bar.finish() }
        var parts: [Tensor] = []
        for start in stride(from: 0, to: paths.count, by: 32) {
            let chunk = Array(paths[start..<min(start + 32, paths.count)])
            do {
                let pixels = try preprocessor.preprocessBatch(contentsOf: chunk.map { URL(fileURLWithPath: $0) })
                let x = Tensor(shape: [chunk.count, 3, tower.imageSize, tower.imageSize], scalars: pixels)
                parts.append(
                    pooled
                        ? try tower.pooledStates(x, layer: layer, finalNorm: finalNorm ?? true)
                        : try tower.hiddenStates(x, layer: layer, finalNorm: finalNorm ?? false))
            } catch {
                throw fail(error, .input)
            }
            bar.update(done: Int64(start + chunk.count))
        }
        return parts.count == 1 ? parts[0] : Tensor.concatenate(parts, dim: 0)
    }

    private func write(_ states: Tensor) throws {
        let values = states.contiguous().scalars
        if format == "safetensors", let output {
            do {
                try SafetensorsWriter.write(
                    [(pooled ? "pooled" : "hidden_states", WeightTensor(float32: values, shape: states.shape))],
                    metadata: ["format": "pt"], to: URL(fileURLWithPath: output))
            } catch {
                throw fail(error, .io)
            }
            return
        }
        try Output.write(NPY.float32(values, shape: states.shape), to: output)
    }
}
