// Follows SimpleTokenizer.bpe in openai/CLIP clip/simple_tokenizer.py (clip-anytorch 2.6.0).

/// The merge loop: turns the byte symbols of one word into vocabulary ids by applying the
/// merges in rank order.
///
/// Symbols are vocabulary ids. Every symbol string of SimpleTokenizer is a vocabulary entry and
/// equal strings get one id (the encoder keeps the last), so merging ids is merging strings.
///
/// Two exact algorithms:
/// - ``mergeByScan(_:)`` is the reference loop: find the lowest-ranked adjacent pair, merge all
///   its occurrences left to right, repeat. O(n²) per word of n symbols, fastest for short words.
/// - ``mergeByHeap(_:)`` keeps the pairs in a min-heap ordered by (rank, position) over a linked
///   list of symbols: each merge costs O(log n), a word O(n log n) — at most n - 1 merges and
///   3n heap pushes. It gives the same result as the scan whenever every merge's parts are
///   created by lower-ranked merges ("monotone" merges, which BPE training always produces
///   and ``isMonotone`` checks at load time): then the pairs a merge creates always rank
///   after it, so popping (rank, position) visits the occurrences of the current lowest pair
///   left to right exactly like the scan.
///
/// The bound: words of up to ``scanLimit`` symbols take the scan, longer words the heap. No
/// word is ever cut into chunks (as some tokenizers do for speed), so no result changes while
/// a 1 MB word without spaces still tokenizes in O(n log n).
struct BytePairMerger: Sendable, Equatable {
    /// Words longer than this many symbols (bytes) are merged with the heap.
    static let scanLimit = 64

    /// (left id, right id) -> (rank, merged id).
    private let pairs: PairTable
    /// Whether every merge's parts are created by lower-ranked merges (see the type's doc).
    let isMonotone: Bool

    struct Merge: Sendable, Equatable {
        var rank: Int32
        var merged: Int32
    }

    /// - Parameters:
    ///   - merges: (left, right, merged) ids in rank order; ids are not negative.
    init(merges: [(Int32, Int32, Int32)]) {
        // Python's dict(zip(merges, ranks)) keeps the last rank of a repeated pair.
        let pairs = PairTable(merges: merges)
        let symbols = merges.reduce(0) { max($0, Int($1.0), Int($1.1), Int($1.2)) } + 1
        var createdAt = [Int32](repeating: -1, count: symbols)  // symbol -> highest rank creating it
        for (rank, (_, _, m)) in merges.enumerated() { createdAt[Int(m)] = max(createdAt[Int(m)], Int32(rank)) }
        var monotone = true
        for (rank, (a, b, _)) in merges.enumerated() {
            if createdAt[Int(a)] >= Int32(rank) || createdAt[Int(b)] >= Int32(rank) { monotone = false }
        }
        // A repeated pair keeps only its last rank, which breaks the ordering argument too.
        if pairs.count != merges.count { monotone = false }
        self.pairs = pairs
        self.isMonotone = monotone
    }

    @inline(__always)
    func merge(_ a: Int32, _ b: Int32) -> Merge? { pairs[a, b] }

    /// Merges `symbols` with the algorithm that suits their length.
    func merge(_ symbols: [Int32]) -> [Int32] {
        symbols.count <= Self.scanLimit || !isMonotone ? mergeByScan(symbols) : mergeByHeap(symbols)
    }

    /// The reference loop of SimpleTokenizer.bpe, on ids.
    func mergeByScan(_ symbols: [Int32]) -> [Int32] {
        var word = symbols
        var next: [Int32] = []
        next.reserveCapacity(word.count)
        while word.count > 1 {
            var best: Merge?
            var first: Int32 = 0, second: Int32 = 0
            for k in 0..<(word.count - 1) {
                if let m = merge(word[k], word[k + 1]), m.rank < (best?.rank ?? .max) {
                    best = m
                    first = word[k]
                    second = word[k + 1]
                }
            }
            guard let best else { break }
            next.removeAll(keepingCapacity: true)
            var i = 0
            while i < word.count {
                if i + 1 < word.count && word[i] == first && word[i + 1] == second {
                    next.append(best.merged)
                    i += 2
                } else {
                    next.append(word[i])
                    i += 1
                }
            }
            swap(&word, &next)
        }
        return word
    }

