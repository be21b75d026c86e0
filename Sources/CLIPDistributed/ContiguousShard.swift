/// Rank r's contiguous share of `count` items over `worldSize` ranks: the first `count % worldSize`
/// ranks take one more, so concatenating the shares in rank order gives the input order back.
///
/// ```swift
/// ContiguousShard.range(count: 10, rank: 1, worldSize: 3)  // 4..<7
/// ```
public enum ContiguousShard {
    public static func range(count: Int, rank: Int, worldSize: Int) -> Range<Int> {
        precondition(count >= 0 && worldSize > 0 && (0..<worldSize).contains(rank), "bad shard request")
        let base = count / worldSize, extra = count % worldSize
        let start = rank * base + min(rank, extra)
        return start..<(start + base + (rank < extra ? 1 : 0))
    }

    /// Every rank's share, in rank order.
    public static func ranges(count: Int, worldSize: Int) -> [Range<Int>] {
        (0..<worldSize).map { range(count: count, rank: $0, worldSize: worldSize) }
    }
}
