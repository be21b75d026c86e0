import CLIP
import Foundation
import Testing

@testable import CLIPServer

// Every endpoint over real HTTP on 127.0.0.1, answers compared with `clip embed` (the binary)
// and the library on the bundled demo model. Equality is exact (bit for bit): the server runs
// the same functions, and a row's result does not depend on its batch (`Parallel.batchInvariant`;
// see the load test).

@Suite("clip serve endpoints", .serialized)
struct EndpointTests {
    static let texts = ["one small red circle", "two large green squares at the top", "a blue triangle"]

    /// `clip embed` rows for texts or images.
    static func clipEmbed(texts: [String] = [], images: [URL] = []) throws -> (texts: [[Float]], images: [[Float]]) {
        let arguments =
            ["embed", "--model", Repository.demoModel] + texts.flatMap { ["--text", $0] }
            + images.flatMap { ["--image", $0.path] }
        let (status, stdout) = try runTool("clip", arguments)
        #expect(status == 0)
        let object = try JSONSerialization.jsonObject(with: stdout) as? [String: Any]
        let t = (object?["text_embeddings"] as? [Any] ?? []).map { floats($0) }
        let i = (object?["image_embeddings"] as? [Any] ?? []).map { floats($0) }
        return (t, i)
    }

    static func maxDifference(_ a: [[Float]], _ b: [[Float]]) -> Float {
        guard a.count == b.count else { return .infinity }
        return zip(a, b).map { x, y in
            x.count == y.count ? zip(x, y).map { abs($0 - $1) }.max() ?? 0 : .infinity
        }.max() ?? 0
    }

    @Test func embeddingsEqualClipEmbedForTextsFloatAndBase64() async throws {
        let expected = try Self.clipEmbed(texts: Self.texts).texts
        let alone = try Self.clipEmbed(texts: [Self.texts[0]]).texts
        try await withServer { client in
            for format in ["float", "base64"] {
                let result = try await client.post(
                    "/v1/embeddings", json: ["input": Self.texts, "model": "anything", "encoding_format": format])
                #expect(result.status == 200)
                let object = result.json as? [String: Any]
                #expect(object?["object"] as? String == "list")
                #expect(object?["model"] as? String == Repository.demoModel)
                let rows = embeddingRows(result)
                let difference = Self.maxDifference(rows, expected)
                print("\(format): max |server − clip embed| = \(difference) (tolerance 0: bit-equal)")
                #expect(rows == expected)
                let usage = object?["usage"] as? [String: Any]
                let tokens = try Self.texts.map { try Tokenizer.bundled().encode($0).count + 2 }.reduce(0, +)
                #expect(usage?["prompt_tokens"] as? Int == tokens)
            }
            // A single string is one input, and equals `clip embed` of that one text.
            let one = try await client.post("/v1/embeddings", json: ["input": Self.texts[0]])
            #expect(embeddingRows(one) == alone)
        }
    }

    @Test func embeddingsForImagesAsBase64AndDataURLs() async throws {
        let files = Array(Repository.demoImages.prefix(2)) + [Repository.jpeg]
        let expected = try Self.clipEmbed(images: files).images
        let payloads = try files.map { try Data(contentsOf: $0).base64EncodedString() }
        try await withServer { client in
            let plain = try await client.post("/v1/embeddings", json: ["input": payloads, "modality": "image"])
            #expect(plain.status == 200)
            let urls = zip(files, payloads).map { file, payload in
                "data:image/\(file.pathExtension == "jpg" ? "jpeg" : "png");base64,\(payload)"
            }
            let dataURLs = try await client.post(
                "/v1/embeddings", json: ["input": urls, "modality": "image", "encoding_format": "base64"])
            print(
                "images: max |server − clip embed| = \(Self.maxDifference(embeddingRows(plain), expected)) (tolerance 0)"
            )
            #expect(embeddingRows(plain) == expected)
            #expect(embeddingRows(dataURLs) == expected)
        }
    }

    @Test func dimensionsKeepTheFirstValuesRenormalised() async throws {
        try await withServer { client in
            let full = embeddingRows(try await client.post("/v1/embeddings", json: ["input": Self.texts]))
            let cut = embeddingRows(
                try await client.post("/v1/embeddings", json: ["input": Self.texts, "dimensions": 8]))
            let expected = full.map { row -> [Float] in
                let head = Array(row.prefix(8))
                return Tensor.l2Normalized(Tensor(shape: [1, 8], scalars: head)).scalars
            }
            #expect(cut == expected)
        }
    }

    @Test func teiEmbedNormalisedAndRaw() async throws {
        let model = try CLIP.load(URL(fileURLWithPath: Repository.demoModel))
        let raw = try model.encodeText(Self.texts)
        let e = model.configuration.embedDim
        func rows(_ t: Tensor) -> [[Float]] { (0..<t.shape[0]).map { Array(t.scalars[($0 * e)..<(($0 + 1) * e)]) } }
        let expectedNormalized = rows(Tensor.l2Normalized(raw)), expectedRaw = rows(raw)
        try await withServer { client in
            let normalized = try await client.post("/embed", json: ["inputs": Self.texts])
            #expect(normalized.status == 200)
            #expect((normalized.json as? [Any])?.map { floats($0) } == expectedNormalized)
            let unnormalized = try await client.post("/embed", json: ["inputs": Self.texts, "normalize": false])
            #expect((unnormalized.json as? [Any])?.map { floats($0) } == expectedRaw)
        }
    }

