import CLIPIndex
import Foundation

// `POST /search` and the index part of `GET /info`: request and response bodies.

/// `POST /search`: any of a text, an image and an indexed path (at least one), whose unit
/// embeddings are added as `clip search` adds query terms (``SearchQuery``).
///
/// ```json
/// {"query": "a dog on a beach", "top": 20, "threshold": 0.2, "folder": "/photos/2024"}
/// ```
struct SearchRequest: Decodable, Sendable {
    /// A text.
    var query: String?
    /// An image: base64, or a `data:image/...;base64,` URL.
    var image: String?
    /// An indexed path: its stored embedding is the term ("more like this").
    var like: String?
    /// Number of results, 1...1000 (default 20).
    var top: Int?
    /// Only results with at least this cosine score.
    var threshold: Float?
    /// Only results under this absolute folder.
    var folder: String?
}

/// `{"object": "list", "model": ..., "data": [{"path", "score"}]}`, best first.
struct SearchResponse: Encodable, Sendable {
    var object = "list"
    var model: String
    var data: [ImageIndex.Hit]
}

/// `GET /info`'s `index`: the served index and how many paths it holds now.
struct IndexInfo: Encodable, Sendable {
    var path: String
    var images: Int
}
