// Retrieval metrics, ranking and zero-shot tallies on hand-computed similarity matrices.
// Every expected number below is worked out in the comment next to it.
import CLIPTensor
import CLIPTestSupport
import Foundation
import Testing

@testable import CLIPEvaluation

struct RetrievalCase: CustomTestStringConvertible, Sendable {
    let name: String
    let similarity: [[Float]]
    let imageOfText: [Int]
    let imageToTextRanks: [Int]
    let textToImageRanks: [Int]
    var testDescription: String { name }
}

let retrievalCases: [RetrievalCase] = [
    // Image 2's own text scores 0.4 behind 0.5 and 0.6 → rank 2. Text 2's column is
    // (0.3, 0.7, 0.4): image 1 is ahead of image 2 → rank 1.
    .init(
        name: "one caption each, 3 items", similarity: [[0.9, 0.1, 0.3], [0.2, 0.8, 0.7], [0.5, 0.6, 0.4]],
        imageOfText: [0, 1, 2], imageToTextRanks: [0, 0, 2], textToImageRanks: [0, 0, 1]),
    // All equal: the lower index wins, so image 1 (and text 1) lands behind index 0.
    .init(
        name: "all ties", similarity: [[0.5, 0.5], [0.5, 0.5]], imageOfText: [0, 1],
        imageToTextRanks: [0, 1], textToImageRanks: [0, 1]),
    // Texts 0 and 1 describe image 0, text 2 image 1. Image 0: best caption is text 0 → 0.
    // Image 1: text 2 scores 0.1, behind 0.2 and 0.3 → 2. Text 1 (column 0.1, 0.3) → its
    // image 0 is second → 1; text 2 (0.5, 0.1) → image 1 second → 1.
    .init(
        name: "two captions for one image", similarity: [[0.9, 0.1, 0.5], [0.2, 0.3, 0.1]], imageOfText: [0, 0, 1],
        imageToTextRanks: [0, 2], textToImageRanks: [0, 1, 1]),
    // Image 0's captions are texts 1 and 3; text 3 (0.8) is its best, behind text 2 (0.9) → 1,
    // although text 1 alone would rank 3. Image 1's caption text 0 is best → 0;
    // image 2's caption text 2 (0.1) is behind 0.4 and 0.2 → 2. Text → image: text 0 column
    // (0.2, 0.6, 0.0) → image 1 first → 0; text 1 (0.3, 0.2, 0.4) → image 0 second → 1;
    // text 2 (0.9, 0.3, 0.1) → image 2 last → 2; text 3 (0.8, 0.1, 0.2) → image 0 first → 0.
    .init(
        name: "best of several captions counts",
        similarity: [[0.2, 0.3, 0.9, 0.8], [0.6, 0.2, 0.3, 0.1], [0.0, 0.4, 0.1, 0.2]],
        imageOfText: [1, 0, 2, 0], imageToTextRanks: [1, 0, 2], textToImageRanks: [0, 1, 2, 0]),
    // Ties with several captions: image 0 owns texts 1 and 2, all scores equal → its best is
    // text 1, behind text 0 → 1. Image 1 owns text 0 → 0. Columns are all equal too: text 0's
    // image 1 is behind image 0 → 1; texts 1 and 2 → image 0 → 0.
    .init(
        name: "ties with several captions", similarity: [[0.4, 0.4, 0.4], [0.4, 0.4, 0.4]], imageOfText: [1, 0, 0],
        imageToTextRanks: [1, 0], textToImageRanks: [1, 0, 0]),
    // 12 items, every row (0, 1, ..., 11): image i's own text i has 11 - i texts ahead of it;
    // each column is constant, so text t's image t has t images ahead (index tie-break).
    .init(
        name: "12 items, R@10 below 1", similarity: (0..<12).map { _ in (0..<12).map { Float($0) } },
        imageOfText: Array(0..<12),
        imageToTextRanks: (0..<12).map { 11 - $0 }, textToImageRanks: Array(0..<12)),
]

