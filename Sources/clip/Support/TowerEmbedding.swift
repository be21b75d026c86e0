import CLIP
import CLISupport
import Foundation

// `clip embed` on a diffusers single-tower folder: SDXL's text_encoder_2 gives its pooled
// `text_embeds`, IP-Adapter's image_encoder its `image_embeds` (both through the projection).
// Symbols: N rows, E embedding width.

extension EmbedCommand {
    /// Embeds with the one tower the folder holds; the other modality is exit 66.
    func runOnTower(_ imagePaths: [String], _ textInputs: [String]) throws {
        if precisionOption.value == .int8 {
            note("--precision int8 applies to CLIP models: this single tower runs in fp32")
        }
        let towers: CLIPTowers
        do {
            let activation = modelOptions.loading.activation.flatMap(Activation.init(rawValue:))
            towers = try CLIPTowers.load(try modelOptions.resolve(), activation: activation)
        } catch {
            throw fail(error, .model)
        }
        var imageRows: Tensor?, textRows: Tensor?
        if !imagePaths.isEmpty {
            let tower: VisionTower
            do { tower = try towers.visionTower() } catch { throw fail(error, .model) }
            guard tower.projection != nil else {
                throw fail(
                    "\(towers.kind.rawValue) has no projection, so no embedding",
                    hint: "Use clip hidden-states --pooled.", .model)
            }
            do {
                let pixels = try CLIPPreprocessor(size: tower.imageSize).preprocessBatch(
                    contentsOf: imagePaths.map { URL(fileURLWithPath: $0) })
                let x = Tensor(shape: [imagePaths.count, 3, tower.imageSize, tower.imageSize], scalars: pixels)
                imageRows = try tower.projectedFeatures(x)
            } catch {
                throw fail(error, .input)
            }
        }
        if !textInputs.isEmpty {
            let tower: TextTower
            do { tower = try towers.textTower() } catch { throw fail(error, .model) }
            guard tower.projection != nil else {
                throw fail(
                    "\(towers.kind.rawValue) has no text_projection, so no embedding",
                    hint: "Use clip hidden-states --pooled for its pooled output.", .model)
            }
            do {
                let rows = try PromptTokens(
                    textInputs, tokenizer: towers.tokenizer, contextLength: tower.configuration.contextLength,
                    padding: .zero)
                for i in rows.truncated {
                    warn("text \(i) is longer than \(tower.configuration.contextLength) tokens and was truncated")
                }
                textRows = try tower.projectedFeatures(rows.rows)
            } catch {
                throw fail(error, .input)
            }
        }
        if !raw {
            imageRows = imageRows.map { Tensor.l2Normalized($0) }
            textRows = textRows.map { Tensor.l2Normalized($0) }
        }
        var text = ""
        switch format {
        case "npy":
            guard let rows = imageRows ?? textRows else { return }
            try Output.write(NPY.float32(rows.scalars, shape: rows.shape), to: output)
            return
        case "jsonl":
            if let imageRows {
                for (path, row) in zip(imagePaths, JSONRows.rows(imageRows)) {
                    text += "{\"image\": \(JSONRows.string(path)), \"embedding\": \(row)}\n"
                }
            }
            if let textRows {
                for (t, row) in zip(textInputs, JSONRows.rows(textRows)) {
                    text += "{\"text\": \(JSONRows.string(t)), \"embedding\": \(row)}\n"
                }
            }
        default:
            text =
                "{\"image_embeddings\": \(imageRows.map(JSONRows.encode) ?? "[]"), \"text_embeddings\": \(textRows.map(JSONRows.encode) ?? "[]")}\n"
        }
        try Output.write(Data(text.utf8), to: output)
    }
}
