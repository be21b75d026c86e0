import Foundation

/// A bounded, thread-safe memo of word bytes -> BPE ids (SimpleTokenizer keeps an unbounded dict).
///
/// Bounded two ways: only words of at most ``maxWordLength`` bytes are stored, and when
/// ``capacity`` words are stored the cache is emptied and refills with the words in use, so
/// memory stays flat on an endless stream of new words. One lock guards it; lookups are short
/// compared with a merge, and tokenizing from several tasks at once is safe.
final class MergeCache: @unchecked Sendable {
    /// Longer words are rare and their merge is cheap per byte; storing them would waste memory.
    static let maxWordLength = BytePairMerger.scanLimit

    let capacity: Int
    private let lock = NSLock()
    // Guarded by `lock`.
    private var entries: [[UInt8]: [Int32]] = [:]

    init(capacity: Int = 32_768) {
        precondition(capacity > 0, "MergeCache capacity must be positive")
        self.capacity = capacity
    }

    func value(for word: [UInt8]) -> [Int32]? {
        lock.lock()
        defer { lock.unlock() }
        return entries[word]
    }

    func store(_ ids: [Int32], for word: [UInt8]) {
        guard word.count <= Self.maxWordLength else { return }
        lock.lock()
        defer { lock.unlock() }
        if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
        entries[word] = ids
    }

    var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return entries.count
    }
}
