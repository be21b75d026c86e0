import Foundation

/// A bounded, thread-safe memo of word bytes -> BPE ids (SimpleTokenizer keeps an unbounded dict).
///
/// Bounded two ways: only words of at most ``maxWordLength`` bytes are stored, and when
/// ``capacity`` words are stored the cache is emptied and refills with the words in use, so
/// memory stays flat on an endless stream of new words. One lock guards it (the caller takes
/// it, see ``lock()``); tokenizing from several tasks at once is safe.
///
/// Most words of real text are cache hits, so a hit is kept cheap: an open-addressing table
/// (FNV-1a hash, linear probing) over flat byte and id arenas, looked up straight from the
/// word's bytes in the input, without allocating a key.
final class MergeCache: @unchecked Sendable {
    /// Longer words are not stored (Hugging Face tokenizers use the same limit); they are rare.
    static let maxWordLength = 256

    let capacity: Int
    private let mutex = NSLock()
    /// Guarded by `mutex`. A struct in one stored property, so that a lookup pays for one
    /// exclusivity check instead of one per array it touches.
    private var table: Table

    init(capacity: Int = 32_768) {
        precondition(capacity > 0, "MergeCache capacity must be positive")
        self.capacity = capacity
        table = Table(capacity: capacity)
    }

    /// Takes the lock; the callers of ``appendLocked(_:to:)`` and ``storeLocked(_:for:)`` hold it.
    /// A tokenizer takes it once per text rather than once per word: a lock round trip costs
    /// about as much as a cache hit.
    func lock() { mutex.lock() }
    func unlock() { mutex.unlock() }

    /// Appends the cached ids of `word` to `ids` and returns true, or returns false on a miss.
    func appendLocked(_ word: UnsafeBufferPointer<UInt8>, to ids: inout [Int32]) -> Bool {
        guard word.count <= Self.maxWordLength else { return false }
        return table.append(word, to: &ids)
    }

    func storeLocked(_ ids: [Int32], for word: UnsafeBufferPointer<UInt8>) {
        guard word.count <= Self.maxWordLength else { return }
        table.store(ids, for: word)
    }

    var count: Int {
        mutex.lock()
        defer { mutex.unlock() }
        return table.count
    }

    private struct Table {
        let capacity: Int
        /// Entry index + 1 per slot, 0 = empty; a power of two at least twice `capacity`.
        var slots: [Int32]
        var entryHash: [UInt64] = []
        /// Where each entry's key and value start in the arenas; entry i ends where i + 1 starts.
        var keyStart: [Int32] = []
        var valueStart: [Int32] = []
        var keys: [UInt8] = []
        var values: [Int32] = []

        init(capacity: Int) {
            self.capacity = capacity
            var size = 16
            while size < 2 * capacity { size *= 2 }
            slots = [Int32](repeating: 0, count: size)
        }

        var count: Int { entryHash.count }

        @inline(__always)
        static func hash(_ word: UnsafeBufferPointer<UInt8>) -> UInt64 {
            var h: UInt64 = 0xCBF2_9CE4_8422_2325
            for b in word { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
            return h
        }

        /// The entry of `word`, if stored.
        func find(_ word: UnsafeBufferPointer<UInt8>, hash h: UInt64) -> Int? {
            slots.withUnsafeBufferPointer { slots in
                keys.withUnsafeBufferPointer { keys in
                    let mask = slots.count - 1
                    var s = Int(truncatingIfNeeded: h) & mask
                    while slots[s] != 0 {
                        let e = Int(slots[s]) - 1
                        if entryHash[e] == h {
                            let start = Int(keyStart[e])
                            let end = e + 1 < keyStart.count ? Int(keyStart[e + 1]) : keys.count
                            if end - start == word.count,
                                memcmp(keys.baseAddress! + start, word.baseAddress!, word.count) == 0
                            {
                                return e
                            }
                        }
                        s = (s + 1) & mask
                    }
                    return nil
                }
            }
        }

        // Mutating only so that the call borrows the stored table instead of copying it out.
        mutating func append(_ word: UnsafeBufferPointer<UInt8>, to ids: inout [Int32]) -> Bool {
            guard let e = find(word, hash: Self.hash(word)) else { return false }
            let end = e + 1 < valueStart.count ? Int(valueStart[e + 1]) : values.count
            let start = Int(valueStart[e])
            values.withUnsafeBufferPointer { ids.append(contentsOf: UnsafeBufferPointer(rebasing: $0[start..<end])) }
            return true
        }

        mutating func store(_ ids: [Int32], for word: UnsafeBufferPointer<UInt8>) {
            let h = Self.hash(word)
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

        mutating func removeAll() {
            for i in slots.indices { slots[i] = 0 }
            entryHash.removeAll(keepingCapacity: true)
            keyStart.removeAll(keepingCapacity: true)
            valueStart.removeAll(keepingCapacity: true)
            keys.removeAll(keepingCapacity: true)
            values.removeAll(keepingCapacity: true)
        }
    }
}
