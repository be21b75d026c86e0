// Retrieval and zero-shot metrics against open_clip's own code on stored features.
// Fixture: Fixtures/eval/metrics.json from scripts/reference/make_eval_fixtures.py
// (open_clip 2.29.0 get_clip_metrics and zero_shot.accuracy; CLIP_benchmark's any-caption rule
// for several captions per image). Ranks are integers, so agreement is exact up to the
// float rounding of the recall fractions (1e-12).
import CLIPTensor
import Foundation
import Testing

@testable import CLIPEvaluation

struct EvaluationReference: Decodable {
    struct Case: Decodable {
        var image_features: [[Double]]
        var text_features: [[Double]]?
        var class_weights: [[Double]]?
        var image_of_text: [Int]?
        var labels: [Int]?
        var expected: [String: Double]
        var image_to_text_ranks: [Int]?
        var text_to_image_ranks: [Int]?
    }
    var cases: [String: Case]

    static func load() throws -> EvaluationReference {
        let url = try #require(
            Bundle.module.url(forResource: "metrics", withExtension: "json", subdirectory: "Fixtures/eval"),
            "missing Fixtures/eval/metrics.json; run scripts/reference/make_eval_fixtures.py")
        return try JSONDecoder().decode(EvaluationReference.self, from: Data(contentsOf: url))
    }

    static func tensor(_ rows: [[Double]]) -> Tensor {
        Tensor(shape: [rows.count, rows.first?.count ?? 0], scalars: rows.flatMap { $0.map { Float($0) } })
    }
}

@Test(arguments: ["retrieval_one_caption", "retrieval_captions"])
func retrievalMatchesOpenCLIP(_ name: String) throws {
    let c = try #require(try EvaluationReference.load().cases[name])
    let metrics = RetrievalMetrics(
        imageFeatures: EvaluationReference.tensor(c.image_features),
        textFeatures: EvaluationReference.tensor(try #require(c.text_features)),
        imageOfText: try #require(c.image_of_text))
    let actual = metrics.dictionary
    #expect(Set(actual.keys) == Set(c.expected.keys))
    var worst = (key: "", difference: 0.0)
    for (key, value) in c.expected {
        let difference = abs((actual[key] ?? .nan) - value)
        if !(difference <= worst.difference) { worst = (key, difference) }
    }
    #expect(
        worst.difference < 1e-12,
        "max difference \(worst.difference) at \(worst.key): \(actual[worst.key] ?? .nan) vs \(c.expected[worst.key] ?? .nan)"
    )
    if let ranks = c.image_to_text_ranks {
        #expect(metrics.imageToText.ranks == ranks, "image→text ranks \(metrics.imageToText.ranks) vs \(ranks)")
    }
    if let ranks = c.text_to_image_ranks {
        #expect(metrics.textToImage.ranks == ranks, "text→image ranks \(metrics.textToImage.ranks) vs \(ranks)")
    }
}

@Test func zeroShotAccuracyMatchesOpenCLIP() throws {
    let c = try #require(try EvaluationReference.load().cases["zeroshot"])
    let weights = EvaluationReference.tensor(try #require(c.class_weights))
    let labels = try #require(c.labels)
    let k = weights.shape[0]
    let logits = Tensor.matmul(EvaluationReference.tensor(c.image_features), weights.transposed(0, 1)).scalars
    var tally = ZeroShotTally(classes: k)
    for (row, label) in labels.enumerated() { tally.add(logits: logits[(row * k)..<((row + 1) * k)], label: label) }
    let top1 = try #require(c.expected["top1"]), top5 = try #require(c.expected["top5"])
    #expect(
        abs(tally.top1 - top1) < 1e-12 && abs(tally.top5 - top5) < 1e-12,
        "top1 \(tally.top1) vs \(top1) (difference \(abs(tally.top1 - top1))), top5 \(tally.top5) vs \(top5)")
}
