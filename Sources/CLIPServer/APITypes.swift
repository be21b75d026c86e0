import Foundation

// Request and response bodies, one type per shape: OpenAI's /v1/embeddings, text-embeddings-
// inference's /embed, and swift-clip's /rank and /classify.

/// One string or a list of strings (`"input": "a cat"` or `"input": ["a cat", "a dog"]`).
struct OneOrMany: Decodable, Sendable {
    var values: [String]

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let one = try? container.decode(String.self) {
            values = [one]
        } else {
            values = try container.decode([String].self)
        }
    }
}

/// `POST /v1/embeddings` (OpenAI): `modality` is infinity's extension for images.
struct EmbeddingsRequest: Decodable, Sendable {
    var input: OneOrMany
    var model: String?
    var encodingFormat: String?
    var dimensions: Int?
    var modality: String?
    var truncate: Bool?
    var user: String?

    enum CodingKeys: String, CodingKey {
        case input, model, dimensions, modality, truncate, user
        case encodingFormat = "encoding_format"
    }
}

/// An embedding as OpenAI sends it: numbers, or base64 of little-endian float32.
enum EmbeddingValue: Encodable, Sendable {
    case float([Float])
    case base64(String)

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .float(let values): try container.encode(values)
        case .base64(let text): try container.encode(text)
        }
    }

    /// Base64 of the row's float32 values, little-endian, as OpenAI's `encoding_format: "base64"`.
    static func base64(_ row: [Float]) -> String {
        var bytes = [UInt8]()
        bytes.reserveCapacity(row.count * 4)
        for value in row {
            withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes += $0 }
        }
        return Data(bytes).base64EncodedString()
    }
}

struct EmbeddingsResponse: Encodable, Sendable {
    struct Item: Encodable, Sendable {
        var object = "embedding"
        var index: Int
        var embedding: EmbeddingValue
    }
    struct Usage: Encodable, Sendable {
        var promptTokens: Int
        var totalTokens: Int
        enum CodingKeys: String, CodingKey {
            case promptTokens = "prompt_tokens"
            case totalTokens = "total_tokens"
        }
    }
    var object = "list"
    var data: [Item]
    var model: String
    var usage: Usage
}

/// `POST /embed` (text-embeddings-inference): the answer is `[[Float]]`.
struct EmbedRequest: Decodable, Sendable {
    var inputs: OneOrMany
    var normalize: Bool?
    var truncate: Bool?
}

/// `POST /rank`: a text (`query`) or an image (`image`, base64 or data URL) against `texts`.
struct RankRequest: Decodable, Sendable {
    var query: String?
    var image: String?
    var texts: [String]
    var truncate: Bool?
}

struct RankResponse: Encodable, Sendable {
    struct Result: Encodable, Sendable {
        var index: Int
        var text: String
        /// Cosine similarity of the query and this text.
        var score: Float
        /// Softmax over the candidates of the scores times the model's logit scale.
        var probability: Float
    }
    var model: String
    /// Best first.
    var results: [Result]
}

/// `POST /classify`: images (base64 or data URLs) among labels, prompt-ensembled.
struct ClassifyRequest: Decodable, Sendable {
    var images: OneOrMany
    var labels: [String]
    var templates: [String]?
    var top: Int?
}

struct ClassifyResponse: Encodable, Sendable {
    struct Prediction: Encodable, Sendable {
        var label: String
        var probability: Float
        var logit: Float
    }
    struct Result: Encodable, Sendable {
        var index: Int
        var predictions: [Prediction]
    }
    var model: String
    var results: [Result]
}

/// `GET /info`. Without a model (`--runs` alone) the model's fields and `limits` are null;
/// `serves` says what the server offers, `endpoints` the routes that answer.
struct InfoResponse: Encodable, Sendable {
    struct Limits: Encodable, Sendable {
        var maxBatch: Int
        var maxWaitMs: Double
        var maxClientBatch: Int
        var maxPayloadBytes: Int
        var maxConcurrent: Int
        var contextLength: Int
        enum CodingKeys: String, CodingKey {
            case maxBatch = "max_batch"
            case maxWaitMs = "max_wait_ms"
            case maxClientBatch = "max_client_batch"
            case maxPayloadBytes = "max_payload_bytes"
            case maxConcurrent = "max_concurrent"
            case contextLength = "context_length"
        }
    }
    /// What the server offers: `embeddings` (a model), `search` and `search_page` (`--index`),
    /// `training_reports` (`--runs`).
    var serves: [String]
    var model: String?
    var architecture: String?
    var dimensions: Int?
    var imageSize: Int?
    var parameters: Int?
    var limits: Limits?
    var endpoints: [String]
    /// The served image index, or null.
    var index: IndexInfo?
    /// The folder of training runs (`--runs`), or null.
    var runs: String?
    enum CodingKeys: String, CodingKey {
        case serves, model, architecture, dimensions, parameters, limits, endpoints, index, runs
        case imageSize = "image_size"
    }

    /// Every field is written, a missing one as null (not left out), so clients can rely on the keys.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(serves, forKey: .serves)
        try container.encode(model, forKey: .model)
        try container.encode(architecture, forKey: .architecture)
        try container.encode(dimensions, forKey: .dimensions)
        try container.encode(imageSize, forKey: .imageSize)
        try container.encode(parameters, forKey: .parameters)
        try container.encode(limits, forKey: .limits)
        try container.encode(endpoints, forKey: .endpoints)
        try container.encode(index, forKey: .index)
        try container.encode(runs, forKey: .runs)
    }
}
