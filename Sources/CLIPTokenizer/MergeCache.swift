import Foundation

/// A bounded, thread-safe memo of word bytes -> BPE ids (SimpleTokenizer keeps an unbounded dict).
///
/// Bounded two ways: only words of at most ``maxWordLength`` bytes are stored, and when
/// ``capacity`` words are stored the cache is emptied and refills with the words in use, so
/// memory stays flat on an endless stream of new words. One lock guards it; tokenizing from
/// several tasks at once is safe.
///
/// Most words of real text are cache hits, so a hit is kept cheap: an open-addressing table
/// (FNV-1a hash, linear probing) over flat byte and id arenas, looked up straight from the
/// word's bytes in the input, without allocating a key.
final class MergeCache: @unchecked Sendable {
    /// Longer words are rare and their merge is cheap per byte; storing them would waste memory.
    static let maxWordLength = BytePairMerger.scanLimit

    let capacity: Int
    private let lock = NSLock()
    // Everything below is guarded by `lock`.
    /// Entry index + 1 per slot, 0 = empty; a power of two at least twice `capacity`.
    private var slots: [Int32]
    private var entryHash: [UInt64] = []
    private var keyStart: [Int32] = []
    private var valueStart: [Int32] = []
    /// Keys and values back to back; entry i's key ends where entry i + 1's key starts.
    private var keys: [UInt8] = []
    private var values: [Int32] = []

    init(capacity: Int = 32_768) {
        precondition(capacity > 0, "MergeCache capacity must be positive")
        self.capacity = capacity
        var size = 16
        while size < 2 * capacity { size *= 2 }
        slots = [Int32](repeating: 0, count: size)
    }

    @inline(__always)
    private static func hash(_ word: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in word { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
        return h
    }

    /// Appends the cached ids of `word` to `ids` and returns true, or returns false on a miss.
    func append(_ word: UnsafeBufferPointer<UInt8>, to ids: inout [Int32]) -> Bool {
        guard word.count <= Self.maxWordLength else { return false }
        let h = Self.hash(word)
        lock.lock()
        defer { lock.unlock() }
        guard let e = find(word, hash: h) else { return false }
        let end = e + 1 < valueStart.count ? Int(valueStart[e + 1]) : values.count
        ids.append(contentsOf: values[Int(valueStart[e])..<end])
        return true
    }

    /// The entry of `word`, if stored.
    private func find(_ word: UnsafeBufferPointer<UInt8>, hash h: UInt64) -> Int? {
        let mask = slots.count - 1
        var s = Int(truncatingIfNeeded: h) & mask
        while slots[s] != 0 {
            let e = Int(slots[s]) - 1
            if entryHash[e] == h {
                let start = Int(keyStart[e])
                let end = e + 1 < keyStart.count ? Int(keyStart[e + 1]) : keys.count
                if end - start == word.count,
                   keys.withUnsafeBufferPointer({ memcmp($0.baseAddress! + start, word.baseAddress!, word.count) == 0 }) {
                    return e
                }
            }
            s = (s + 1) & mask
        }
        return nil
    }

    func store(_ ids: [Int32], for word: UnsafeBufferPointer<UInt8>) {
        guard word.count <= Self.maxWordLength else { return }
        let h = Self.hash(word)
        lock.lock()
        defer { lock.unlock() }
        if find(word, hash: h) != nil { return }  // another task stored it meanwhile
        if entryHash.count >= capacity { removeAll() }
        let mask = slots.count - 1
        var s = Int(truncatingIfNeeded: h) & mask
        while slots[s] != 0 { s = (s + 1) & mask }
        entryHash.append(h)
        keyStart.append(Int32(keys.count))
        valueStart.append(Int32(values.count))
        keys.append(contentsOf: word)
        values.append(contentsOf: ids)
        slots[s] = Int32(entryHash.count)
    }

    private func removeAll() {
        for i in slots.indices { slots[i] = 0 }
        entryHash.removeAll(keepingCapacity: true)
        keyStart.removeAll(keepingCapacity: true)
        valueStart.removeAll(keepingCapacity: true)
        keys.removeAll(keepingCapacity: true)
        values.removeAll(keepingCapacity: true)
    }

    var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return entryHash.count
    }
}
