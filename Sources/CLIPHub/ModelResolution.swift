import Foundation

// How a model argument becomes a file: the rule openai/clip's `clip.load(name)` applies
// (an existing path wins, else a known name is fetched into the cache), shared by `CLIP.load`
// and every `clip --model` option.

/// What ``ModelStore/resolve(_:progress:)`` found for a path or a name.
///
/// ```swift
/// let resolved = try ModelStore.fromEnvironment().resolve("RN50")
/// if let name = resolved.reference?.displayName { print(name, resolved.downloaded ? "downloaded" : "cached") }
/// let model = try CLIP.load(resolved.url)
/// ```
public struct ResolvedModel: Sendable, Hashable {
    /// The checkpoint file or Hugging Face folder to load.
    public var url: URL
    /// The model name it came from; nil when the argument was an existing path.
    public var reference: ModelReference?
    /// Whether files were downloaded (false: a path, or a name already in the cache).
    public var downloaded: Bool

    public init(url: URL, reference: ModelReference?, downloaded: Bool) {
        self.url = url
        self.reference = reference
        self.downloaded = downloaded
    }
}

extension ModelStore {
    /// Turns a path or model name into a local file or folder.
    ///
    /// An existing file or folder is used as it is. Otherwise `pathOrName` must be a model name
    /// (`ViT-B/32`, `ViT-B-32`, `RN50x4`, `ViT-B-32/openai`, `hf:owner/name`): a cached model is
    /// used from the cache, a missing one is downloaded first unless ``offline``.
    ///
    /// ```swift
    /// let resolved = try ModelStore.fromEnvironment().resolve("ViT-B/32")
    /// print(resolved.url.path)   // ~/.cache/swift-clip/openai/ViT-B-32.pt
    /// ```
    ///
    /// - Throws: ``HubError/modelNotFound(_:looksLikePath:)`` for a missing path or an unknown
    ///   name, ``HubError/offline(url:destination:)`` when the model is not cached and downloads
    ///   are off, and the download errors of ``fetch(_:progress:)``.
    public func resolve(_ pathOrName: String, progress: (@Sendable (DownloadProgress) -> Void)? = nil) throws
        -> ResolvedModel
    {
        // An empty argument would name the working directory; it is a mistake, not a folder.
        guard !pathOrName.isEmpty else { throw HubError.modelNotFound(pathOrName, looksLikePath: false) }
        let url = URL(fileURLWithPath: pathOrName)
        if FileManager.default.fileExists(atPath: url.path) {
            return ResolvedModel(url: url, reference: nil, downloaded: false)
        }
        guard let reference = ModelReference.named(pathOrName) else {
            let looksLikePath =
                pathOrName.contains("/") && !pathOrName.hasPrefix("hf:") || pathOrName.hasSuffix(".pt")
                || pathOrName.hasSuffix(".safetensors")
            throw HubError.modelNotFound(pathOrName, looksLikePath: looksLikePath)
        }
        if isCached(reference) {
            return ResolvedModel(url: localURL(for: reference), reference: reference, downloaded: false)
        }
        return ResolvedModel(url: try fetch(reference, progress: progress), reference: reference, downloaded: true)
    }
}
