import CLIPTensor

// Image↔text retrieval metrics as open_clip computes them (open_clip_train/train.py
// get_clip_metrics, open_clip 2.29.0): recall@1/5/10, mean rank and median rank for both
// directions. open_clip pairs image i with text i; when an image has several captions we follow
// LAION's CLIP_benchmark (clip_benchmark/metrics/zeroshot_retrieval.py): an image→text query
// succeeds at k when ANY of the image's captions is among the k best texts, and a text→image
// query has exactly one correct image. With one caption per image both rules coincide.
// Symbols: N images, M texts, E embedding width.

/// Recall and rank statistics for one retrieval direction.
public struct RetrievalDirectionMetrics: Sendable, Equatable {
    /// 0-based rank of the (best) correct candidate for every query, in query order.
    public var ranks: [Int]

    /// Statistics of the given 0-based ranks.
    public init(ranks: [Int]) { self.ranks = ranks }

    /// Fraction of queries whose correct candidate is among the `k` best (open_clip's `R@k`).
    public func recall(at k: Int) -> Double {
        guard !ranks.isEmpty else { return 0 }
        return Double(ranks.lazy.filter { $0 < k }.count) / Double(ranks.count)
    }

    /// Mean 1-based rank (open_clip: `preds.mean() + 1`).
    public var meanRank: Double {
        guard !ranks.isEmpty else { return 0 }
        return Double(ranks.reduce(0, +)) / Double(ranks.count) + 1
    }

    /// Median 1-based rank as open_clip computes it: `floor(np.median(preds)) + 1`, where
    /// NumPy's median averages the two middle values of an even count.
    public var medianRank: Double {
        guard !ranks.isEmpty else { return 0 }
        let sorted = ranks.sorted(), n = sorted.count
        let median = n % 2 == 1 ? Double(sorted[n / 2]) : Double(sorted[n / 2 - 1] + sorted[n / 2]) / 2
        return median.rounded(.down) + 1
    }
}

/// Image→text and text→image retrieval metrics.
///
/// `imageOfText[t]` is the index of the image text `t` describes; every image needs at least
/// one text. Similarities can be given as a matrix (images × texts) or computed from features.
///
/// ```swift
/// // 2 images, 3 captions: captions 0 and 1 describe image 0, caption 2 describes image 1.
/// let m = RetrievalMetrics(similarity: [[0.9, 0.1, 0.5],
///                                       [0.2, 0.3, 0.1]], imageOfText: [0, 0, 1])
/// m.imageToText.recall(at: 1)   // 0.5: image 0 ranks caption 0 first; image 1 ranks caption 2 last
/// m.textToImage.recall(at: 1)   // 1/3: only caption 0 ranks its own image first
/// m.dictionary["image_to_text_R@1"]   // 0.5
/// ```
public struct RetrievalMetrics: Sendable, Equatable {
    /// Queries are images, candidates are texts; one query per image.
    public var imageToText: RetrievalDirectionMetrics
    /// Queries are texts, candidates are images; one query per text.
    public var textToImage: RetrievalDirectionMetrics

    /// The recall cut-offs open_clip reports.
    public static let recallCutoffs = [1, 5, 10]

    /// Metrics from a similarity matrix `similarity[image][text]` (any score where higher is
    /// better: cosines or logits give the same ranks).
    public init(similarity: [[Float]], imageOfText: [Int]) {
        let n = similarity.count, m = imageOfText.count
        precondition(similarity.allSatisfy { $0.count == m }, "similarity rows must have one entry per text (\(m))")
        let textsOfImage = Self.textsOfImage(imageOfText, imageCount: n)
        imageToText = RetrievalDirectionMetrics(
            ranks: (0..<n).map { Ranking.bestRank(of: textsOfImage[$0], in: similarity[$0]) })
        textToImage = RetrievalDirectionMetrics(
            ranks: (0..<m).map { t in
                Ranking.rank(of: imageOfText[t], in: (0..<n).map { similarity[$0][t] })
            })
    }

    /// Metrics from features (N, E) and (M, E), L2-normalised here. The similarity matrix is
    /// computed in row blocks of at most `blockElements` scores, so memory stays bounded for
    /// large evaluation sets; text→image scores come from texts × imagesᵀ.
    public init(imageFeatures: Tensor, textFeatures: Tensor, imageOfText: [Int], blockElements: Int = 1 << 22) {
        precondition(
            imageFeatures.rank == 2 && textFeatures.rank == 2 && imageFeatures.shape[1] == textFeatures.shape[1],
            "features must be (N, E) and (M, E), got \(imageFeatures.shape) and \(textFeatures.shape)")
        let n = imageFeatures.shape[0], m = textFeatures.shape[0]
        precondition(imageOfText.count == m, "one image index per text")
        let images = Tensor.l2Normalized(imageFeatures), texts = Tensor.l2Normalized(textFeatures)
        let textsOfImage = Self.textsOfImage(imageOfText, imageCount: n)
        imageToText = RetrievalDirectionMetrics(
            ranks: Self.blockwiseRanks(queries: images, candidates: texts, blockElements: blockElements) {
                Ranking.bestRank(of: textsOfImage[$0], in: $1)
            })
        textToImage = RetrievalDirectionMetrics(
            ranks: Self.blockwiseRanks(queries: texts, candidates: images, blockElements: blockElements) {
                Ranking.rank(of: imageOfText[$0], in: $1)
            })
    }

    /// The metrics under open_clip's names: `image_to_text_R@1`, `image_to_text_R@5`,
    /// `image_to_text_R@10`, `image_to_text_mean_rank`, `image_to_text_median_rank`, and the
    /// same for `text_to_image`.
    public var dictionary: [String: Double] {
        var out: [String: Double] = [:]
        for (name, direction) in [("image_to_text", imageToText), ("text_to_image", textToImage)] {
            for k in Self.recallCutoffs { out["\(name)_R@\(k)"] = direction.recall(at: k) }
            out["\(name)_mean_rank"] = direction.meanRank
            out["\(name)_median_rank"] = direction.medianRank
        }
        return out
    }

    static func textsOfImage(_ imageOfText: [Int], imageCount: Int) -> [[Int]] {
        var textsOfImage = [[Int]](repeating: [], count: imageCount)
        for (t, i) in imageOfText.enumerated() {
            precondition(i >= 0 && i < imageCount, "text \(t) refers to image \(i) of \(imageCount)")
            textsOfImage[i].append(t)
        }
        for (i, texts) in textsOfImage.enumerated() { precondition(!texts.isEmpty, "image \(i) has no text") }
        return textsOfImage
    }

    /// Ranks per query row from (block, candidates) score blocks.
    static func blockwiseRanks(
        queries: Tensor, candidates: Tensor, blockElements: Int,
        rank: (_ query: Int, _ scores: ArraySlice<Float>) -> Int
    ) -> [Int] {
        let q = queries.shape[0], c = candidates.shape[0]
        guard q > 0 else { return [] }
        let rows = max(1, min(q, blockElements / max(c, 1)))
        let candidatesT = candidates.transposed(0, 1)  // (E, C)
        var ranks: [Int] = []
        ranks.reserveCapacity(q)
        for start in stride(from: 0, to: q, by: rows) {
            let end = min(start + rows, q)
            let scores = Tensor.matmul(queries.sliced(dim: 0, range: start..<end), candidatesT).scalars  // (rows, C)
            for r in 0..<(end - start) {
                ranks.append(rank(start + r, scores[(r * c)..<((r + 1) * c)]))
            }
        }
        return ranks
    }
}
