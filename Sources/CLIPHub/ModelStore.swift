import Foundation

/// The model cache: where named models live on disk and how they get there.
///
/// The folder is `$CLIP_CACHE`, else `$XDG_CACHE_HOME/swift-clip`, else `~/.cache/swift-clip`.
/// OpenAI files go to `openai/<file>.pt`; Hugging Face repos to `huggingface/<owner>/<name>/`.
/// `CLIP_MODEL_MIRROR=https://mirror.example/prefix` replaces the scheme and host of every
/// download URL (the path is kept); `CLIP_OFFLINE=1` forbids downloads.
///
/// ```swift
/// let store = ModelStore.fromEnvironment()
/// let url = try store.fetch(ModelReference.named("ViT-B/32")!)   // downloads once, then cached
/// let model = try CLIP.load(url)
/// ```
public struct ModelStore: Sendable {
    /// The cache folder.
    public var cacheDirectory: URL
    /// A replacement for the scheme and host (and an optional path prefix) of download URLs.
    public var mirror: String?
    /// When true, a model missing from the cache is an error instead of a download.
    public var offline: Bool
    /// Seconds without data after which a download is abandoned.
    public var stallTimeout: TimeInterval

    /// A store on an explicit folder.
    public init(cacheDirectory: URL, mirror: String? = nil, offline: Bool = false, stallTimeout: TimeInterval = 30) {
        self.cacheDirectory = cacheDirectory
        self.mirror = mirror
        self.offline = offline
        self.stallTimeout = stallTimeout
    }

    /// The store the environment describes (`CLIP_CACHE`, `XDG_CACHE_HOME`, `HOME`,
    /// `CLIP_MODEL_MIRROR`, `CLIP_OFFLINE`).
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment)
        -> ModelStore
    {
        let offlineValue = environment["CLIP_OFFLINE"]?.lowercased() ?? ""
        let mirror = environment["CLIP_MODEL_MIRROR"].flatMap { $0.isEmpty ? nil : $0 }
        return ModelStore(
            cacheDirectory: cacheDirectory(environment), mirror: mirror,
            offline: ["1", "true", "yes", "on"].contains(offlineValue))
    }

    /// The cache folder for an environment.
    public static func cacheDirectory(_ environment: [String: String]) -> URL {
        if let path = environment["CLIP_CACHE"], !path.isEmpty { return URL(fileURLWithPath: path, isDirectory: true) }
        if let path = environment["XDG_CACHE_HOME"], !path.isEmpty {
            return URL(fileURLWithPath: path, isDirectory: true).appendingPathComponent("swift-clip", isDirectory: true)
        }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return URL(fileURLWithPath: home, isDirectory: true).appendingPathComponent(
            ".cache/swift-clip", isDirectory: true)
    }

    /// One file to fetch: where from, where to, and its published digest if any.
    public struct RemoteFile: Sendable, Hashable {
        /// The download URL (after ``ModelStore/mirror``).
        public var url: URL
        /// Where the file lives in the cache.
        public var destination: URL
        /// The published SHA-256 (OpenAI files), or nil (Hugging Face files).
        public var sha256: String?
    }

    /// What `fetch` returns for `reference`: a `.pt` file, or a Hugging Face folder.
    public func localURL(for reference: ModelReference) -> URL {
        switch reference {
        case .openAI(let model):
            cacheDirectory.appendingPathComponent("openai").appendingPathComponent(model.fileName)
        case .huggingFace(let owner, let name):
            cacheDirectory.appendingPathComponent("huggingface").appendingPathComponent(owner).appendingPathComponent(
                name, isDirectory: true)
        }
    }

    /// The files `reference` consists of, with mirrored URLs.
    public func remoteFiles(for reference: ModelReference) -> [RemoteFile] {
        switch reference {
        case .openAI(let model):
            return [RemoteFile(url: mirrored(model.url), destination: localURL(for: reference), sha256: model.sha256)]
        case .huggingFace(let owner, let name):
            return ModelReference.huggingFaceFiles.map { file in
                RemoteFile(
                    url: mirrored("https://huggingface.co/\(owner)/\(name)/resolve/main/\(file)"),
                    destination: localURL(for: reference).appendingPathComponent(file), sha256: nil)
            }
        }
    }

    /// Whether every file of `reference` is in the cache.
    public func isCached(_ reference: ModelReference) -> Bool {
        remoteFiles(for: reference).allSatisfy { FileManager.default.fileExists(atPath: $0.destination.path) }
    }

    /// Returns the cached model, downloading missing files first (unless ``offline``).
    public func fetch(_ reference: ModelReference, progress: (@Sendable (DownloadProgress) -> Void)? = nil) throws
        -> URL
    {
        for file in remoteFiles(for: reference) where !FileManager.default.fileExists(atPath: file.destination.path) {
            if offline { throw HubError.offline(url: file.url.absoluteString, destination: file.destination.path) }
            _ = try Downloader.download(
                from: file.url, to: file.destination, sha256: file.sha256,
                stallTimeout: stallTimeout, progress: progress)
        }
        return localURL(for: reference)
    }

    /// `original` with its scheme and host replaced by ``mirror``.
    func mirrored(_ original: String) -> URL {
        let fallback = URL(string: original) ?? URL(fileURLWithPath: "/")
        guard let mirror, let components = URLComponents(string: original) else { return fallback }
        var base = mirror
        while base.hasSuffix("/") { base.removeLast() }
        return URL(string: base + components.percentEncodedPath) ?? fallback
    }
}