@Test(arguments: retrievalCases)
func retrievalRanks(_ c: RetrievalCase) {
    let m = RetrievalMetrics(similarity: c.similarity, imageOfText: c.imageOfText)
    #expect(
        m.imageToText.ranks == c.imageToTextRanks,
        "image→text ranks \(m.imageToText.ranks), expected \(c.imageToTextRanks)")
    #expect(
        m.textToImage.ranks == c.textToImageRanks,
        "text→image ranks \(m.textToImage.ranks), expected \(c.textToImageRanks)")
}

@Test func retrievalDictionaryValues() {
    // Case "one caption each": image→text ranks (0, 0, 2), text→image (0, 0, 1).
    let m = RetrievalMetrics(similarity: retrievalCases[0].similarity, imageOfText: [0, 1, 2])
    let d = m.dictionary
    let expected: [String: Double] = [
        "image_to_text_R@1": 2.0 / 3, "image_to_text_R@5": 1, "image_to_text_R@10": 1,
        "image_to_text_mean_rank": 2.0 / 3 + 1, "image_to_text_median_rank": 1,
        "text_to_image_R@1": 2.0 / 3, "text_to_image_R@5": 1, "text_to_image_R@10": 1,
        "text_to_image_mean_rank": 1.0 / 3 + 1, "text_to_image_median_rank": 1,
    ]
    #expect(Set(d.keys) == Set(expected.keys))
    for (key, value) in expected {
        #expect(abs((d[key] ?? .nan) - value) < 1e-12, "\(key): \(d[key] ?? .nan) != \(value)")
    }
    // 12 items: ranks 11...0 → R@1 = 1/12, R@5 = 5/12, R@10 = 10/12, mean 5.5 + 1,
    // median of 0...11 = 5.5 → floor 5 → 6 (NumPy averages the middle pair, open_clip floors).
    let twelve = RetrievalMetrics(similarity: retrievalCases[5].similarity, imageOfText: Array(0..<12)).dictionary
    #expect(
        twelve["image_to_text_R@1"] == 1.0 / 12 && twelve["image_to_text_R@5"] == 5.0 / 12
            && twelve["image_to_text_R@10"] == 10.0 / 12)
    #expect(twelve["image_to_text_mean_rank"] == 6.5 && twelve["image_to_text_median_rank"] == 6)
    #expect(twelve["text_to_image_R@10"] == 10.0 / 12)
}

@Test(
    arguments: [
        ([0, 1], 1.0), ([0, 3], 2.0), ([2, 2, 9], 3.0), ([4], 5.0), ([1, 2, 3, 100], 3.0),
    ] as [([Int], Double)])
func medianRankFollowsNumPy(_ ranks: [Int], _ expected: Double) {
    // floor(np.median(ranks)) + 1: [0, 1] → 0.5 → 1; [0, 3] → 1.5 → 2; [1, 2, 3, 100] → 2.5 → 3.
    #expect(RetrievalDirectionMetrics(ranks: ranks).medianRank == expected)
}

@Test func featuresAgreeWithSimilarityMatrix() {
    // Random features, small blocks so the blockwise path runs several blocks; two captions
    // for some images. The reference similarity matrix is computed here with plain loops.
    var g = SeededGenerator(seed: 6)
    let n = 9, e = 5
    let imageOfText = [0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 3, 3, 8]
    let images = (0..<(n * e)).map { _ in Float.random(in: -1...1, using: &g) }
    let texts = (0..<(imageOfText.count * e)).map { _ in Float.random(in: -1...1, using: &g) }
    func normalized(_ v: ArraySlice<Float>) -> [Float] {
        let norm = v.map { $0 * $0 }.reduce(0, +).squareRoot()
        return v.map { $0 / norm }
    }
    let imageRows = (0..<n).map { normalized(images[($0 * e)..<(($0 + 1) * e)]) }
    let textRows = (0..<imageOfText.count).map { normalized(texts[($0 * e)..<(($0 + 1) * e)]) }
    let similarity = imageRows.map { i in textRows.map { t in zip(i, t).map(*).reduce(0, +) } }
    let direct = RetrievalMetrics(similarity: similarity, imageOfText: imageOfText)
    let blocked = RetrievalMetrics(
        imageFeatures: Tensor(shape: [n, e], scalars: images),
        textFeatures: Tensor(shape: [imageOfText.count, e], scalars: texts),
        imageOfText: imageOfText, blockElements: 20)
    #expect(
        direct == blocked,
        "direct \(direct.imageToText.ranks) \(direct.textToImage.ranks), blocked \(blocked.imageToText.ranks) \(blocked.textToImage.ranks)"
    )
}

