import CLIP
import Foundation

/// How `clip` and `clip-index` turn `--model` into a file: a path that exists as it is, a model
/// name (`ViT-B/32`, `hf:owner/name`; `clip models`) through the library's
/// ``ModelStore/resolve(_:progress:)`` (the rule `CLIP.load` follows), downloading into the cache
/// with a progress bar unless offline; a failure is one `error:` line and exit 66.
package enum ModelResolution {
    /// The file or folder `model` names; `offline` (or `CLIP_OFFLINE=1`) never downloads.
    package static func resolve(_ model: String, offline: Bool) throws -> URL {
        var store = ModelStore.fromEnvironment()
        if offline { store.offline = true }
        let bars = DownloadBars()
        defer { bars.finish() }
        let resolved: ResolvedModel
        do {
            resolved = try store.resolve(model) { bars.update($0) }
        } catch {
            bars.finish()
            throw fail(error, .model)
        }
        if let reference = resolved.reference {
            let verb = resolved.downloaded ? "was fetched into" : "is cached at"
            note("\(reference.displayName) \(verb) \(resolved.url.path)")
        }
        return resolved.url
    }

    /// Downloads `reference` into `store` with a progress bar.
    package static func fetch(_ reference: ModelReference, from store: ModelStore) throws -> URL {
        let bars = DownloadBars()
        defer { bars.finish() }
        do {
            return try store.fetch(reference) { bars.update($0) }
        } catch {
            bars.finish()
            throw fail(error, .model)
        }
    }
}

/// One progress bar per downloaded file.
final class DownloadBars: @unchecked Sendable {
    private let lock = NSLock()
    private var bar: ProgressBar?
    private var file = ""

    func update(_ p: DownloadProgress) {
        lock.lock()
        defer { lock.unlock() }
        if p.fileName != file || bar == nil {
            bar?.finish()
            file = p.fileName
            // Downloads show at once: they are slow by nature and the user should see them start.
            bar = ProgressBar(label: p.fileName, total: p.bytesExpected, unit: .bytes, delay: 0)
            bar?.setBaseline(p.bytesResumed)
        }
        bar?.update(done: p.bytesReceived, total: p.bytesExpected)
    }

    func finish() {
        lock.lock()
        defer { lock.unlock() }
        bar?.finish()
        bar = nil
    }
}
