import Foundation
import Testing

@testable import CLIPServer

/// The batcher on a stand-in model that records what it runs: texts of one batch are run
/// shortest first (by EOT position), and every request still gets its rows in its own order.
@Suite struct BatcherTests {
    /// A text item tagged `tag` (at position 1) whose EOT (the largest id) sits at position
    /// `length − 1` (at least 3).
    static func text(tag: Int32, length: Int) -> EmbeddingItem {
        var ids = [Int32](repeating: 0, count: 77)
        ids[0] = 49406
        ids[1] = tag
        ids[length - 1] = 49407
        return .text(ids)
    }

    final class Recorder: @unchecked Sendable {
        let lock = NSLock()
        var batches: [[Int]] = []
        func record(_ lengths: [Int]) { lock.withLock { batches.append(lengths) } }
    }

    @Test func textsRunShortestFirstAndAnswersKeepRequestOrder() async throws {
        let recorder = Recorder()
        let batcher = EmbeddingBatcher(
            maxBatch: 32, maxWait: .milliseconds(300), maxConcurrent: 16, metrics: ServerMetrics(maxBatch: 32)
        ) { items in
            recorder.record(items.map(\.length))
            // Row = (tag, length): tells which item it answers.
            return items.map { item in
                guard case .text(let ids) = item else { return [] }
                return [Float(ids[1]), Float(item.length)]
            }
        }
        batcher.start()
        defer { batcher.stop() }
        let requests: [[(tag: Int32, length: Int)]] = [
            [(1, 40), (2, 4), (3, 77)], [(4, 10)], [(5, 60), (6, 3), (7, 10), (8, 25)],
        ]
        let answers = try await withThrowingTaskGroup(of: (Int, [[Float]]).self) { group in
            for (r, request) in requests.enumerated() {
                group.addTask {
                    (r, try await batcher.embed(request.map { Self.text(tag: $0.tag, length: $0.length) }))
                }
            }
            return try await group.reduce(into: [Int: [[Float]]]()) { $0[$1.0] = $1.1 }
        }
        for (r, request) in requests.enumerated() {
            #expect(answers[r] == request.map { [Float($0.tag), Float($0.length)] }, "request \(r)")
        }
        let batches = recorder.lock.withLock { recorder.batches }
        #expect(batches.reduce(0) { $0 + $1.count } == 8)
        for lengths in batches { #expect(lengths == lengths.sorted(), "\(lengths)") }
        print("batches run: \(batches)")
    }

    @Test func byLengthIsStable() {
        let items = [(0, 5), (1, 2), (2, 5), (3, 1), (4, 2)]
        #expect(EmbeddingBatcher.byLength(items) { $0.1 }.map(\.0) == [3, 1, 4, 0, 2])
    }
}
