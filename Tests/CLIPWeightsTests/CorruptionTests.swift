import CLIPTestSupport
import Foundation
import Testing

@testable import CLIPWeights

// Truncated and bit-flipped copies of the fixtures: loading must give a StateDict or a typed
// WeightError, never a crash. Truncation must always be detected.
@Suite struct CorruptionTests {
    static let files = [
        "vit.safetensors", "vit-fp16.pt", "vit-nested.pt", "rn-jit.pt", "rn-bf16.safetensors",
        "hf-sharded/model-00001-of-00002.safetensors",
    ]

    func load(_ bytes: [UInt8], as name: String) -> Result<StateDict, WeightError>? {
        // A name of its own per call: the truncation and bit-flip tests of one file run in
        // parallel, and a shared path let one read the other's (complete) copy.
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(
            "clip-corrupt-\(getpid())-\(UUID().uuidString)-\(name.replacingOccurrences(of: "/", with: "_"))")
        defer { try? FileManager.default.removeItem(at: url) }
        guard FileManager.default.createFile(atPath: url.path, contents: Data(bytes)) else { return nil }
        do {
            return .success(try WeightLoader.load(url))
        } catch let error as WeightError {
            return .failure(error)
        } catch {
            Issue.record("\(name): untyped error \(error)")
            return nil
        }
    }

    @Test(arguments: files)
    func truncationIsDetected(name: String) throws {
        let original = [UInt8](try Data(contentsOf: Fixtures.models.appendingPathComponent(name)))
        var cuts = [
            0, 1, 4, 7, 8, 9, 30, 100, 1000, original.count / 2, original.count - 100, original.count - 23,
            original.count - 1,
        ]
        var rng = SeededGenerator(seed: 42)
        for _ in 0..<12 { cuts.append(Int.random(in: 0..<original.count, using: &rng)) }
        var kinds: [String: Int] = [:]
        for cut in cuts where cut < original.count {
            switch load(Array(original[..<cut]), as: name) {
            case .success: Issue.record("\(name) truncated to \(cut) bytes loaded without error")
            case .failure(let error): kinds[String(describing: error).prefix { $0 != "(" }.description, default: 0] += 1
            case nil: break
            }
        }
        print("\(name): truncations rejected as \(kinds)")
    }

    @Test(arguments: files)
    func bitFlipsNeverCrash(name: String) throws {
        let original = [UInt8](try Data(contentsOf: Fixtures.models.appendingPathComponent(name)))
        var rng = SeededGenerator(seed: 7)
        var loaded = 0, rejected = 0
        for trial in 0..<60 {
            var bytes = original
            // Half the flips hit the first 4 KiB (headers, pickles), half the last 4 KiB (zip directory).
            let window = min(4096, bytes.count)
            let position =
                trial % 2 == 0
                ? Int.random(in: 0..<window, using: &rng)
                : bytes.count - 1 - Int.random(in: 0..<window, using: &rng)
            bytes[position] ^= UInt8(1) << UInt8.random(in: 0..<8, using: &rng)
            switch load(bytes, as: name) {
            case .success: loaded += 1
            case .failure(let error):
                rejected += 1
                #expect(error.recoverySuggestion != nil)
            case nil: break
            }
        }
        print("\(name): 60 bit flips -> \(loaded) loaded, \(rejected) typed errors")
    }

    /// Deflate streams (TorchScript code records) with flipped or random bytes: data or a typed failure.
    @Test func corruptedDeflateStreamsFailCleanly() throws {
        let file = try MappedFile(url: Fixtures.models.appendingPathComponent("rn-jit.pt"))
        let zip = try ZipArchive(file)
        let compressed = zip.entries.filter { $0.method == 8 }.prefix(20)
        #expect(!compressed.isEmpty)
        var rng = SeededGenerator(seed: 5)
        var outcomes: [String: Int] = [:]
        for entry in compressed {
            let start =
                entry.localHeaderOffset + 30 + Int(readUInt16LE(file.bytes, at: entry.localHeaderOffset + 26))
                + Int(readUInt16LE(file.bytes, at: entry.localHeaderOffset + 28))
            let original = [UInt8](file.slice(start..<(start + entry.compressedSize)))
            for trial in 0..<25 {
                var bytes = original
                if trial == 0 {
                    bytes = (0..<bytes.count).map { _ in UInt8.random(in: 0...255, using: &rng) }
                } else {
                    bytes[Int.random(in: 0..<bytes.count, using: &rng)] ^= 1 << UInt8.random(in: 0..<8, using: &rng)
                }
                do {
                    _ = try bytes.withUnsafeBytes { try Inflate.inflate($0, expectedSize: entry.uncompressedSize) }
                    outcomes["inflated", default: 0] += 1
                } catch {
                    outcomes[String(describing: error).prefix { $0 != "(" }.description, default: 0] += 1
                }
            }
        }
        print("deflate: \(compressed.count * 25) corruptions -> \(outcomes)")
    }

    /// The pickle machine itself on corrupted pickles (the zip CRC would otherwise catch them first).
    @Test(arguments: ["vit-nested.pt", "rn-jit.pt"])
    func corruptedPicklesGiveTypedErrors(name: String) throws {
        let file = try MappedFile(url: Fixtures.models.appendingPathComponent(name))
        let zip = try ZipArchive(file)
        let entry = try #require(zip.entries.first { $0.name.hasSuffix("/data.pkl") })
        let pickle = try zip.contents(of: entry, verify: true).withUnsafeBytes { [UInt8]($0) }
        let isTorchScript = name.contains("jit")
        let resolver: PickleMachine.StorageResolver = { key, dtype, count in
            let fits = count <= file.count / dtype.elementSize
            return PickledStorage(
                dtype: dtype, key: key, bytes: .mapped(file, 0..<(fits ? count * dtype.elementSize : 0)),
                elementCount: fits ? count : 0)
        }
        var rng = SeededGenerator(seed: 99)
        var outcomes: [String: Int] = [:]
        for trial in 0..<300 {
            var bytes = pickle
            if trial % 3 == 0 {
                bytes = Array(bytes[..<Int.random(in: 0..<bytes.count, using: &rng)])
            } else {
                let position = Int.random(in: 0..<bytes.count, using: &rng)
                bytes[position] =
                    trial % 3 == 1
                    ? bytes[position] ^ (1 << UInt8.random(in: 0..<8, using: &rng))
                    : UInt8.random(in: 0...255, using: &rng)
            }
            var machine = PickleMachine(path: name, allowTorchScriptClasses: isTorchScript, resolveStorage: resolver)
            do {
                _ = try bytes.withUnsafeBytes { try machine.run($0) }
                outcomes["parsed", default: 0] += 1
            } catch let error as WeightError {
                outcomes[String(describing: error).prefix { $0 != "(" }.description, default: 0] += 1
            }
        }
        print("\(name) pickle: 300 corruptions -> \(outcomes)")
    }
}
