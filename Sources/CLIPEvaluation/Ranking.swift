// Ranks of correct answers among scored candidates, the quantity behind recall@k, top-k
// accuracy and open_clip's mean/median rank (open_clip_train/train.py get_clip_metrics,
// open_clip_train/zero_shot.py accuracy).

/// Where the correct candidate lands when candidates are sorted by score, best first.
///
/// Ranks are 0-based: rank 0 is the best candidate. Ties are broken by candidate index, lower
/// index first (the order a stable descending sort gives), so results never depend on a sort
/// implementation. Exact ties only occur for duplicate embeddings (the same caption twice, the
/// same image twice); PyTorch's unstable `argsort`/`topk` leave their order unspecified.
///
/// ```swift
/// Ranking.rank(of: 2, in: [0.1, 0.9, 0.5])          // 1: only candidate 1 scores higher
/// Ranking.rank(of: 2, in: [0.5, 0.1, 0.5])          // 1: candidate 0 ties and comes first
/// Ranking.bestRank(of: [0, 2], in: [0.1, 0.9, 0.5]) // 1: candidate 2 is the better positive
/// ```
public enum Ranking {
    /// The 0-based rank of candidate `target` among `scores`.
    public static func rank<Scores: RandomAccessCollection>(of target: Int, in scores: Scores) -> Int
    where Scores.Element == Float, Scores.Index == Int {
        precondition(
            scores.indices.contains(scores.startIndex + target), "target \(target) outside \(scores.count) candidates")
        let base = scores.startIndex
        let score = scores[base + target]
        var rank = 0
        for j in 0..<scores.count {
            let other = scores[base + j]
            if other > score || (other == score && j < target) { rank += 1 }
        }
        return rank
    }

    /// The 0-based rank of the best-placed of several correct candidates (an image with several
    /// captions is retrieved as soon as any of them is). `targets` must not be empty.
    public static func bestRank<Scores: RandomAccessCollection>(of targets: [Int], in scores: Scores) -> Int
    where Scores.Element == Float, Scores.Index == Int {
        precondition(!targets.isEmpty, "bestRank needs at least one correct candidate")
        let base = scores.startIndex
        // The best-placed target is the highest-scoring one, lowest index among equals; no other
        // target can be ahead of it, so its rank is the minimum over all targets.
        var best = targets[0]
        for t in targets.dropFirst() {
            let s = scores[base + t], b = scores[base + best]
            if s > b || (s == b && t < best) { best = t }
        }
        return rank(of: best, in: scores)
    }
}