    /// Work counters of the last ``mergeByHeap(_:stats:)`` call, for tests of the time bound.
    struct HeapStats {
        var pushes = 0
        var pops = 0
        var merges = 0
    }

    /// The O(n log n) merge; identical to ``mergeByScan(_:)`` for monotone merges.
    func mergeByHeap(_ symbols: [Int32]) -> [Int32] {
        var stats = HeapStats()
        return mergeByHeap(symbols, stats: &stats)
    }

    func mergeByHeap(_ symbols: [Int32], stats: inout HeapStats) -> [Int32] {
        let n = symbols.count
        guard n > 1 else { return symbols }
        // Plain buffers: this loop runs millions of times on a 1 MB word, and unsafe buffers keep
        // debug builds (the tests) within a few times of release speed.
        let symbol = UnsafeMutableBufferPointer<Int32>.allocate(capacity: n)
        _ = symbol.initialize(from: symbols)
        // Doubly linked list over positions; a merge keeps the left position and unlinks the right.
        let prev = UnsafeMutableBufferPointer<Int32>.allocate(capacity: n)
        let next = UnsafeMutableBufferPointer<Int32>.allocate(capacity: n)
        let alive = UnsafeMutableBufferPointer<Bool>.allocate(capacity: n)
        defer {
            symbol.deallocate()
            prev.deallocate()
            next.deallocate()
            alive.deallocate()
        }
        for i in 0..<n {
            prev[i] = Int32(i) - 1
            next[i] = i + 1 < n ? Int32(i + 1) : -1
            alive[i] = true
        }
        var heap = PairHeap(capacity: n)
        defer { heap.deallocate() }
        for i in 0..<(n - 1) {
            if let m = merge(symbol[i], symbol[i + 1]) {
                heap.push(
                    .init(
                        rank: m.rank, left: Int32(i), right: Int32(i + 1),
                        leftSymbol: symbol[i], rightSymbol: symbol[i + 1], merged: m.merged))
                stats.pushes += 1
            }
        }
        while let e = heap.pop() {
            stats.pops += 1
            let l = Int(e.left), r = Int(e.right)
            // Stale entries: a neighbour merged since this pair was pushed.
            guard alive[l], alive[r], next[l] == e.right,
                symbol[l] == e.leftSymbol, symbol[r] == e.rightSymbol
            else { continue }
            stats.merges += 1
            symbol[l] = e.merged
            alive[r] = false
            let after = next[r]
            next[l] = after
            if after >= 0 { prev[Int(after)] = Int32(l) }
            let before = prev[l]
            if before >= 0, let m = merge(symbol[Int(before)], symbol[l]) {
                heap.push(
                    .init(
                        rank: m.rank, left: before, right: Int32(l),
                        leftSymbol: symbol[Int(before)], rightSymbol: symbol[l], merged: m.merged))
                stats.pushes += 1
            }
            if after >= 0, let m = merge(symbol[l], symbol[Int(after)]) {
                heap.push(
                    .init(
                        rank: m.rank, left: Int32(l), right: after,
                        leftSymbol: symbol[l], rightSymbol: symbol[Int(after)], merged: m.merged))
                stats.pushes += 1
            }
        }
        var result: [Int32] = []
        var i: Int32 = 0
        while i >= 0 {
            result.append(symbol[Int(i)])
            i = next[Int(i)]
        }
        return result
    }
}

