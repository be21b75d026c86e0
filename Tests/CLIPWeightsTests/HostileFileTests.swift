import Foundation
import Testing

@testable import CLIPWeights

#if canImport(Glibc)
    import Glibc
#endif

// Issue 14 case 4: files that declare or imply far more memory than they hold must be refused
// with a typed error before the memory is taken; and case 5: a FIFO named as the model must be
// refused by its type instead of blocking in open(2). Every file is built here, a few KB at most.
@Suite struct HostileFileTests {
    typealias P = HostileFiles.Pickle

    func loadError(_ bytes: [UInt8], name: String = "hostile.pt") throws -> WeightError? {
        try HostileFiles.withFile(bytes, name: name) { url in
            do {
                _ = try WeightLoader.load(url)
                return nil
            } catch let error as WeightError {
                return error
            }
        }
    }

    func expectLimit(
        _ error: WeightError?, mentioning words: [String], sourceLocation: SourceLocation = #_sourceLocation
    ) {
        guard case .limitExceeded(_, let detail) = error else {
            Issue.record("expected limitExceeded, got \(String(describing: error))", sourceLocation: sourceLocation)
            return
        }
        for word in words {
            #expect(detail.contains(word), "\(detail)", sourceLocation: sourceLocation)
        }
        print("refused: \(error?.errorDescription ?? "")")
    }

    /// The issue's 176-byte zip: a deflated member declaring 1 TiB (zip64). It aborted the
    /// process in `reserveCapacity`. As data.pkl it passes the record limit; as a tensor record
    /// DEFLATE's ratio (16 compressed bytes cannot hold 1 TiB).
    @Test func entryDeclaringATebibyteIsRefused() throws {
        let stream = HostileFiles.deflatedZeros(16)
        let pickleBomb = HostileFiles.zip([
            .init(name: "archive/data.pkl", data: stream, method: 8, uncompressedSize: 1 << 40, crc: 0)
        ])
        print("zip of \(pickleBomb.count) bytes declaring a 1 TiB data.pkl")
        #expect(pickleBomb.count < 256)
        expectLimit(try loadError(pickleBomb), mentioning: ["archive/data.pkl", "1099511627776", "at most 67108864"])

        let pickle = P.stateDict(name: "w", count: 4, shape: [4], strides: [1])
        let recordBomb = HostileFiles.zip([
            .init(name: "archive/data.pkl", data: pickle),
            .init(name: "archive/data/0", data: stream, method: 8, uncompressedSize: 1 << 40, crc: 0),
        ])
        expectLimit(try loadError(recordBomb), mentioning: ["archive/data/0", "1099511627776", "1032:1"])
    }

    /// A data.pkl that honestly inflates to more than any checkpoint's pickle (65 MiB from a
    /// ~430 KB stream; the issue's 1 GiB one took 1.1 GB): refused from its declared size.
    @Test func oversizedPickleRecordIsRefused() throws {
        let size = 65 << 20
        let stream = HostileFiles.deflatedZeros(size)
        let crc = [UInt8](repeating: 0, count: size).withUnsafeBytes { crc32($0) }
        let bytes = HostileFiles.zip([
            .init(name: "archive/data.pkl", data: stream, method: 8, uncompressedSize: UInt64(size), crc: crc)
        ])
        expectLimit(
            try loadError(bytes), mentioning: ["archive/data.pkl", "\(size)", "\(ZipArchive.maximumRecordSize)"])
    }

    /// The stream checks agree with the declared size: one that produces more than it declares
    /// stops at the declared size.
    @Test func streamLongerThanDeclaredIsRefused() throws {
        let stream = HostileFiles.deflatedZeros(5000)
        let bytes = HostileFiles.zip([
            .init(name: "archive/data.pkl", data: stream, method: 8, uncompressedSize: 100, crc: 0)
        ])
        guard case .invalidZip(_, let detail) = try loadError(bytes) else {
            Issue.record("expected invalidZip")
            return
        }
        #expect(detail.contains("more than the declared size"), "\(detail)")
    }

    /// A deflated tensor record inflating past the file's budget (64 MiB + 4 × its size): the
    /// pickle asks for 24 Mi floats (96 MiB) stored as ~600 KB of DEFLATE.
    @Test func deflatedTensorRecordIsBoundedByTheFileBudget() throws {
        let count: Int32 = 24 << 20
        let size = Int(count) * 4
        let crc = [UInt8](repeating: 0, count: size).withUnsafeBytes { crc32($0) }
        let pickle = P.stateDict(name: "w", count: count, shape: [count], strides: [1])
        var entries = [HostileFiles.ZipEntry(name: "archive/data.pkl", data: pickle)]
        entries.append(
            .init(
                name: "archive/data/0", data: HostileFiles.deflatedZeros(size), method: 8,
                uncompressedSize: UInt64(size), crc: crc))
        expectLimit(try loadError(HostileFiles.zip(entries)), mentioning: ["inflating archive/data/0", "\(size)"])
    }

    /// The issue's 392-byte pickle: one float viewed as 32768 × 32768 through strides (0, 0)
    /// (4 GiB to gather; 2^20 × 2^20 aborted). Refused before the copy is allocated.
    @Test(arguments: [Int32(32768), Int32(1 << 20)])
    func zeroStrideViewIsRefusedBeforeGathering(side: Int32) throws {
        let pickle = P.stateDict(name: "w", count: 1, shape: [side, side], strides: [0, 0])
        print("pickle of \(pickle.count) bytes viewing 1 float as \(side) x \(side)")
        let bytes = HostileFiles.torchArchive(
            pickle: .init(name: "archive/data.pkl", data: pickle), records: ["0": [0, 0, 0x80, 0x3F]])
        expectLimit(try loadError(bytes), mentioning: ["[\(side), \(side)]", "stride [0, 0]", "(1 elements)"])
    }

