import GRDB

/// The tables of an image index and the migrations between their versions.
///
/// - `meta`: key/value pairs (`application`, `index_id`, `model`, `dimension`, `vector_type`,
///   `generation`, bumped whenever the set of vectors changes).
/// - `vectors`: one embedding per distinct file content (SHA-256), little-endian float32 or float16.
/// - `images`: one row per path, with the size and mtime that decide whether it changed, and the
///   vector of its content; exact duplicates are rows that share a vector.
/// - `failures` (version 2): images that could not be read, so that an unchanged broken file is
///   reported again without being decoded again.
enum IndexSchema {
    /// `PRAGMA application_id` of an index ("CLIX"): tells an index from other SQLite files.
    static let applicationID: Int32 = 0x434C_4958

    static let migrator: DatabaseMigrator = {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
                    CREATE TABLE vectors(id INTEGER PRIMARY KEY, hash TEXT NOT NULL UNIQUE, vector BLOB NOT NULL);
                    CREATE TABLE images(
                        id INTEGER PRIMARY KEY,
                        path TEXT NOT NULL UNIQUE,
                        size INTEGER NOT NULL,
                        mtime REAL NOT NULL,
                        vector_id INTEGER NOT NULL REFERENCES vectors(id));
                    CREATE INDEX images_vector ON images(vector_id);
                    """)
        }
        migrator.registerMigration("v2") { db in
            try db.execute(
                sql: """
                    CREATE TABLE failures(
                        path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime REAL NOT NULL, reason TEXT NOT NULL);
                    """)
        }
        return migrator
    }()

    /// The newest schema version this build writes (the number of migrations).
    static let version = 2
}
