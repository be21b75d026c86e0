import Foundation
import Testing

@testable import CLIPTokenizer

// The two merge algorithms agree, and the heap merge does linear work on 1 MB words.

/// Every word of the corpus longer than two bytes, merged both ways.
@Test func heapMergeEqualsScanOnCorpusWords() throws {
    let tokenizer = try #require(Fixtures.tokenizer)
    let merger = tokenizer.vocabulary.merger
    var words = 0, mismatches = 0
    var first: String?
    for row in Fixtures.corpus {
        var clean = row.clean ?? ""
        clean.withUTF8 { utf8 in
            PreTokenizer.split(utf8) { range in
                guard range.count > 2 else { return }
                let symbols = tokenizer.symbols(of: UnsafeBufferPointer(rebasing: utf8[range]))
                words += 1
                let scan = merger.mergeByScan(symbols), heap = merger.mergeByHeap(symbols)
                if scan != heap {
                    mismatches += 1
                    if first == nil {
                        first =
                            "\(String(decoding: UnsafeBufferPointer(rebasing: utf8[range]), as: UTF8.self).debugDescription): scan \(scan) heap \(heap)"
                    }
                }
            }
        }
    }
    print("heapMergeEqualsScanOnCorpusWords: \(words) words, \(mismatches) mismatches")
    #expect(words > 10_000)
    #expect(mismatches == 0, "first: \(first ?? "")")
}

/// Long random words (where the tokenizer switches to the heap) merged both ways.
@Test(arguments: [("abcdefghijklmnopqrstuvwxyz", 65), ("aeiou", 100), ("ab", 130), ("abc xyz!?'0123456789éß中文😀", 300)])
func heapMergeEqualsScanOnRandomWords(alphabet: String, length: Int) throws {
    let tokenizer = try #require(Fixtures.tokenizer)
    let merger = tokenizer.vocabulary.merger
    let letters = Array(alphabet)
    var generator = SplitMix64(seed: UInt64(length))
    for _ in 0..<40 {
        let word = String((0..<length).map { _ in letters[Int(generator.next() % UInt64(letters.count))] })
        let symbols = tokenizer.symbols(of: Array(word.utf8))
        #expect(merger.mergeByScan(symbols) == merger.mergeByHeap(symbols), "\(word.debugDescription)")
    }
}

/// A 1 MB string without spaces (one word) costs O(n) heap operations, hence O(n log n) time, never O(n²):
/// each of the n - 1 possible merges pushes at most two pairs, so pops <= pushes <= 3n.
@Test(arguments: ["repeat", "random letters", "mixed"])
func megabyteWordDoesLinearWork(kind: String) throws {
    let tokenizer = try #require(Fixtures.tokenizer)
    // 1 MiB each; the mixed case (punctuation, digits) splits into short words and is smaller.
    let n = kind == "mixed" ? 1 << 18 : 1 << 20
    var generator = SplitMix64(seed: 7)
    let letters = Array("abcdefghijklmnopqrstuvwxyz".utf8)
    let mixed = Array("ab1.,cd!?ef-_gh".utf8)
    let bytes: [UInt8] =
        switch kind {
        case "repeat": [UInt8](repeating: UInt8(ascii: "a"), count: n)
        case "random letters": (0..<n).map { _ in letters[Int(generator.next() % 26)] }
        default: (0..<n).map { _ in mixed[Int(generator.next() % UInt64(mixed.count))] }
        }
    // The merge of one word of n symbols.
    var stats = BytePairMerger.HeapStats()
    let merged = tokenizer.vocabulary.merger.mergeByHeap(tokenizer.symbols(of: bytes), stats: &stats)
    print(
        "megabyteWordDoesLinearWork[\(kind)]: n \(n), pushes \(stats.pushes), pops \(stats.pops), merges \(stats.merges), ids \(merged.count)"
    )
    #expect(stats.merges == n - merged.count)
    #expect(stats.pushes <= 3 * n && stats.pops <= stats.pushes)
    // The whole pipeline (splitting is one linear pass) on a 128 KiB prefix, to keep debug runs short.
    let prefix = Array(bytes.prefix(1 << 17))
    let ids = tokenizer.encodeCleaned(String(decoding: prefix, as: UTF8.self))
    #expect(!ids.isEmpty)
    if kind != "mixed" { #expect(ids == tokenizer.vocabulary.merger.mergeByHeap(tokenizer.symbols(of: prefix))) }
}

/// The cache stays bounded: a tiny one keeps giving the same ids while it is emptied over and over.
@Test func boundedCacheGivesSameIds() throws {
    let shared = try #require(Fixtures.tokenizer)
    let small = Tokenizer(vocabulary: shared.vocabulary, cacheCapacity: 8)
    for row in Fixtures.corpus.prefix(500) {
        #expect(small.encodeCleaned(row.clean ?? "").map(Int.init) == row.ids)
        #expect(small.cache.count <= 8)
    }
}

/// Concurrent use from several tasks gives the same ids as one task (run under TSan too:
/// `swift test --sanitize=thread --filter CLIPTokenizerTests.concurrentTokenize`).
@Test func concurrentTokenize() async throws {
    let shared = try #require(Fixtures.tokenizer)
    // A small cache makes the tasks evict each other's entries all the time.
    let tokenizer = Tokenizer(vocabulary: shared.vocabulary, cacheCapacity: 64)
    let texts = Fixtures.corpus.prefix(1_500).map { $0.clean ?? "" }
    let expected = Fixtures.corpus.prefix(1_500).map(\.ids)
    let results = await withTaskGroup(of: (Int, [[Int]]).self) { group in
        for task in 0..<6 {
            group.addTask {
                // Each task walks the texts from a different starting point.
                let order = texts.indices.map { ($0 + task * 250) % texts.count }
                var ids = [[Int]](repeating: [], count: texts.count)
                for i in order { ids[i] = tokenizer.encodeCleaned(texts[i]).map(Int.init) }
                return (task, ids)
            }
        }
        var all: [(Int, [[Int]])] = []
        for await r in group { all.append(r) }
        return all
    }
    #expect(results.count == 6)
    for (task, ids) in results {
        let wrong = zip(ids, expected).filter { $0 != $1 }.count
        #expect(wrong == 0, "task \(task): \(wrong) texts differ")
    }
}

/// A large batch takes the parallel path and keeps the rows in order.
@Test func parallelBatchMatchesReference() throws {
    let tokenizer = try #require(Fixtures.tokenizer)
    let rows = Array(Fixtures.corpus.prefix(2_000))
    let batch = try tokenizer.tokenize(rows.map(\.text), truncate: true)
    let encoded = tokenizer.encode(rows.map(\.text))
    var wrong = 0
    for (i, row) in rows.enumerated() {
        let want = (row.tokens ?? []) + [Int](repeating: 0, count: 77 - (row.tokens?.count ?? 0))
        if batch[i].map(Int.init) != want || encoded[i] != row.ids { wrong += 1 }
    }
    #expect(wrong == 0, "\(wrong) of \(rows.count) rows differ")
}

/// A small deterministic generator (SplitMix64) so the random words are the same on every run.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
