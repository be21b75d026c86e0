import CLIP
import CLIPIndex
import CLISupport
import Foundation

/// How the index commands find and load a model: the name stored in the index is what the user
/// passed, a model name (`ViT-B/32`) or the absolute path of a checkpoint.
enum IndexModel {
    /// The default, as for every `clip` command that takes a model.
    static let defaultName = "ViT-B/32"

    /// The name stored in the index for `--model`: a path that exists becomes absolute; a model
    /// name is kept as spelled in `clip models`.
    static func storedName(_ model: String) -> String { IndexedModel.storedName(model) }

    /// The file or folder `model` names, fetching a named model into the cache if needed (with
    /// a progress bar), as every `clip` command's `--model` does.
    static func resolve(_ model: String, offline: Bool) throws -> URL {
        try ModelResolution.resolve(model, offline: offline)
    }

    /// The whole model.
    static func load(_ model: String, offline: Bool) throws -> CLIP {
        let url = try resolve(model, offline: offline)
        let started = Date()
        do {
            let clip = try CLIP.load(url)
            note("loaded \(clip.configuration.architectureName) from \(url.path) in \(elapsed(started)) s")
            return clip
        } catch { throw fail(error, .model) }
    }

    /// Only the towers a query needs (text terms: the text tower; image terms that are not in
    /// the index: the image tower): a tower that is not needed is never read, and the weights of
    /// those loaded are checked for NaN and infinity as the query reads them
    /// (`WeightCheck.whenRead`: ``encodeTexts(_:_:)`` and ``encodeImages(_:_:)`` report a
    /// damaged weight).
    static func loadTowers(_ towers: Set<CLIP.Tower>, of model: String, offline: Bool) throws -> CLIP {
        let url = try resolve(model, offline: offline)
        let started = Date()
        do {
            let tower = try CLIP.load(url, towers: towers, weightCheck: .whenRead)
            let what = towers.count == 2 ? "both towers" : towers.contains(.text) ? "the text tower" : "the image tower"
            note("loaded \(what) of \(url.path) in \(elapsed(started)) s")
            return tower
        } catch { throw fail(error, .model) }
    }

    /// The query texts' embeddings (not normalised: `SearchQuery` does that) from a model loaded by ``loadTowers(_:of:offline:)``: a
    /// NaN or infinity met in a weight is the model's fault (exit 66, as a scan at load reports it).
    static func encodeTexts(_ model: CLIP, _ texts: [String]) throws -> [[Float]] {
        guard !texts.isEmpty else { return [] }
        do {
            return rows(try model.encodeText(texts, truncate: true))
        } catch let error as CLIPModelError where error.isNonFiniteWeight {
            throw fail(error, .model)
        }
    }

    /// The query images' unit embeddings, as `clip index` computes them: an unreadable image is
    /// the input's fault (exit 65), a damaged weight the model's (exit 66).
    static func encodeImages(_ model: CLIP, _ urls: [URL]) throws -> [[Float]] {
        try zip(urls, ImageEmbedder(model: model).embed(urls)).map { url, result in
            switch result {
            case .success(let vector): return vector
            case .failure(let error as CLIPModelError) where error.isNonFiniteWeight: throw fail(error, .model)
            case .failure(let error):
                throw fail("\(url.path): \((error as? LocalizedError)?.errorDescription ?? "\(error)")", .input)
            }
        }
    }

    /// The rows of an (N, E) tensor.
    static func rows(_ t: Tensor) -> [[Float]] {
        let n = t.shape[0], e = t.shape[1], s = t.scalars
        return (0..<n).map { Array(s[($0 * e)..<(($0 + 1) * e)]) }
    }

    private static func elapsed(_ start: Date) -> String { String(format: "%.2f", Date().timeIntervalSince(start)) }
}
