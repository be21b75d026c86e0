import CLIPHub
import Foundation
import Testing

/// `ModelStore.resolve`: paths win, names go through the cache, nothing downloads offline.
struct ModelResolutionTests {
    /// A store on a fresh temporary cache that may not download.
    static func offlineStore() throws -> ModelStore {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("resolve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return ModelStore(cacheDirectory: folder, offline: true)
    }

    @Test func existingPathIsUsedAsItIs() throws {
        let store = try Self.offlineStore()
        // A file named like a model: the path must win over the name.
        let file = store.cacheDirectory.appendingPathComponent("RN50")
        try Data([1]).write(to: file)
        let resolved = try store.resolve(file.path)
        #expect(resolved == ResolvedModel(url: file, reference: nil, downloaded: false))
    }

    @Test func cachedNameResolvesWithoutDownloading() throws {
        let store = try Self.offlineStore()
        let reference = try #require(ModelReference.named("ViT-B/32"))
        let cached = store.localURL(for: reference)
        try FileManager.default.createDirectory(
            at: cached.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data([1]).write(to: cached)
        for spelling in ["ViT-B/32", "ViT-B-32", "ViT-B-32/openai"] {
            #expect(
                try store.resolve(spelling) == ResolvedModel(url: cached, reference: reference, downloaded: false),
                "\(spelling)")
        }
    }

    static let failures: [(String, HubError)] = [
        ("RN51", .modelNotFound("RN51", looksLikePath: false)),
        ("weights/missing.pt", .modelNotFound("weights/missing.pt", looksLikePath: true)),
        ("missing.safetensors", .modelNotFound("missing.safetensors", looksLikePath: true)),
        ("hf:a/b/c", .modelNotFound("hf:a/b/c", looksLikePath: false)),
        ("", .modelNotFound("", looksLikePath: false)),
    ]

    @Test(arguments: failures)
    func unknownNamesAndMissingPathsAreTypedErrors(_ text: String, _ expected: HubError) throws {
        let store = try Self.offlineStore()
        #expect(throws: expected) { _ = try store.resolve(text) }
        #expect(expected.recoverySuggestion?.contains("clip models") == true)
    }

    @Test func uncachedNameOfflineNamesTheURLAndDestination() throws {
        let store = try Self.offlineStore()
        let reference = try #require(ModelReference.named("RN50"))
        let file = try #require(store.remoteFiles(for: reference).first)
        #expect(throws: HubError.offline(url: file.url.absoluteString, destination: file.destination.path)) {
            _ = try store.resolve("RN50")
        }
    }
}
