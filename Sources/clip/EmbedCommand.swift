import ArgumentParser
import CLIP
import Foundation

/// `clip embed`: image and text embeddings as JSON or NPY.
struct EmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Embed images and texts with a CLIP model.",
        discussion: """
        JSON output is an object {"image_embeddings": [[...]], "text_embeddings": [[...]]}, rows in
        input order (--image arguments, then --images-from lines; --text arguments, then
        --texts-from lines), L2-normalised unless --raw. NPY output holds one (N, E) float32 array,
        so it takes images or texts, not both.

        Examples:
          clip embed --model ViT-B-32.pt --image cat.jpg --text "a photo of a cat"
          clip embed --model ViT-B-32.pt --images-from list.txt --format npy -o images.npy
        """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(name: .customLong("image"), help: "An image file (repeatable).")
    var images: [String] = []

    @Option(name: .customLong("text"), help: "A text (repeatable).")
    var texts: [String] = []

    @Option(help: "A file with one image path per line.")
    var imagesFrom: String?

    @Option(help: "A JSON Lines file with one JSON string per line.")
    var textsFrom: String?

    @Flag(help: "Output the raw projections instead of L2-normalised embeddings.")
    var raw = false

    @Option(help: "Output format: json or npy.")
    var format: String = "json"

    @Option(name: [.short, .long], help: "Output file (default: standard output).")
    var output: String?

    func validate() throws {
        guard format == "json" || format == "npy" else { throw ValidationError("--format must be json or npy, got '\(format)'") }
    }

    func run() throws {
        var imagePaths = images
        if let imagesFrom { imagePaths += try InputLists.lines(imagesFrom) }
        var textInputs = texts
        if let textsFrom { textInputs += try InputLists.jsonStrings(textsFrom) }
        if imagePaths.isEmpty && textInputs.isEmpty {
            throw fail("nothing to embed", hint: "Give --image, --text, --images-from or --texts-from.", .usage)
        }
        if format == "npy" && !imagePaths.isEmpty && !textInputs.isEmpty {
            throw fail("--format npy writes one array: embed images and texts in separate calls", .usage)
        }
        let model = try modelOptions.load()
        var imageRows = Tensor(zeros: [0, model.configuration.embedDim])
        var textRows = imageRows
        if !imagePaths.isEmpty {
            do { imageRows = try model.encodeImages(contentsOf: imagePaths.map { URL(fileURLWithPath: $0) }) } catch { throw fail(error, .input) }
        }
        if !textInputs.isEmpty {
            let context = model.configuration.text.contextLength
            for (i, text) in textInputs.enumerated() where model.tokenizer.encode(text).count + 2 > context {
                warn("text \(i) is longer than \(context) tokens and was truncated")
            }
            do { textRows = try model.encodeTexts(textInputs, truncate: true) } catch { throw fail(error, .input) }
        }
        if !raw {
            imageRows = Tensor.l2Normalized(imageRows)
            textRows = Tensor.l2Normalized(textRows)
        }
        if format == "npy" {
            let rows = imagePaths.isEmpty ? textRows : imageRows
            try writeOutput(NPY.float32(rows.scalars, shape: rows.shape), to: output)
        } else {
            let json = "{\"image_embeddings\": " + JSONRows.encode(imageRows) + ", \"text_embeddings\": " + JSONRows.encode(textRows) + "}\n"
            try writeOutput(Data(json.utf8), to: output)
        }
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
        try read(path).split(whereSeparator: \.isNewline).map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// One JSON string per non-empty line.
    static func jsonStrings(_ path: String) throws -> [String] {
        try read(path).split(whereSeparator: \.isNewline).enumerated().compactMap { index, line in
            if line.allSatisfy(\.isWhitespace) { return nil }
            guard let value = try? JSONSerialization.jsonObject(with: Data(line.utf8), options: [.fragmentsAllowed]) as? String else {
                throw fail("\(path) line \(index + 1) is not a JSON string", hint: "Write one JSON string per line, e.g. \"a photo of a cat\".", .input)
            }
            return value
        }
    }
}

/// Compact JSON for (N, E) rows: shortest round-trip decimal for each Float.
enum JSONRows {
    static func encode(_ rows: Tensor) -> String {
        let n = rows.shape[0], e = rows.rank > 1 ? rows.shape[1] : 0
        let values = rows.scalars
        var out = "["
        for r in 0..<n {
            if r > 0 { out += ", " }
            out += "[" + values[(r * e)..<((r + 1) * e)].map { $0.isFinite ? "\($0)" : "null" }.joined(separator: ", ") + "]"
        }
        return out + "]"
    }
}
