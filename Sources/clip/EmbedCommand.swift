import ArgumentParser
import CLIP
import CLISupport
import Foundation

/// `clip embed`: image and text embeddings as JSON, JSON Lines or NPY, streamed as computed.
struct EmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Embed images and texts with a CLIP model.",
        discussion: """
            JSON output is an object {"image_embeddings": [[...]], "text_embeddings": [[...]]}, rows in \
            input order (--image arguments, then --images-from; --text arguments, then --texts-from \
            lines), L2-normalised unless --raw. JSON Lines (--format jsonl) prints one object per line: \
            {"image": path, "embedding": [...]} for each image, then {"text": text, "embedding": [...]}. \
            NPY output holds one (N, E) float32 array, so it takes images or texts, not both.

            --images-from takes a folder (walked recursively in sorted order; images are the files named \
            .jpg, .jpeg, .jpe, .jfif, .png, .webp or .gif in any case, other files are skipped) or a file \
            with one path per line. Images are decoded and \
            embedded 32 at a time and each batch is written before the next is read, so memory stays \
            flat however many images there are; NPY's header needs the row count, which is the number \
            of paths found before any image is read. A file given with -o appears only when complete.

            Examples:
              clip embed --model ViT-B/32 --image cat.jpg --text "a photo of a cat"
              clip embed --model ViT-B/32 --images-from photos/ --format jsonl -o photos.jsonl
              clip embed --model ViT-B-32.pt --images-from list.txt --format npy -o images.npy
            """)

    @OptionGroup var modelOptions: ModelOptions

    @OptionGroup var precisionOption: PrecisionOption

    @Option(name: .customLong("image"), help: "An image file (repeatable).")
    var images: [String] = []

    @Option(name: .customLong("text"), help: "A text (repeatable).")
    var texts: [String] = []

    @Option(help: ArgumentHelp("A folder of images, or a file with one image path per line.", valueName: "dir-or-list"))
    var imagesFrom: String?

    @Option(help: "A JSON Lines file with one JSON string per line.")
    var textsFrom: String?

    @Flag(help: "Output the raw projections instead of L2-normalised embeddings.")
    var raw = false

    @Option(
        name: .customLong("format"),
        help: "Output format: json, jsonl or npy (default: the -o file's extension if it is one of these, else json).")
    var formatFlag: String?

    /// --format, else the output file's extension, else json.
    var format: String {
        OutputFormat.resolve(flag: formatFlag, output: output, formats: ["json", "jsonl", "npy"], default: "json")
    }

    @Option(name: [.short, .long], help: "Output file (default: standard output).")
    var output: String?

    /// Images decoded and embedded per step: bounds memory to one batch of pixels.
    static let batch = 32

    func validate() throws {
        if let formatFlag, !["json", "jsonl", "npy"].contains(formatFlag) {
            throw ValidationError("--format must be json, jsonl or npy, got '\(formatFlag)'")
        }
    }

    func run() throws {
        // Under mpirun/srun: each rank embeds a contiguous share, rank 0 writes (README "MPI").
        let world = try Ranks.join()
        defer { world?.finalize() }
        let writes = (world?.rank ?? 0) == 0
        let (imagePaths, textInputs, loaded, opened) = try Ranks.agree(world, during: "reading the inputs") {
            try inputs(writes: writes, alone: world == nil)
        }
        guard let model = loaded else {
            // A single tower runs in one process (rank 0 under mpirun).
            if writes { try runOnTower(imagePaths, textInputs) }
            return
        }
        var gathered: (images: Tensor, texts: Tensor)?
        if let world {
            gathered = try Ranks.abortOnFailure(world) { try embedShares(world, imagePaths, textInputs, model) }
            guard writes else { return }
        }
        guard let out = opened else { return }
        try write(imagePaths, textInputs, model, to: out, gathered: gathered)
    }

    /// The image paths and texts in input order, the model (nil for a single-tower folder) and,
    /// where this process `writes`, the opened output. `alone`: no other ranks.
    private func inputs(writes: Bool, alone: Bool) throws -> ([String], [String], CLIP?, OutputFile?) {
        var imagePaths = images
        if let imagesFrom {
            let found = try ImageInputs.paths(imagesFrom)
            if found.isEmpty {
                throw fail(
                    "no images in \(imagesFrom)",
                    hint: "A folder is searched for JPEG, PNG, WebP and GIF files; a list names one path per line.",
                    .input)
            }
            imagePaths += found
        }
        var textInputs = texts
        if let textsFrom { textInputs += try InputLists.jsonStrings(textsFrom) }
        if imagePaths.isEmpty && textInputs.isEmpty {
            throw fail("nothing to embed", hint: "Give --image, --text, --images-from or --texts-from.", .usage)
        }
        if format == "npy" && !imagePaths.isEmpty && !textInputs.isEmpty {
            throw fail(
                "NPY output (--format npy or a .npy file) holds one array: embed images and texts in separate calls",
                .usage)
        }
        // diffusers' single towers (text_encoder_2/, image_encoder/) have no CLIP to load.
        if CLIPTowers.isSingleTower(try modelOptions.resolve()) { return (imagePaths, textInputs, nil, nil) }
        // The writing rank opens the output first: a folder or read-only target fails before the model loads.
        let out = writes ? try Output.open(output) : nil
        // Only the towers the inputs need are converted: a text query never reads the image tower.
        let towers: Set<CLIP.Tower> = imagePaths.isEmpty ? [.text] : textInputs.isEmpty ? [.image] : [.image, .text]
        // In one process every weight is read before anything is written (the texts are
        // embedded first when there are images too, and the images' first batch reads the whole
        // image tower), so the weights are checked in that pass instead of by a scan at load (a
        // first embedding from OpenAI's fp16 .pt reads them once instead of twice).
        let check: WeightCheck = alone ? .whenRead : .atLoad
        let model = try modelOptions.load(towers: towers, precision: precisionOption.value, weightCheck: check)
        return (imagePaths, textInputs, model, out)
    }

    /// Embeds (or takes the `gathered` rows of) the inputs and writes them in the chosen format.
    private func write(
        _ imagePaths: [String], _ textInputs: [String], _ model: CLIP, to out: OutputFile,
        gathered: (images: Tensor, texts: Tensor)?
    ) throws {
        let embedImages = { (paths: [String], model: CLIP, emit: ([String], Tensor) throws -> Void) throws in
            if let gathered {
                try Self.emitRows(gathered.images, paths, emit)
            } else {
                try self.embedImages(paths, model, emit: emit)
            }
        }
        let embedTexts = { (texts: [String], model: CLIP) throws -> Tensor in
            try gathered?.texts ?? self.embedTexts(texts, model)
        }
        let width = model.configuration.embedDim
        // What precedes the first rows (NPY's header, JSON's opening) goes out with them: a
        // damaged weight found by the first batch as it reads it (`WeightCheck.whenRead`)
        // leaves standard output empty, as the scan at load did.
        var leadIn: Data?
        func emit(_ data: Data) throws {
            if let pending = leadIn {
                try out.write(pending)
                leadIn = nil
            }
            try out.write(data)
        }
        do {
            // With images too, the texts go first (all at once, as they are written anyway):
            // their tower's weights are then read, and checked, before any image row goes out.
            let earlyTexts = imagePaths.isEmpty || textInputs.isEmpty ? nil : try embedTexts(textInputs, model)
            switch format {
            case "npy":
                leadIn = NPY.header(shape: [imagePaths.isEmpty ? textInputs.count : imagePaths.count, width])
                try embedImages(imagePaths, model) { _, rows in try emit(NPY.littleEndianBytes(rows.scalars)) }
                if !textInputs.isEmpty {
                    try emit(NPY.littleEndianBytes(try embedTexts(textInputs, model).scalars))
                }
                try emit(Data())
            case "jsonl":
                try embedImages(imagePaths, model) { paths, rows in
                    try out.write(
                        zip(paths, JSONRows.rows(rows)).map {
                            "{\"image\": \(JSONRows.string($0)), \"embedding\": \($1)}\n"
                        }.joined())
                }
                if !textInputs.isEmpty {
                    let rows = JSONRows.rows(try earlyTexts ?? embedTexts(textInputs, model))
                    try out.write(
                        zip(textInputs, rows).map { "{\"text\": \(JSONRows.string($0)), \"embedding\": \($1)}\n" }
                            .joined())
                }
            default:
                leadIn = Data("{\"image_embeddings\": [".utf8)
                var first = true
                try embedImages(imagePaths, model) { _, rows in
                    for row in JSONRows.rows(rows) {
                        try emit(Data(((first ? "" : ", ") + row).utf8))
                        first = false
                    }
                }
                let textRows =
                    textInputs.isEmpty ? Tensor(zeros: [0, width]) : try earlyTexts ?? embedTexts(textInputs, model)
                try emit(Data(("], \"text_embeddings\": " + JSONRows.encode(textRows) + "}\n").utf8))
            }
            try out.commit()
            note(
                "embedded \(imagePaths.count) images and \(textInputs.count) texts; peak RSS \(PeakMemory.megabytes()) MB"
            )
        } catch let error as OutputError {
            throw fail(error, .io)
        } catch {
            out.discard()
            throw error
        }
    }

    /// Embeds images a batch at a time, handing each batch's paths and (B, E) rows to `emit`.
    func embedImages(_ paths: [String], _ model: CLIP, emit: ([String], Tensor) throws -> Void) throws {
        guard !paths.isEmpty else { return }
        let preprocessor = model.preprocessor
        let side = model.imageSize
        let bar = ProgressBar(label: "embedding images", total: Int64(paths.count), unit: .items)
        defer { bar.finish() }
        for start in stride(from: 0, to: paths.count, by: Self.batch) {
            let chunk = Array(paths[start..<min(start + Self.batch, paths.count)])
            var rows: Tensor
            do {
                let pixels = try preprocessor.preprocessBatch(contentsOf: chunk.map { URL(fileURLWithPath: $0) })
                rows = try model.encodeImage(Tensor(shape: [chunk.count, 3, side, side], scalars: pixels))
            } catch {
                throw fail(error, Self.isDamagedWeight(error) ? .model : .input)
            }
            if !raw { rows = Tensor.l2Normalized(rows) }
            try emit(chunk, rows)
            bar.update(done: Int64(start + chunk.count))
        }
    }

    func embedTexts(_ texts: [String], _ model: CLIP) throws -> Tensor {
        let context = model.configuration.text.contextLength
        for (i, row) in try model.tokenizer.encode(texts).enumerated() where row.count + 2 > context {
            warn("text \(i) is longer than \(context) tokens and was truncated")
        }
        EndOfTextWarning.check(texts, tokenizer: try model.tokenizer)
        do {
            // Batches of 32, as images: memory stays bounded, and `mpirun` shares of whole batches
            // give the same bits as one process.
            var scalars: [Float] = []
            for start in stride(from: 0, to: texts.count, by: Self.batch) {
                let chunk = Array(texts[start..<min(start + Self.batch, texts.count)])
                scalars += try model.encodeText(chunk, truncate: true).scalars
            }
            let rows = Tensor(shape: [texts.count, model.configuration.embedDim], scalars: scalars)
            return raw ? rows : Tensor.l2Normalized(rows)
        } catch {
            throw fail(error, Self.isDamagedWeight(error) ? .model : .input)
        }
    }

    /// A NaN or infinity met in a weight as it was read (``WeightCheck/whenRead``): the
    /// model's fault (exit 66, as when a scan at load finds it), not the input's.
    static func isDamagedWeight(_ error: any Error) -> Bool {
        (error as? CLIPModelError)?.isNonFiniteWeight == true
    }
}

