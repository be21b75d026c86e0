import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Keeping `DB.thumbnails` bounded: what goes, and what is never touched.
extension ThumbnailCache {
    /// What ``prune(indexed:sparing:now:)`` did.
    struct PruneReport: Equatable, Sendable {
        /// Thumbnails left, and their bytes.
        var kept = 0
        var keptBytes: Int64 = 0
        /// Thumbnails of contents no longer in the index.
        var orphans = 0
        /// Thumbnails removed, least recently used first, to get under the limit.
        var evicted = 0
        /// Temporary files of writes that never finished (a killed server), older than an hour.
        var temporaries = 0
    }

    /// Removes the thumbnails whose content hash is not in `indexed` (when given), then, while
    /// the rest take more than ``limit`` bytes, the least recently used ones until they take at
    /// most 90 % of it; `sparing` (a file name, the thumbnail just written) is kept in any case,
    /// as file times are too coarse to tell it from others written in the same few milliseconds.
    ///
    /// Only regular files named `HASH-SIZE.jpg` (HASH 64 lowercase hex digits, SIZE one of
    /// ``sizes``) inside a real folder named after HASH's first two digits count as thumbnails;
    /// `.HASH-SIZE.jpg.*.tmp` files an hour old are leftovers of writes. Anything else (other
    /// names, folders, symbolic links, links to folders) is not looked into and not removed.
    /// Returns nil when the cache folder is missing or is not a real folder.
    @discardableResult
    func prune(indexed: Set<String>?, sparing: String? = nil, now: Date = Date()) -> PruneReport? {
        guard let root = ContainedFolder(folder, create: false) else { return nil }
        var report = PruneReport()
        var shards: [String: ContainedFolder] = [:]
        var files: [(shard: String, name: String, bytes: Int64, time: Double)] = []
        let stale = now.timeIntervalSince1970 - 3600
        for shardName in root.entries() where Self.isShardName(shardName) {
            guard let shard = root.subfolder(shardName, create: false) else { continue }
            shards[shardName] = shard
            for name in shard.entries() {
                guard let info = shard.status(name), info.st_mode & S_IFMT == S_IFREG else { continue }
                let time = ContainedFolder.modificationTime(info)
                if let hash = Self.thumbnailHash(name, shard: shardName) {
                    if let indexed, !indexed.contains(hash) {
                        if shard.removeFile(name) { report.orphans += 1 }
                    } else {
                        files.append((shardName, name, Int64(info.st_size), time))
                    }
                } else if Self.isTemporaryName(name, shard: shardName), time < stale {
                    if shard.removeFile(name) { report.temporaries += 1 }
                }
            }
        }
        var total = files.reduce(Int64(0)) { $0 + $1.bytes }
        var kept = files.count
        if total > limit {
            let target = limit / 10 * 9
            for file in files.sorted(by: { ($0.time, $0.name) < ($1.time, $1.name) }) where file.name != sparing {
                guard total > target else { break }
                if shards[file.shard]?.removeFile(file.name) == true {
                    total -= file.bytes
                    kept -= 1
                    report.evicted += 1
                }
            }
        }
        report.kept = kept
        report.keptBytes = total
        usage.set(total)
        return report
    }

    /// Prunes on one of the ``workers`` threads unless a prune is running: at startup, with
    /// the content hashes of the index read there.
    func pruneInBackground(indexed: @escaping @Sendable () -> Set<String>?) {
        Self.workers.start { [self] in
            guard usage.beginPruning() else { return }
            defer { usage.finishPruning() }
            prune(indexed: indexed())
        }
    }

    /// Two lowercase hex digits.
    static func isShardName(_ name: String) -> Bool {
        name.utf8.count == 2 && name.utf8.allSatisfy(isLowerHex)
    }

    /// The hash of a thumbnail's file name `HASH-SIZE.jpg` in folder `shard`, else nil.
    static func thumbnailHash(_ name: String, shard: String) -> String? {
        guard name.hasSuffix(".jpg"), let dash = name.lastIndex(of: "-") else { return nil }
        let hash = String(name[..<dash])
        let size = name[name.index(after: dash)...].dropLast(4)
        guard hash.utf8.count == 64, hash.utf8.allSatisfy(isLowerHex), hash.hasPrefix(shard),
            let pixels = Int(size), sizes.contains(pixels), name == Self.name(hash: hash, size: pixels)
        else { return nil }
        return hash
    }

    /// `OutputFile`'s temporary name for a thumbnail: `.HASH-SIZE.jpg.PID.RANDOM.tmp`.
    static func isTemporaryName(_ name: String, shard: String) -> Bool {
        guard name.hasPrefix("."), name.hasSuffix(".tmp") else { return false }
        let parts = name.dropFirst().split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 5, parts[1] == "jpg", !parts[2].isEmpty, parts[2].allSatisfy(\.isNumber),
            !parts[3].isEmpty, parts[3].allSatisfy(\.isNumber)
        else { return false }
        return thumbnailHash(parts[0] + ".jpg", shard: shard) != nil
    }

    private static func isLowerHex(_ byte: UInt8) -> Bool { (48...57).contains(byte) || (97...102).contains(byte) }
}
