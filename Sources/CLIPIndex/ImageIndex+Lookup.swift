import CLIPHub
import Foundation
import GRDB

// Symbols: E embedding width.

extension ImageIndex {
    /// Whether `path` (absolute, as `clip index` stored it) is in the index.
    ///
    /// ```swift
    /// if try index.contains(path: "/photos/a.jpg") { ... }
    /// ```
    public func contains(path: String) throws -> Bool {
        try database.read {
            try Int.fetchOne($0, sql: "SELECT 1 FROM images WHERE path = ?", arguments: [path]) != nil
        }
    }

    /// The stored (unit) embedding of `path`, E floats; nil when the path is not indexed.
    /// Vectors stored as float16 come back widened to float32.
    public func vector(path: String) throws -> [Float]? {
        try database.read { db in
            guard let model = try Self.model(db),
                let bytes = try Data.fetchOne(
                    db,
                    sql: "SELECT v.vector FROM images i JOIN vectors v ON v.id = i.vector_id WHERE i.path = ?",
                    arguments: [path])
            else { return nil }
            return bytes.withUnsafeBytes { model.vectorType.decode($0) }
        }
    }

    /// The stored (unit) embedding of a file whose bytes hash to `hash` (``ContentHash``), under
    /// whatever path it was indexed: E floats, nil when no indexed file has that content. This
    /// is what an image query that is already in the library reuses instead of loading a model.
    public func vector(hash: String) throws -> [Float]? {
        try database.read { db in
            guard let model = try Self.model(db),
                let bytes = try Data.fetchOne(db, sql: "SELECT vector FROM vectors WHERE hash = ?", arguments: [hash])
            else { return nil }
            return bytes.withUnsafeBytes { model.vectorType.decode($0) }
        }
    }
}

extension IndexedModel {
    /// The name an index records for a `--model` value: a path that exists becomes absolute (links
    /// resolved); a model name is kept as `clip models` spells it (`vit-b/32` → `ViT-B/32`).
    /// Compare these, not the raw option values, to tell whether two spellings name one model.
    public static func storedName(_ model: String) -> String {
        if FileManager.default.fileExists(atPath: model) {
            return URL(fileURLWithPath: model).standardizedFileURL.resolvingSymlinksInPath().path
        }
        return ModelReference.named(model)?.displayName ?? model
    }
}