    /// Genuine strided views (a saved transpose) still load; the budget only refuses amplification.
    @Test func smallZeroStrideViewStillLoads() throws {
        let pickle = P.stateDict(name: "w", count: 1, shape: [3, 2], strides: [0, 0])
        let bytes = HostileFiles.torchArchive(
            pickle: .init(name: "archive/data.pkl", data: pickle), records: ["0": [0, 0, 0x80, 0x3F]])
        let state = try HostileFiles.withFile(bytes, name: "ok.pt") { try WeightLoader.load($0) }
        let w = try #require(state.tensors["w"])
        #expect(w.shape == [3, 2])
        #expect(doubles(w) == [Double](repeating: 1, count: 6))
    }

    /// A storage record asked for more elements than it holds fails before it is read.
    @Test func storageLargerThanItsRecordIsRefused() throws {
        let pickle = P.stateDict(name: "w", count: Int32.max, shape: [1], strides: [1])
        let bytes = HostileFiles.torchArchive(
            pickle: .init(name: "archive/data.pkl", data: pickle), records: ["0": [0, 0, 0x80, 0x3F]])
        guard case .invalidTensor(_, _, let detail) = try loadError(bytes) else {
            Issue.record("expected invalidTensor")
            return
        }
        #expect(detail.contains("2147483647 float32 elements need more than the record's 4 bytes"), "\(detail)")
    }

    /// A safetensors header is JSON, which takes ~40 times its text once parsed: a 4 MB header of
    /// two million zeros is refused by counting before parsing (a 100 MB one would take GBs).
    @Test func safetensorsHeaderWithMillionsOfValuesIsRefused() throws {
        var header = Array(#"{"a":{"dtype":"F32","shape":["#.utf8)
        header += [UInt8](repeating: 0, count: 2_000_000).flatMap { _ in Array("0,".utf8) }
        header += Array(#"0],"data_offsets":[0,0]}}"#.utf8)
        let bytes = HostileFiles.le64(UInt64(header.count)) + header
        expectLimit(try loadError(bytes, name: "hostile.safetensors"), mentioning: ["JSON values", "1048576"])
    }

    /// A zip whose end record claims more entries than its directory can hold.
    @Test func entryCountBeyondTheDirectoryIsRefused() throws {
        var bytes = HostileFiles.zip([.init(name: "archive/data.pkl", data: P.proto + P.emptyDict + P.stop)])
        // EOCD: total entries at offset 10 from its start, 22 bytes before the end.
        bytes[bytes.count - 12] = 0xFF
        bytes[bytes.count - 11] = 0xFF
        guard case .invalidZip(_, let detail) = try loadError(bytes) else {
            Issue.record("expected invalidZip")
            return
        }
        #expect(detail.contains("65535 entries cannot fit"), "\(detail)")
    }

    /// Case 5: a FIFO is refused by its type; open(2) on it would block until a writer appears.
    /// The load runs on a thread with a deadline, so a regression fails instead of hanging.
    @Test func fifoIsRefusedWithoutBlocking() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("clip-fifo-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let fifo = folder.appendingPathComponent("model.safetensors")
        #expect(mkfifo(fifo.path, 0o600) == 0)
        let outcome = try runWithDeadline(seconds: 10, unblocking: fifo) {
            do {
                _ = try WeightLoader.load(fifo)
                return "loaded"
            } catch {
                return (error as? LocalizedError)?.errorDescription ?? "\(error)"
            }
        }
        #expect(outcome == "Cannot open \(fifo.path): a FIFO (named pipe), not a regular file or folder.")

        // The same inside a Hugging Face folder: config.json as a FIFO.
        let config = folder.appendingPathComponent("config.json")
        #expect(mkfifo(config.path, 0o600) == 0)
        let folderOutcome = try runWithDeadline(seconds: 10, unblocking: config) {
            do {
                _ = try WeightLoader.load(folder)
                return "loaded"
            } catch {
                return (error as? LocalizedError)?.errorDescription ?? "\(error)"
            }
        }
        #expect(folderOutcome.contains("a FIFO (named pipe)"), "\(folderOutcome)")
    }

    /// Runs `body` on a thread; if it has not finished after `seconds`, opens `fifo` for writing
    /// (which releases a reader blocked in open) and fails the test.
    func runWithDeadline(seconds: Double, unblocking fifo: URL, _ body: @escaping @Sendable () -> String) throws
        -> String
    {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result = ""
        let thread = Thread {
            result = body()
            done.signal()
        }
        thread.start()
        if done.wait(timeout: .now() + seconds) == .timedOut {
            Issue.record("loading \(fifo.lastPathComponent) still blocked after \(seconds) s")
            let fd = open(fifo.path, O_WRONLY | O_NONBLOCK)
            if fd >= 0 { close(fd) }
            done.wait()
        }
        return result
    }
}

/// The read budget is shared by the threads that inflate TorchScript's code records: concurrent
/// reservations are counted exactly, and exactly those that fit succeed.
@Test func readBudgetCountsConcurrentReservations() {
    final class Count: @unchecked Sendable {
        let lock = NSLock()
        var value = 0
    }
    let budget = ReadBudget(path: "concurrent", limit: 60_000)
    let successes = Count()
    DispatchQueue.concurrentPerform(iterations: 100_000) { _ in
        if (try? budget.reserve(1, for: "a record")) != nil { successes.lock.withLock { successes.value += 1 } }
    }
    #expect(successes.value == 60_000)
    #expect(budget.used == 60_000)
}