@Test(
    arguments: [
        ([0.1, 0.9, 0.5] as [Float], 2, 1), ([0.5, 0.1, 0.5], 2, 1), ([0.5, 0.1, 0.5], 0, 0), ([0.3], 0, 0),
        ([-1, -2, -3, -4], 3, 3),
    ] as [([Float], Int, Int)])
func rankTable(_ scores: [Float], _ target: Int, _ expected: Int) {
    #expect(Ranking.rank(of: target, in: scores) == expected)
    // Slices with a non-zero start index behave the same.
    let padded = [9, 9] + scores
    #expect(Ranking.rank(of: target, in: padded[2...]) == expected)
}

@Test func bestRankTable() {
    #expect(Ranking.bestRank(of: [0, 2], in: [0.1, 0.9, 0.5] as [Float]) == 1)
    #expect(Ranking.bestRank(of: [2, 1], in: [0.7, 0.7, 0.7] as [Float]) == 1)
    #expect(Ranking.bestRank(of: [1], in: [0.7, 0.8, 0.7] as [Float]) == 0)
}

@Test func zeroShotTallyTopK() {
    // 3 classes → k = 3, so every image is a top-k hit.
    var small = ZeroShotTally(classes: 3)
    small.add(logits: [0.1, 0.7, 0.2] as [Float], label: 2)  // rank 1: top-1 miss
    small.add(logits: [0.1, 0.7, 0.2] as [Float], label: 1)  // rank 0: hit
    #expect(small.topK == 3 && small.top1 == 0.5 && small.top5 == 1)
    #expect(small.top1PerClass == [nil, 1, 0] && small.imagesPerClass == [0, 1, 1])

    // 7 classes → k = 5. Logits 0...6 for class c: rank = 6 - c.
    var big = ZeroShotTally(classes: 7)
    let ascending = (0..<7).map(Float.init)
    for label in 0..<7 { big.add(logits: ascending, label: label) }
    // Ranks 6, 5, 4, 3, 2, 1, 0: one top-1 hit (class 6), five top-5 hits (classes 2...6).
    #expect(big.topK == 5 && big.top1 == 1.0 / 7 && big.top5 == 5.0 / 7)
    // A tie with a lower-indexed class pushes the label down one place.
    var tie = ZeroShotTally(classes: 6)
    tie.add(logits: [1, 1, 1, 1, 1, 1] as [Float], label: 5)  // rank 5: outside the top 5
    tie.add(logits: [1, 1, 1, 1, 1, 1] as [Float], label: 4)  // rank 4: inside
    tie.add(logits: [1, 1, 1, 1, 1, 1] as [Float], label: 0)  // rank 0
    #expect(tie.top1 == 1.0 / 3 && tie.top5 == 2.0 / 3)
    // The confusion matrix counts the top-1 class (ties: the lowest index, as the ranks do).
    #expect(small.confusion == [[0, 0, 0], [0, 1, 0], [0, 1, 0]])
    #expect(big.confusion.map { $0[6] } == [1, 1, 1, 1, 1, 1, 1])
    #expect(tie.confusion[5][0] == 1 && tie.confusion[4][0] == 1 && tie.confusion[0][0] == 1)
    #expect(tie.confusion.joined().reduce(0, +) == tie.images)
}