    @Test func rankMatchesTheModelsSoftmax() async throws {
        let model = try CLIP.load(URL(fileURLWithPath: Repository.demoModel))
        let image = try model.encodeImage([Repository.demoImages[0]])
        let (logits, _) = model.logits(imageFeatures: image, textFeatures: try model.encodeText(Self.texts))
        let expected = Tensor.softmax(logits).scalars
        try await withServer { client in
            let payload = try Data(contentsOf: Repository.demoImages[0]).base64EncodedString()
            let result = try await client.post("/rank", json: ["image": payload, "texts": Self.texts])
            #expect(result.status == 200)
            let items = ((result.json as? [String: Any])?["results"] as? [[String: Any]]) ?? []
            #expect(items.count == Self.texts.count)
            var probabilities = [Float](repeating: -1, count: Self.texts.count)
            for item in items {
                if let i = item["index"] as? Int {
                    probabilities[i] = (item["probability"] as? NSNumber)?.floatValue ?? -1
                }
            }
            let difference = zip(probabilities, expected).map { abs($0 - $1) }.max() ?? 1
            print("rank: max |p − softmax(logits_per_image)| = \(difference) (tolerance 1e-6)")
            #expect(difference <= 1e-6)
            let scores = items.compactMap { ($0["score"] as? NSNumber)?.floatValue }
            #expect(scores == scores.sorted(by: >))
            let byText = try await client.post("/rank", json: ["query": Self.texts[0], "texts": Self.texts])
            let best = ((byText.json as? [String: Any])?["results"] as? [[String: Any]])?.first?["index"] as? Int
            #expect(best == 0)  // a text is closest to itself
        }
    }

    @Test func classifyMatchesZeroShotClassifier() async throws {
        let model = try CLIP.load(URL(fileURLWithPath: Repository.demoModel))
        let labels = ["red circle", "green square", "blue triangle"]
        let templates = ["a photo of a {}.", "a {}"]
        let classifier = try ZeroShotClassifier(model: model, classNames: labels, templates: templates)
        let expected = classifier.classify(imageFeatures: try model.encodeImage(Array(Repository.demoImages.prefix(2))))
        try await withServer { client in
            let images = try Repository.demoImages.prefix(2).map { try Data(contentsOf: $0).base64EncodedString() }
            let result = try await client.post(
                "/classify", json: ["images": images, "labels": labels, "templates": templates])
            #expect(result.status == 200)
            let results = ((result.json as? [String: Any])?["results"] as? [[String: Any]]) ?? []
            #expect(results.count == 2)
            var difference: Float = 0
            for (got, want) in zip(results, expected) {
                let predictions = (got["predictions"] as? [[String: Any]]) ?? []
                #expect(predictions.map { $0["label"] as? String } == want.map(\.label))
                for (p, w) in zip(predictions, want) {
                    difference = max(
                        difference, abs(((p["probability"] as? NSNumber)?.floatValue ?? -1) - w.probability))
                }
            }
            print("classify: max |p − ZeroShotClassifier| = \(difference) (tolerance 1e-6)")
            #expect(difference <= 1e-6)
        }
    }

    @Test func healthInfoMetricsAndSearch() async throws {
        try await withServer { client in
            #expect(try await client.get("/health").status == 200)
            let info = try await client.get("/info")
            let object = info.json as? [String: Any]
            #expect(object?["dimensions"] as? Int == 64)
            #expect(object?["serves"] as? [String] == ["embeddings"] && object?["runs"] is NSNull)
            #expect((object?["limits"] as? [String: Any])?["max_client_batch"] as? Int == 64)
            _ = try await client.post("/v1/embeddings", json: ["input": ["a red circle"]])
            _ = try await client.post("/v1/embeddings", json: ["input": []])
            let metrics = try await client.get("/metrics")
            #expect(metrics.status == 200)
            for name in [
                "clip_requests_total{path=\"/v1/embeddings\",status=\"200\"}",
                "clip_request_failures_total{reason=\"empty_input\"} 1",
                "clip_batch_size_bucket", "clip_request_duration_seconds_bucket", "clip_tokens_total",
                "clip_queue_items",
            ] {
                #expect(metrics.text.contains(name), "\(name) missing from /metrics")
            }
            // Without --index: /search is 501 and /info says "index": null.
            let search = try await client.post("/search", json: ["query": "a cat"])
            #expect(search.status == 501)
            #expect(search.errorCode == "no_index")
            #expect(object?.keys.contains("index") == true && object?["index"] is NSNull)
        }
    }

    @Test func healthIs503UntilTheModelIsLoaded() async throws {
        try await withServer(loadModel: false) { client in
            let health = try await client.get("/health")
            #expect(health.status == 503)
            #expect(health.errorCode == "model_loading")
            #expect(health.header("Retry-After") == "1")
            #expect(try await client.post("/v1/embeddings", json: ["input": "a cat"]).status == 503)
        }
    }
}
