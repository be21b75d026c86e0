import Foundation
import Testing

@testable import CLIPTraining

/// Inputs found by the libFuzzer campaign (scripts/fuzz/run, README "Fuzzing") that crashed a
/// reader; each is rebuilt here and must now give a result or a typed error.
@Suite struct FuzzRegressionTests {
    func shard(_ data: Data) throws -> (URL, URL) {
        let folder = try DataFixtures.temporaryFolder()
        let url = folder.appendingPathComponent("fuzz.tar")
        try data.write(to: url)
        return (folder, url)
    }

    /// fuzz-tar: a PAX record whose length ("01") ends before its own space made the record
    /// range `(space + 1)..<(i + length)` inverted: a trap. Such records now end the PAX parse.
    @Test(arguments: ["01 path=x\n", "1 a=b\n", "9223372036854775807 path=x\n", "-5 path=x\n"])
    func malformedPAXLengthIsIgnored(record: String) throws {
        #expect(TarIndex.parsePAX(Array(record.utf8)).isEmpty)
        var tar = DataFormatTests.rawMember(name: "././@PaxHeader", type: "x", contents: Data(record.utf8))
        tar.append(DataFormatTests.rawMember(name: "a.png", type: "0", contents: Data([0x89, 0x50])))
        tar.append(DataFormatTests.rawMember(name: "a.txt", type: "0", contents: Data("cat".utf8)))
        tar.append(Data(count: 1024))
        let (folder, url) = try shard(tar)
        defer { try? FileManager.default.removeItem(at: folder) }
        let dataset = try TarShardDataset(shards: [url])
        #expect(dataset.count == 1)
    }

    /// A PAX `size` near Int.max overflowed `dataOffset + length`: now a truncation warning.
    @Test func hugePAXSizeIsATruncation() throws {
        var tar = DataFormatTests.rawMember(
            name: "././@PaxHeader", type: "x", contents: DataFormatTests.pax(["size": "9223372036854775807"]))
        tar.append(DataFormatTests.rawMember(name: "b.png", type: "0", contents: Data([0x89, 0x50])))
        tar.append(Data(count: 1024))
        let (folder, url) = try shard(tar)
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(throws: DataError.self) { try TarShardDataset(shards: [url]) }
        var warnings: [String] = []
        #expect(try TarIndex.members(of: url, warnings: &warnings).isEmpty)
        #expect(warnings.contains { $0.contains("needs 9223372036854775807 bytes") }, "\(warnings)")
    }
}
