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

    /// Only the text tower (a text-only search): the image tower's weights are never read, and
    /// the text tower's are checked for NaN and infinity as the query reads them
    /// (`WeightCheck.whenRead`: ``encodeQuery(_:_:)`` reports a damaged weight).
    static func loadTextTower(_ model: String, offline: Bool) throws -> CLIP {
        let url = try resolve(model, offline: offline)
        let started = Date()
        do {
            let tower = try CLIP.load(url, towers: [.text], weightCheck: .whenRead)
            note("loaded the text tower of \(url.path) in \(elapsed(started)) s")
            return tower
        } catch { throw fail(error, .model) }
    }

    /// The query texts' embeddings from a text tower loaded by ``loadTextTower(_:offline:)``: a
    /// NaN or infinity met in a weight is the model's fault (exit 66, as a scan at load reports it).
    static func encodeQuery(_ tower: CLIP, _ texts: [String]) throws -> Tensor {
        do {
            return try tower.encodeText(texts, truncate: true)
        } catch let error as CLIPModelError where error.isNonFiniteWeight {
            throw fail(error, .model)
        }
    }

    private static func elapsed(_ start: Date) -> String { String(format: "%.2f", Date().timeIntervalSince(start)) }
}
