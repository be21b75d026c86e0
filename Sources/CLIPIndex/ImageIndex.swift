import CLIPTensor
import Foundation
import GRDB

// Symbols: N stored vectors, E embedding width, K results.

/// A searchable index of image embeddings in one SQLite file (WAL mode): paths with their size,
/// mtime and content hash, one vector per distinct content, the model they came from and the
/// schema version. `clip index` and `clip search` are thin commands over this type, and so is
/// the HTTP server.
///
/// Writers commit a batch per transaction, so a crash loses at most the batch in flight; readers
/// (searches) run beside a writer and see the last committed batch.
///
/// ```swift
/// let index = try ImageIndex(at: ImageIndex.defaultURL())
/// try index.bind(IndexedModel(name: "ViT-B/32", dimension: 512))
/// try index.add([IndexEntry(path: "/photos/a.jpg", size: 123, mtime: 1.7e9, hash: "9f86…", vector: v)])
/// let hits = try index.search(queryVector, top: 10)   // [(path, cosine)], best first
/// ```
public final class ImageIndex: @unchecked Sendable {
    /// The database file.
    public let url: URL
    let database: DatabasePool

    /// The default location: `$CLIP_INDEX`, else `$XDG_DATA_HOME/swift-clip/index.sqlite`, else
    /// `~/.local/share/swift-clip/index.sqlite`.
    public static func defaultURL(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        if let path = environment["CLIP_INDEX"], !path.isEmpty { return URL(fileURLWithPath: path) }
        let data =
            environment["XDG_DATA_HOME"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
            ?? URL(fileURLWithPath: environment["HOME"] ?? NSHomeDirectory()).appendingPathComponent(".local/share")
        return data.appendingPathComponent("swift-clip/index.sqlite")
    }

    /// How an existing index is opened for reading (`create: false`).
    public enum ReadMode: Sendable, Equatable {
        /// With SQLite's locks and write-ahead log, so a search sees every batch a running
        /// `clip index` has committed — when this process may write the file and its folder (as
        /// SQLite needs to); otherwise as ``immutable``.
        case automatic
        /// The file as it is on disk, without locks or write-ahead log: nothing is written or
        /// created beside it (`-wal`, `-shm`), so an index on read-only media, in a snapshot or
        /// owned by another user can be searched without touching it. Changes another process
        /// has not merged into the file yet are not seen (``unmergedChanges``).
        case immutable
    }

    /// Whether the index was opened ``ReadMode/immutable``.
    public let isImmutable: Bool

    /// True when the index was opened ``ReadMode/immutable`` while a non-empty write-ahead log
    /// (`-wal`) lay beside it: batches committed there are not visible to this reader.
    public let unmergedChanges: Bool

    /// Opens the index at `url`, creating it (and its folder) when `create` is true and it does not
    /// exist, and migrating an older schema. A file that is not an index — not SQLite, damaged, or
    /// another program's database — is refused before anything is written to it. With `create`
    /// false, a database that is not a whole index yet (empty, or being created by `clip index`
    /// right now) is ``IndexError/empty(path:)`` and is not written to, and `readMode` says how
    /// the file is read (an immutable index cannot be migrated or written:
    /// ``IndexError/readOnly(path:detail:)``).
    public init(at url: URL, create: Bool = true, readMode: ReadMode = .automatic) throws {
        precondition(!create || readMode == .automatic, "an immutable index cannot be created")
        self.url = url
        let path = url.path
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue {
            throw IndexError.folder(path: path)
        }
        // Writers open one at a time (see SetupLock): two starting together on a new file would
        // otherwise both switch it to WAL and set it up ("database is locked" in one of them).
        // Readers take no lock, so a search never waits for a writer.
        var setup: SetupLock?
        defer { setup?.release() }
        if create {
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            setup = SetupLock(folder: url.deletingLastPathComponent())
        }
        // Opening for writing needs write access to the file and its folder (SQLite creates the
        // -wal and -shm files there, and GRDB commits an empty transaction to start the log).
        let immutable = !create && (readMode == .immutable || !Self.isWritable(url))
        isImmutable = immutable
        unmergedChanges = immutable && Self.hasUnmergedLog(path)
        if FileManager.default.fileExists(atPath: path) {
            // A reader (`clip search`, the server) writes nothing to a database that is not a
            // whole index yet: one that `clip index` is creating right now would otherwise be set
            // up twice at once ("table failures already exists" in one of the two), and even
            // opening it for writing switches it to WAL. An older index (it has its id) is still
            // migrated.
            if try !Self.checkIsIndex(path, immutable: immutable) && !create { throw IndexError.empty(path: path) }
        } else if !create {
            throw IndexError.missing(path: path)
        }
        if immutable {
            do {
                database = try Self.openImmutable(path)
                let current = try database.read { db in
                    try IndexSchema.migrator.hasCompletedMigrations(db)
                }
                guard current else {
                    throw IndexError.readOnly(
                        path: path, detail: "its schema must be migrated, which writes to it")
                }
            } catch let error as DatabaseError {
                throw IndexError.opening(path: path, error)
            }
            return
        }
        var configuration = Configuration()
        configuration.busyMode = .timeout(30)
        configuration.prepareDatabase { db in
            // In WAL mode NORMAL loses nothing a process crash could lose; only power loss may drop
            // the last transactions, never corrupt the file.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        do {
            database = try DatabasePool(path: path, configuration: configuration)
            // Set up or migrate only when needed: opening a current index writes no rows, so a
            // search does not wait for a running `clip index` to let go of the write lock (GRDB
            // commits one empty transaction when no -wal file exists, i.e. no writer is open).
            let current = try database.read { db in
                try Int32.fetchOne(db, sql: "PRAGMA application_id") == IndexSchema.applicationID
                    && IndexSchema.migrator.hasCompletedMigrations(db)
                    && String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'index_id'") != nil
            }
            if !current {
                try database.write { db in
                    try db.execute(sql: "PRAGMA application_id = \(IndexSchema.applicationID)")
                }
                try IndexSchema.migrator.migrate(database)
                try database.write { db in
                    try db.execute(
                        sql: "INSERT OR IGNORE INTO meta(key, value) VALUES ('index_id', ?), ('generation', '0')",
                        arguments: [UUID().uuidString])
                }
            }
        } catch let error as DatabaseError {
            throw IndexError.opening(path: path, error)
        }
    }

    /// Refuses files that are not (empty or) swift-clip indexes, reading them without writing;
    /// returns whether the file is a whole index (set up, with its id), of any schema version.
    @discardableResult
    static func checkIsIndex(_ path: String, immutable: Bool = false) throws -> Bool {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(30)
        do {
            let queue =
                immutable
                ? try openingImmutable(path) { try DatabaseQueue(path: $0, configuration: configuration) }
                : try DatabaseQueue(path: path, configuration: configuration)
            let whole = try queue.read { db in
                let application = try Int32.fetchOne(db, sql: "PRAGMA application_id") ?? 0
                let tables = try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master") ?? 0
                if application != IndexSchema.applicationID && (application != 0 || tables > 0) {
                    throw IndexError.foreignDatabase(path: path)
                }
                if application == IndexSchema.applicationID, try IndexSchema.migrator.hasBeenSuperseded(db) {
                    let found = try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations").count
                    throw IndexError.newerSchema(path: path, found: found, supported: IndexSchema.version)
                }
                return try application == IndexSchema.applicationID && db.tableExists("meta")
                    && String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'index_id'") != nil
            }
            try queue.close()
            return whole
        } catch let error as DatabaseError {
            throw IndexError.opening(path: path, error)
        }
    }

    /// Whether this process may write the index file (if it exists) and its folder.
    static func isWritable(_ url: URL) -> Bool {
        let manager = FileManager.default
        if manager.fileExists(atPath: url.path) && !manager.isWritableFile(atPath: url.path) { return false }
        return manager.isWritableFile(atPath: url.deletingLastPathComponent().path)
    }

    /// Whether a non-empty write-ahead log lies beside the index.
    static func hasUnmergedLog(_ path: String) -> Bool {
        let size = (try? FileManager.default.attributesOfItem(atPath: path + "-wal"))?[.size] as? Int
        return (size ?? 0) > 0
    }

    /// SQLite's URI for reading `path` as immutable (no locks, no -wal or -shm files).
    static func immutableURI(_ path: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "?#%")
        return "file:" + (path.addingPercentEncoding(withAllowedCharacters: allowed) ?? path) + "?immutable=1"
    }