/// A binary min-heap of candidate merges ordered by (rank, left position), in a manually
/// grown buffer (see ``BytePairMerger/mergeByHeap(_:stats:)`` for why). Call ``deallocate()``.
struct PairHeap {
    struct Entry {
        var rank: Int32
        var left: Int32
        var right: Int32
        var leftSymbol: Int32
        var rightSymbol: Int32
        var merged: Int32

        @inline(__always)
        func precedes(_ other: Entry) -> Bool {
            rank != other.rank ? rank < other.rank : left < other.left
        }
    }

    private var items: UnsafeMutablePointer<Entry>
    private var capacity: Int
    private var count = 0

    init(capacity: Int) {
        self.capacity = max(capacity, 16)
        items = .allocate(capacity: self.capacity)
    }

    func deallocate() { items.deallocate() }

    mutating func push(_ e: Entry) {
        if count == capacity {
            let grown = UnsafeMutablePointer<Entry>.allocate(capacity: capacity * 2)
            grown.moveInitialize(from: items, count: count)
            items.deallocate()
            items = grown
            capacity *= 2
        }
        // Sift up: move parents down until e's place is found.
        var i = count
        count += 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard e.precedes(items[parent]) else { break }
            items[i] = items[parent]
            i = parent
        }
        (items + i).initialize(to: e)
    }

    mutating func pop() -> Entry? {
        guard count > 0 else { return nil }
        let top = items[0]
        count -= 1
        guard count > 0 else { return top }
        // Sift the last entry down from the root.
        let last = items[count]
        var i = 0
        while true {
            let l = 2 * i + 1
            guard l < count else { break }
            let r = l + 1
            let child = r < count && items[r].precedes(items[l]) ? r : l
            guard items[child].precedes(last) else { break }
            items[i] = items[child]
            i = child
        }
        items[i] = last
        return top
    }
}

/// An open-addressing table (id, id) -> merge, built once: ~49,000 inserts into a `Dictionary`
/// took several milliseconds of a first text query, and lookups are the merge loop's hot path.
struct PairTable: Sendable, Equatable {
    /// left << 32 | right per slot; `empty` marks a free slot (ids are not negative).
    private let keys: [UInt64]
    private let values: [BytePairMerger.Merge]
    private let mask: Int
    let count: Int
    private static let empty = UInt64.max

    /// The table of (left, right, merged) ids in rank order; a repeated pair keeps its last rank.
    init(merges: [(Int32, Int32, Int32)]) {
        var size = 16
        while size < 2 * merges.count { size <<= 1 }
        let mask = size - 1
        var keys = [UInt64](repeating: Self.empty, count: size)
        var values = [BytePairMerger.Merge](repeating: .init(rank: 0, merged: 0), count: size)
        var count = 0
        keys.withUnsafeMutableBufferPointer { keys in
            values.withUnsafeMutableBufferPointer { values in
                for (rank, (a, b, merged)) in merges.enumerated() {
                    precondition(a >= 0 && b >= 0, "merge ids are not negative")
                    let key = Self.key(a, b)
                    var i = Self.slot(key, mask)
                    while keys[i] != Self.empty && keys[i] != key { i = (i + 1) & mask }
                    if keys[i] == Self.empty { count += 1 }
                    keys[i] = key
                    values[i] = .init(rank: Int32(rank), merged: merged)
                }
            }
        }
        self.keys = keys
        self.values = values
        self.mask = mask
        self.count = count
    }

    @inline(__always)
    private static func key(_ a: Int32, _ b: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b))
    }

    /// Fibonacci hashing: the high bits of key × 2⁶⁴/φ.
    @inline(__always)
    private static func slot(_ key: UInt64, _ mask: Int) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
    }

    @inline(__always)
    subscript(a: Int32, b: Int32) -> BytePairMerger.Merge? {
        let key = Self.key(a, b)
        var i = Self.slot(key, mask)
        while true {
            let k = keys[i]
            if k == key { return values[i] }
            if k == Self.empty { return nil }
            i = (i + 1) & mask
        }
    }
}