/// Reads the list files `--images-from` and `--texts-from` take.
enum InputLists {
    static func read(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw fail("cannot read \(path)", hint: "Check the path.", .input)
        }
        do { return try UTF8Input.decode(data) } catch { throw fail("\(path): \(error.localizedDescription)", .input) }
    }

    /// Non-empty lines, trimmed of trailing whitespace.
    static func lines(_ path: String) throws -> [String] {
        try read(path).split(whereSeparator: \.isNewline).map { String($0).trimmingCharacters(in: .whitespaces) }.filter
        { !$0.isEmpty }
    }

    /// One JSON string per line, by the same rule as `clip tokenize` (``JSONLines``): one row
    /// per line, so an empty line is an error rather than a silently dropped row.
    static func jsonStrings(_ path: String) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw fail("cannot read \(path)", hint: "Check the path.", .input)
        }
        do { return try JSONLines.strings(data, source: path) } catch { throw fail(error, .input) }
    }
}

/// Compact JSON for (N, E) rows: shortest round-trip decimal for each Float.
enum JSONRows {
    /// Each row as a JSON array.
    static func rows(_ rows: Tensor) -> [String] {
        let n = rows.shape[0], e = rows.rank > 1 ? rows.shape[1] : 0
        let values = rows.scalars
        return (0..<n).map { r in
            "[" + values[(r * e)..<((r + 1) * e)].map { $0.isFinite ? "\($0)" : "null" }.joined(separator: ", ") + "]"
        }
    }

    /// A JSON string literal.
    static func string(_ text: String) -> String {
        guard
            let data = try? JSONSerialization.data(
                withJSONObject: text, options: [.fragmentsAllowed, .withoutEscapingSlashes])
        else { return "\"\"" }
        return String(decoding: data, as: UTF8.self)
    }

    static func encode(_ rows: Tensor) -> String {
        let n = rows.shape[0], e = rows.rank > 1 ? rows.shape[1] : 0
        let values = rows.scalars
        var out = "["
        for r in 0..<n {
            if r > 0 { out += ", " }
            out +=
                "[" + values[(r * e)..<((r + 1) * e)].map { $0.isFinite ? "\($0)" : "null" }.joined(separator: ", ")
                + "]"
        }
        return out + "]"
    }
}
