/// The `k` best (score, id) pairs seen so far: a min-heap whose root is the worst kept score,
/// so a candidate costs one comparison unless it enters the top k.
struct TopK {
    let k: Int
    private(set) var heap: [(score: Float, id: Int64)] = []

    init(_ k: Int) {
        self.k = k
        heap.reserveCapacity(k)
    }

    /// The score a candidate must beat to enter (−∞ until k are kept).
    var floor: Float { heap.count < k ? -.infinity : heap[0].score }

    mutating func insert(_ score: Float, _ id: Int64) {
        guard k > 0 else { return }
        if heap.count < k {
            heap.append((score, id))
            siftUp(heap.count - 1)
        } else if Self.worse(heap[0], (score, id)) {
            heap[0] = (score, id)
            siftDown(0)
        }
    }

    /// Best first; equal scores by id, so results do not depend on threading.
    func sorted() -> [(score: Float, id: Int64)] { heap.sorted { Self.worse($1, $0) } }

    /// Whether a ranks below b: lower score, or the same score and a larger id.
    static func worse(_ a: (score: Float, id: Int64), _ b: (score: Float, id: Int64)) -> Bool {
        a.score < b.score || (a.score == b.score && a.id > b.id)
    }

    private mutating func siftUp(_ index: Int) {
        var child = index
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.worse(heap[child], heap[parent]) else { return }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ index: Int) {
        var parent = index
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < heap.count && Self.worse(heap[left], heap[smallest]) { smallest = left }
            if right < heap.count && Self.worse(heap[right], heap[smallest]) { smallest = right }
            if smallest == parent { return }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