    /// A read-only pool on the immutable file.
    static func openImmutable(_ path: String) throws -> DatabasePool {
        var configuration = Configuration()
        configuration.readonly = true
        return try openingImmutable(path) { try DatabasePool(path: $0, configuration: configuration) }
    }

    /// `open` on the immutable URI, or on the plain path (read-only) where SQLite was built
    /// without URI file names and cannot open the URI.
    static func openingImmutable<T>(_ path: String, _ open: (String) throws -> T) throws -> T {
        do {
            return try open(immutableURI(path))
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CANTOPEN {
            return try open(path)
        }
    }

    // MARK: Model and metadata

    /// The schema version of the open file (the number of applied migrations).
    public func schemaVersion() throws -> Int {
        try database.read { try IndexSchema.migrator.appliedIdentifiers($0).count }
    }

    /// The model the index holds embeddings of; nil while the index is empty and unbound.
    public func model() throws -> IndexedModel? {
        try database.read { db in try Self.model(db) }
    }

    static func model(_ db: Database) throws -> IndexedModel? {
        let meta = try Self.meta(db)
        guard let name = meta["model"], let dimension = meta["dimension"].flatMap(Int.init) else { return nil }
        return IndexedModel(
            name: name, dimension: dimension, vectorType: meta["vector_type"].flatMap(VectorType.init) ?? .float32)
    }

    static func meta(_ db: Database) throws -> [String: String] {
        var meta: [String: String] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT key, value FROM meta") { meta[row[0]] = row[1] }
        return meta
    }

    /// Records `model` for an unbound index; for a bound one, checks that it is the same model
    /// (``IndexError/modelMismatch(path:stored:requested:)`` otherwise). Returns the stored model
    /// (whose vector type wins over the requested one).
    @discardableResult
    public func bind(_ model: IndexedModel) throws -> IndexedModel {
        try database.write { db in
            if let stored = try Self.model(db) {
                guard stored.name == model.name, stored.dimension == model.dimension else {
                    throw IndexError.modelMismatch(path: url.path, stored: stored.name, requested: model.name)
                }
                return stored
            }
            try db.execute(
                sql:
                    "INSERT OR REPLACE INTO meta(key, value) VALUES ('model', ?), ('dimension', ?), ('vector_type', ?)",
                arguments: [model.name, String(model.dimension), model.vectorType.rawValue])
            return model
        }
    }

    /// SQLite's `PRAGMA integrity_check`: "ok" for a sound file, else the problems found.
    public func integrityCheck() throws -> String {
        try database.read { try String.fetchAll($0, sql: "PRAGMA integrity_check").joined(separator: "; ") }
    }

    /// Number of indexed paths.
    public func count() throws -> Int {
        try database.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM images") ?? 0 }
    }

    // MARK: Writing

    /// One path to store: its vector, or nil to share the stored vector of the same content.
    public struct Entry: Sendable {
        public var path: String
        public var size: Int64
        public var mtime: Double
        /// Hex SHA-256 of the file's bytes.
        public var hash: String
        /// The (unit) embedding, or nil when a vector with `hash` is already stored.
        public var vector: [Float]?

        public init(path: String, size: Int64, mtime: Double, hash: String, vector: [Float]?) {
            self.path = path
            self.size = size
            self.mtime = mtime
            self.hash = hash
            self.vector = vector
        }
    }

    /// What is stored for one path.
    public struct Stored: Sendable, Equatable {
        public var size: Int64
        public var mtime: Double
        public var hash: String
    }

    /// Adds or replaces `entries` (by path) in one transaction. Entries without a vector link to
    /// the vector stored for their hash (also one added earlier in the same call); one whose hash
    /// is unknown is skipped and returned.
    @discardableResult
    public func add(_ entries: [Entry]) throws -> [Entry] {
        guard !entries.isEmpty else { return [] }
        return try database.write { db in
            guard let model = try Self.model(db) else { throw IndexError.empty(path: url.path) }
            var skipped: [Entry] = []
            let insertVector = try db.cachedStatement(
                sql:
                    "INSERT INTO vectors(hash, vector) VALUES (?, ?) ON CONFLICT(hash) DO UPDATE SET vector = excluded.vector"
            )
            let findVector = try db.cachedStatement(sql: "SELECT id FROM vectors WHERE hash = ?")
            let upsertImage = try db.cachedStatement(
                sql: """
                    INSERT INTO images(path, size, mtime, vector_id) VALUES (?, ?, ?, ?)
                    ON CONFLICT(path) DO UPDATE SET size = excluded.size, mtime = excluded.mtime,
                    vector_id = excluded.vector_id
                    """)
            let clearFailure = try db.cachedStatement(sql: "DELETE FROM failures WHERE path = ?")
            var vectorsChanged = false
            for entry in entries where entry.vector != nil {
                guard let vector = entry.vector, vector.count == model.dimension else {
                    throw IndexError.dimensionMismatch(expected: model.dimension, found: entry.vector?.count ?? 0)
                }
                try insertVector.execute(arguments: [entry.hash, Data(model.vectorType.encode(vector))])
                vectorsChanged = true
            }
            for entry in entries {
                guard let id = try Int64.fetchOne(findVector, arguments: [entry.hash]) else {
                    skipped.append(entry)
                    continue
                }
                try upsertImage.execute(arguments: [entry.path, entry.size, entry.mtime, id])
                try clearFailure.execute(arguments: [entry.path])
            }
            if vectorsChanged { try Self.bumpGeneration(db) }
            return skipped
        }
    }

    /// Removes `paths` in one transaction, and the vectors no path uses any more.
    public func remove(_ paths: [String]) throws {
        try database.write { db in
            let delete = try db.cachedStatement(sql: "DELETE FROM images WHERE path = ?")
            let forget = try db.cachedStatement(sql: "DELETE FROM failures WHERE path = ?")
            for path in paths {
                try delete.execute(arguments: [path])
                try forget.execute(arguments: [path])
            }
            try db.execute(sql: "DELETE FROM vectors WHERE id NOT IN (SELECT vector_id FROM images)")
            if db.changesCount > 0 { try Self.bumpGeneration(db) }
        }
    }

    /// Records that `path` (at this size and mtime) could not be read, so an unchanged broken file
    /// is reported without being decoded again.
    public func recordFailure(path: String, size: Int64, mtime: Double, reason: String) throws {
        try database.write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO failures(path, size, mtime, reason) VALUES (?, ?, ?, ?)",
                arguments: [path, size, mtime, reason])
        }
    }

    /// Whether a vector for content `hash` is stored.
    public func hasVector(hash: String) throws -> Bool {
        try database.read {
            try Int.fetchOne($0, sql: "SELECT 1 FROM vectors WHERE hash = ?", arguments: [hash]) != nil
        }
    }

    static func bumpGeneration(_ db: Database) throws {
        try db.execute(sql: "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")
    }

    // MARK: Reading

    /// The stored paths under `folder` (or equal to it), with size, mtime and content hash.
    public func stored(under folder: String) throws -> [String: Stored] {
        try database.read { db in
            var result: [String: Stored] = [:]
            let cursor = try Row.fetchCursor(
                db,
                sql: """
                    SELECT i.path, i.size, i.mtime, v.hash FROM images i JOIN vectors v ON v.id = i.vector_id
                    WHERE \(Self.underClause("i.path"))
                    """, arguments: Self.underArguments(folder))
            while let row = try cursor.next() { result[row[0]] = Stored(size: row[1], mtime: row[2], hash: row[3]) }
            return result
        }
    }

    /// The recorded failures under `folder`: path → (size, mtime, reason).
    public func failures(under folder: String) throws -> [String: (size: Int64, mtime: Double, reason: String)] {
        try database.read { db in
            var result: [String: (Int64, Double, String)] = [:]
            for row in try Row.fetchAll(
                db, sql: "SELECT path, size, mtime, reason FROM failures WHERE \(Self.underClause("path"))",
                arguments: Self.underArguments(folder))
            {
                result[row[0]] = (row[1], row[2], row[3])
            }
            return result
        }
    }

    /// `path = folder OR folder/ ≤ path < folder0` ('0' follows '/'): a range on the unique index.
    static func underClause(_ column: String) -> String { "(\(column) = ? OR (\(column) >= ? AND \(column) < ?))" }

    static func underArguments(_ folder: String) -> StatementArguments {
        let base = folder.count > 1 && folder.hasSuffix("/") ? String(folder.dropLast()) : folder
        if base == "/" { return ["/", "/", "0"] }
        return [base, base + "/", base + "0"]
    }

    // MARK: Searching

    /// One search result.
    public struct Hit: Sendable, Equatable, Codable {
        public var path: String
        /// Cosine similarity of the image embedding with the query.
        public var score: Float
    }

    /// The `top` paths whose embeddings are closest to `query` (a unit vector of the index's
    /// width): cosine scores, best first, at least `threshold`, only under the folder `under` when
    /// given. Paths with identical content share a score.
    public func search(_ query: [Float], top: Int, threshold: Float = -.infinity, under: String? = nil) throws -> [Hit]
    {
        let matrix = try vectors()
        var allowed: (@Sendable (Int64) -> Bool)?
        if let under {
            let ids = try database.read { db in
                try Set(
                    Int64.fetchAll(
                        db, sql: "SELECT DISTINCT vector_id FROM images WHERE \(Self.underClause("path"))",
                        arguments: Self.underArguments(under)))
            }
            allowed = { ids.contains($0) }
        }
        let nearest = try matrix.nearest(to: query, k: top, threshold: threshold, allowed: allowed)
        return try database.read { db in
            var hits: [Hit] = []
            for (id, score) in nearest {
                var sql = "SELECT path FROM images WHERE vector_id = ?"
                var arguments: StatementArguments = [id]
                if let under {
                    sql += " AND " + Self.underClause("path")
                    arguments += Self.underArguments(under)
                }
                for path in try String.fetchAll(db, sql: sql + " ORDER BY path", arguments: arguments) {
                    hits.append(Hit(path: path, score: score))
                }
                if hits.count >= top { break }
            }
            return Array(hits.prefix(top))
        }
    }

    /// Pairs of paths whose embeddings have cosine ≥ `threshold`, best first: exact duplicates
    /// (same content, score 1) and near duplicates. Compares every pair of stored vectors (N²/2
    /// dot products on all cores).
    public func duplicates(threshold: Float) throws -> [(first: String, second: String, score: Float)] {
        let matrix = try vectors()
        let n = matrix.count
        let lock = NSLock()
        nonisolated(unsafe) var pairs: [(Int64, Int64, Float)] = []
        Parallel.forEachIndex(n) { i in
            var local: [(Int64, Int64, Float)] = []
            let row = matrix.row(i)
            row.withUnsafeBufferPointer { q in
                for j in (i + 1)..<n {
                    let score = matrix.dot(q, j)
                    if score >= threshold { local.append((matrix.id(i), matrix.id(j), score)) }
                }
            }
            if !local.isEmpty { lock.withLock { pairs += local } }
        }
        return try database.read { db in
            var pathsOf: [Int64: [String]] = [:]
            var result: [(String, String, Float)] = []
            for row in try Row.fetchAll(db, sql: "SELECT vector_id, path FROM images ORDER BY path") {
                let id: Int64 = row[0]
                pathsOf[id, default: []].append(row[1])
            }
            // Exact duplicates: several paths on one vector.
            for (_, paths) in pathsOf.sorted(by: { $0.key < $1.key }) where paths.count > 1 {
                for i in 0..<paths.count {
                    for j in (i + 1)..<paths.count { result.append((paths[i], paths[j], 1)) }
                }
            }
            for (a, b, score) in pairs {
                for p in pathsOf[a] ?? [] { for q in pathsOf[b] ?? [] { result.append((min(p, q), max(p, q), score)) } }
            }
            return result.sorted { $0.2 != $1.2 ? $0.2 > $1.2 : ($0.0, $0.1) < ($1.0, $1.1) }
        }
    }

    /// Where the memory-mapped mirror of the vectors lives.
    public var mirrorURL: URL { URL(fileURLWithPath: url.path + "-vectors") }

    /// The vectors as a matrix: the mirror file when it is current, else rebuilt from the
    /// database (written beside it and renamed into place; kept in memory if that fails).
    public func vectors() throws -> VectorMatrix {
        let (indexID, generation, model) = try database.read { db -> (String, Int64, IndexedModel?) in
            let meta = try Self.meta(db)
            return (meta["index_id"] ?? "", Int64(meta["generation"] ?? "0") ?? 0, try Self.model(db))
        }
        guard let model else { throw IndexError.empty(path: url.path) }
        if let mapped = VectorMatrix.map(mirrorURL, indexID: indexID, generation: generation),
            mapped.dimension == model.dimension, mapped.vectorType == model.vectorType
        {
            return mapped
        }
        return try rebuildMirror(model: model)
    }

    /// Streams the vectors table into a new mirror file beside the database (in one read
    /// transaction, so ids, rows and generation agree), renames it into place and maps it. Memory
    /// stays at one chunk of rows; if the folder is not writable (or the index was opened
    /// immutable) the matrix is kept in memory.
    func rebuildMirror(model: IndexedModel) throws -> VectorMatrix {
        let rowBytes = model.dimension * model.vectorType.size
        let temporary = URL(
            fileURLWithPath: url.path + "-vectors.partial-\(ProcessInfo.processInfo.processIdentifier)")
        // An immutable reader creates nothing beside the index.
        let handle: FileHandle? =
            !isImmutable && FileManager.default.createFile(atPath: temporary.path, contents: nil)
            ? try? FileHandle(forWritingTo: temporary) : nil
        var memoryIDs: [Int64] = []
        var memoryRows: [UInt8] = []
        let (indexID, generation) = try database.read { db -> (String, Int64) in
            let meta = try Self.meta(db)
            let indexID = meta["index_id"] ?? "", generation = Int64(meta["generation"] ?? "0") ?? 0
            let ids = try Int64.fetchAll(db, sql: "SELECT id FROM vectors ORDER BY id")
            var chunk = VectorMatrix.header(
                type: model.vectorType, dimension: model.dimension, count: ids.count, generation: generation,
                indexID: indexID)
            ids.withUnsafeBytes { chunk += $0 }
            chunk += [UInt8](repeating: 0, count: VectorMatrix.padded(ids.count * 8) - ids.count * 8)
            let cursor = try Data.fetchCursor(db, sql: "SELECT vector FROM vectors ORDER BY id")
            var seen = 0
            while let bytes = try cursor.next() {
                guard bytes.count == rowBytes else {
                    throw IndexError.dimensionMismatch(
                        expected: model.dimension, found: bytes.count / model.vectorType.size)
                }
                chunk += bytes
                seen += 1
                if chunk.count >= 1 << 20 {
                    if let handle { try? handle.write(contentsOf: chunk) } else { memoryRows += chunk }
                    chunk.removeAll(keepingCapacity: true)
                }
            }
            if let handle { try? handle.write(contentsOf: chunk) } else { memoryRows += chunk }
            guard seen == ids.count else { throw IndexError.notADatabase(path: url.path, detail: "vectors changed") }
            if handle == nil { memoryIDs = ids }
            return (indexID, generation)
        }
        if let handle {
            try? handle.close()
            if rename(temporary.path, mirrorURL.path) == 0,
                let mapped = VectorMatrix.map(mirrorURL, indexID: indexID, generation: generation)
            {
                return mapped
            }
            try? FileManager.default.removeItem(at: temporary)
            // Written but not mappable: read the rows again into memory.
            let matrix = try database.read { db -> VectorMatrix in
                let rows = try Row.fetchAll(db, sql: "SELECT id, vector FROM vectors ORDER BY id")
                return VectorMatrix(
                    ids: rows.map { $0[0] }, rows: rows.flatMap { [UInt8]($0[1] as Data) },
                    dimension: model.dimension, vectorType: model.vectorType, generation: generation)
            }
            return matrix
        }
        // The in-memory copy holds the header too: drop it.
        let skip = VectorMatrix.headerSize + VectorMatrix.padded(memoryIDs.count * 8)
        return VectorMatrix(
            ids: memoryIDs, rows: Array(memoryRows.dropFirst(skip)), dimension: model.dimension,
            vectorType: model.vectorType, generation: generation)
    }
}
