import Foundation
import GRDB

/// Why an image index could not be opened, updated or searched.
public enum IndexError: LocalizedError, Equatable {
    /// The file is not an SQLite database (or is damaged).
    case notADatabase(path: String, detail: String)
    /// The file is an SQLite database of some other program.
    case foreignDatabase(path: String)
    /// The index was written by a newer swift-clip.
    case newerSchema(path: String, found: Int, supported: Int)
    /// The index holds embeddings of another model.
    case modelMismatch(path: String, stored: String, requested: String)
    /// The index has no model yet (nothing was ever indexed into it).
    case empty(path: String)
    /// A query vector or stored vector has the wrong width.
    case dimensionMismatch(expected: Int, found: Int)
    /// The index file does not exist (searching never creates one).
    case missing(path: String)
    /// A query term could not be understood.
    case badQuery(String)
    /// Another process held the index's write lock for longer than the wait (30 s).
    case busy(path: String)
    /// The index path names a folder (the index is one file).
    case folder(path: String)
    /// The index must be written (indexing, a schema migration) but this process may not write
    /// the file or its folder.
    case readOnly(path: String, detail: String)

    /// What an SQLite error while opening the file at `path` means: a lock another process held
    /// past the wait, or a file that is not a (whole) database.
    static func opening(path: String, _ error: DatabaseError) -> IndexError {
        if error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED { return .busy(path: path) }
        if error.resultCode == .SQLITE_READONLY || error.resultCode == .SQLITE_PERM {
            return .readOnly(path: path, detail: error.message ?? "\(error.resultCode)")
        }
        return .notADatabase(path: path, detail: error.message ?? "\(error.resultCode)")
    }

    public var errorDescription: String? {
        switch self {
        case .notADatabase(let path, let detail):
            "\(path) is not a swift-clip index (not an SQLite database: \(detail))"
        case .foreignDatabase(let path): "\(path) is an SQLite database of another program, not a swift-clip index"
        case .newerSchema(let path, let found, let supported):
            "\(path) has index schema version \(found); this swift-clip reads up to version \(supported)"
        case .modelMismatch(let path, let stored, let requested):
            "\(path) holds embeddings of \(stored), not \(requested)"
        case .empty(let path): "\(path) has no images yet"
        case .dimensionMismatch(let expected, let found):
            "vector width \(found) does not match the index's embedding width \(expected)"
        case .missing(let path): "no index at \(path)"
        case .badQuery(let why): "bad query: \(why)"
        case .busy(let path): "\(path) is locked by another process"
        case .folder(let path): "\(path) is a folder; the index is a single file"
        case .readOnly(let path, let detail): "\(path) cannot be written (\(detail))"
        }
    }

    public var recoverySuggestion: String? {
        switch self {
        case .notADatabase, .foreignDatabase:
            "The file was left untouched. Pass --db with a new path (or set CLIP_INDEX) for the index."
        case .newerSchema: "Update swift-clip, or build a new index with --db NEW.sqlite."
        case .modelMismatch(let path, let stored, let requested):
            "One index holds one model. Search without --model to use \(stored), or build an index for "
                + "\(requested) in another file: clip index DIR --model \(requested) --db OTHER.sqlite "
                + "(or delete \(path) and reindex)."
        case .empty, .missing: "Index a folder first: clip index ~/Pictures"
        case .dimensionMismatch: "Embed the query with the model the index was built with."
        case .busy:
            "Another clip index (or a server indexing) is writing to it; wait for it to finish and run "
                + "the command again. Nothing was written."
        case .folder(let path):
            "Nothing was written. Pass --db (or CLIP_INDEX) a file path, e.g. "
                + URL(fileURLWithPath: path).appendingPathComponent("index.sqlite").path + "."
        case .readOnly:
            "Nothing was written. Searching reads a read-only index as it is; indexing and migrating need "
                + "write access to the file and its folder (check the permissions, or copy the index to a "
                + "writable place and pass --db)."
        case .badQuery:
            "Terms are texts, image paths (./photo.jpg or --image F), optionally weighted (2:cat) and "
                + "joined with + or - (\"2:cat\" + ./img.jpg - fruit)."
        }
    }
}
