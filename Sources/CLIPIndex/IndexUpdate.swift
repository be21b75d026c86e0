import Foundation

/// What one indexing run did; `clip index` prints it as one JSON line.
public struct IndexSummary: Sendable, Equatable, Codable {
    /// New paths (new content, or a duplicate of content already indexed).
    public var added = 0
    /// Paths whose size or mtime changed (embedded again unless the new content is known).
    public var updated = 0
    /// Paths that replace a vanished path with the same content (not embedded again).
    public var renamed = 0
    /// Paths that vanished.
    public var removed = 0
    /// Paths whose size and mtime did not change.
    public var unchanged = 0
    /// Images that could not be read (named in ``IndexEvent/failed(path:reason:)``).
    public var failed = 0
    /// Images run through the model.
    public var embedded = 0
    public var seconds = 0.0

    public init() {}

    /// `{"added":N,...,"seconds":S}` in this field order.
    public var jsonLine: String {
        "{\"added\":\(added),\"updated\":\(updated),\"renamed\":\(renamed),\"removed\":\(removed),"
            + "\"unchanged\":\(unchanged),\"failed\":\(failed),\"embedded\":\(embedded),"
            + "\"seconds\":\(String(format: "%.3f", seconds))}"
    }
}

/// What an indexing run reports while it works.
public enum IndexEvent: Sendable {
    /// `done` of `total` files looked at.
    case progress(done: Int, total: Int)
    /// An image that could not be read, with the reason; the run goes on.
    case failed(path: String, reason: String)
}

/// Options of an indexing run.
public struct IndexOptions: Sendable {
    public var scan = ScanOptions()
    /// Images embedded (and committed) per transaction: a crash loses at most one batch.
    public var batchSize = 32

    public init(scan: ScanOptions = ScanOptions(), batchSize: Int = 32) {
        self.scan = scan
        self.batchSize = batchSize
    }
}

extension ImageIndex {
    /// Brings the index up to date with the image files under `roots` (folders or files).
    ///
    /// Unchanged files (same path, size and mtime) are skipped; changed and new files are hashed,
    /// and only content the index has never seen is embedded, `batchSize` images at a time, each
    /// batch committed in its own transaction. Paths under `roots` that no longer exist are
    /// removed; a vanished path whose content reappears under a new path counts as renamed.
    /// Pixels are held for one batch only.
    ///
    /// - Parameters:
    ///   - embed: unit embeddings for a batch of files, one result per file (``ImageEmbedder``).
    ///     Called only when something must be embedded, so a caller can load the model lazily.
    ///   - events: progress and per-file failures, for a progress bar and error lines.
    public func update(
        roots: [URL], options: IndexOptions = IndexOptions(),
        embed: ([URL]) throws -> [Result<[Float], any Error>], events: (IndexEvent) -> Void = { _ in }
    ) throws -> IndexSummary {
        let started = Date()
        var summary = IndexSummary()
        let roots = roots.map { $0.standardizedFileURL }
        var known: [String: Stored] = [:]
        var failures: [String: (size: Int64, mtime: Double, reason: String)] = [:]
        for root in roots {
            known.merge(try stored(under: root.path)) { a, _ in a }
            failures.merge(try self.failures(under: root.path)) { a, _ in a }
        }
        let files = ImageFileWalker.images(under: roots, options: options.scan)
        var seen = Set<String>()
        // Paths new to the index that reuse a stored vector, by hash: renames or duplicates,
        // told apart once we know which paths vanished.
        var linkedNew: [String: Int] = [:]
        var newPaths = 0
        var pendingLinks: [Entry] = []
        var pendingEmbeds: [(file: FoundFile, hash: String, isNew: Bool)] = []
        var hashesInFlight = Set<String>()

        func flush() throws {
            var entries: [Entry] = []
            if !pendingEmbeds.isEmpty {
                let results = try embed(pendingEmbeds.map { URL(fileURLWithPath: $0.file.path) })
                for (item, result) in zip(pendingEmbeds, results) {
                    switch result {
                    case .success(let vector):
                        summary.embedded += 1
                        entries.append(
                            Entry(
                                path: item.file.path, size: item.file.size, mtime: item.file.mtime, hash: item.hash,
                                vector: vector))
                        if item.isNew { newPaths += 1 } else { summary.updated += 1 }
                    case .failure(let error):
                        let reason = (error as? LocalizedError)?.errorDescription ?? "\(error)"
                        summary.failed += 1
                        events(.failed(path: item.file.path, reason: reason))
                        try recordFailure(
                            path: item.file.path, size: item.file.size, mtime: item.file.mtime, reason: reason)
                    }
                }
            }
            // Links after the vectors they may point to (a duplicate within this batch).
            entries += pendingLinks
            for entry in try add(entries) where entry.vector == nil {
                // Its twin in this batch failed to decode: so does this copy.
                summary.failed += 1
                events(.failed(path: entry.path, reason: "same content as an image that could not be read"))
                if known[entry.path] == nil { linkedNew[entry.hash, default: 1] -= 1 } else { summary.updated -= 1 }
            }
            pendingEmbeds.removeAll(keepingCapacity: true)
            pendingLinks.removeAll(keepingCapacity: true)
            hashesInFlight.removeAll(keepingCapacity: true)
        }

        for (done, file) in files.enumerated() {
            seen.insert(file.path)
            defer { events(.progress(done: done + 1, total: files.count)) }
            let old = known[file.path]
            if let old, old.size == file.size, old.mtime == file.mtime {
                summary.unchanged += 1
                continue
            }
            if let failure = failures[file.path], failure.size == file.size, failure.mtime == file.mtime {
                summary.failed += 1
                events(.failed(path: file.path, reason: failure.reason + " (unchanged since the last run)"))
                continue
            }
            let hash: String
            do { hash = try ContentHash.ofFile(file.path) } catch {
                summary.failed += 1
                events(.failed(path: file.path, reason: "cannot read: \(error.localizedDescription)"))
                continue
            }
            let entry = Entry(path: file.path, size: file.size, mtime: file.mtime, hash: hash, vector: nil)
            let isKnownContent = try hashesInFlight.contains(hash) || hasVector(hash: hash)
            if isKnownContent {
                pendingLinks.append(entry)
                if old == nil { linkedNew[hash, default: 0] += 1 } else { summary.updated += 1 }
            } else {
                pendingEmbeds.append((file, hash, old == nil))
                hashesInFlight.insert(hash)
            }
            if pendingEmbeds.count >= options.batchSize || pendingLinks.count >= 256 { try flush() }
        }
        try flush()

        // Vanished paths: renamed when a new path took their content, removed otherwise.
        let vanished = known.filter { !seen.contains($0.key) }.sorted { $0.key < $1.key }
        for (_, stored) in vanished {
            if let n = linkedNew[stored.hash], n > 0 {
                linkedNew[stored.hash] = n - 1
                summary.renamed += 1
            } else {
                summary.removed += 1
            }
        }
        try remove(vanished.map(\.key) + failures.keys.filter { !seen.contains($0) })
        summary.added = newPaths + linkedNew.values.reduce(0) { $0 + max(0, $1) }
        summary.seconds = Date().timeIntervalSince(started)
        return summary
    }
}
