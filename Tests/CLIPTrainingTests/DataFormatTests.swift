import CLIPEvaluation
import CLIPTraining
import Foundation
import Testing

/// Dataset formats: CSV/TSV tables, WebDataset tar shards (written by TarWriter or by hand),
/// sidecar folders, and shard-list brace expansion checked against Python's `braceexpand`.
@Suite struct DataFormatTests {
    // Expected lists are what `braceexpand.braceexpand` 0.1.7 returns (checked by hand in
    // Python); `::` is webdataset's `expand_urls`; the top-level comma list is our addition.
    static let braceCases: [(String, [String])] = [
        ("a.tar", ["a.tar"]),
        ("d/{000..003}.tar", ["d/000.tar", "d/001.tar", "d/002.tar", "d/003.tar"]),
        ("{8..11}", ["8", "9", "10", "11"]),
        ("{08..11}", ["08", "09", "10", "11"]),
        ("{0..6..3}", ["0", "3", "6"]),
        ("{3..1}", ["3", "2", "1"]),
        ("{-1..1}", ["-1", "0", "1"]),
        ("{a..c}x", ["ax", "bx", "cx"]),
        ("{a,b}{1,2}", ["a1", "a2", "b1", "b2"]),
        ("x{a,{b,c}d}", ["xa", "xbd", "xcd"]),
        ("{a}", ["{a}"]),
        ("\\{0..1\\}", ["{0..1}"]),
        ("a\\,b.tar", ["a,b.tar"]),  // an escaped comma stays in the name
        ("{}", ["{}"]),
        ("{-01..1}", ["-01", "000", "001"]),
        ("{a..e..2}", ["a", "c", "e"]),
        ("a.tar::b/{0..1}.tar", ["a.tar", "b/0.tar", "b/1.tar"]),
        ("a.tar,b.tar", ["a.tar", "b.tar"]),
    ]

    @Test(arguments: braceCases)
    func braceExpansion(pattern: String, expected: [String]) throws {
        let got = try ShardList.expand(pattern)
        #expect(got == expected, "\(pattern): got \(got)")
    }

    @Test(arguments: ["{a,b", "a}b", "{0..1}}", "\\{a,b}"])
    func unbalancedBraces(pattern: String) {
        #expect(throws: DataError.self) { try ShardList.expand(pattern) }
    }

    @Test func csvResolvesRelativePathsAndReadsColumns() throws {
        let folder = try DataFixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = try DataFixtures.writeCSV(count: 3, in: folder)
        let dataset = try TrainingData.open(url.path)
        #expect(dataset.count == 3)
        let sample = dataset.sample(at: 1)
        #expect(sample.image == .file(folder.appendingPathComponent("img/001.png")))
        #expect(try sample.caption.read() == DataFixtures.scene(1).caption)
        // Other column names and separators (open_clip's --csv-* options).
        let comma = folder.appendingPathComponent("other.csv")
        try Data("caption,path\n\"a, quoted caption\",img/000.png\n".utf8).write(to: comma)
        let custom = try CSVDataset(url: comma, imageKey: "path", captionKey: "caption", separator: ",")
        #expect(custom.captions == ["a, quoted caption"])
        #expect(throws: DelimitedTextError.self) { try CSVDataset(url: comma) }
    }

    @Test func tarShardsGroupMembersByKey() throws {
        let folder = try DataFixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        for shard in 0..<2 {
            var tar = TarWriter()
            for i in 0..<3 {
                let key = "s\(shard)/\(String(format: "%03d", i))"
                try tar.append(name: "\(key).png", contents: try DataFixtures.png(shard * 3 + i))
                try tar.append(name: "\(key).txt", contents: Data("caption \(shard * 3 + i)".utf8))
                try tar.append(name: "\(key).json", contents: Data("{}".utf8))
            }
            // A sample with no image is dropped; one with an upper-case extension counts.
            try tar.append(name: "s\(shard)/orphan.txt", contents: Data("no image".utf8))
            try tar.append(name: "s\(shard)/upper.PNG", contents: try DataFixtures.png(9))
            try tar.append(name: "s\(shard)/upper.TXT", contents: Data("upper".utf8))
            try tar.finish().write(to: folder.appendingPathComponent("shard-\(shard).tar"))
        }
        let dataset = try TarShardDataset(pattern: folder.path + "/shard-{0..1}.tar")
        #expect(dataset.count == 8)
        #expect(dataset.droppedSamples == 2)
        #expect(dataset.warnings.isEmpty)
        // Shard 0 gives samples 0...3 (000, 001, 002, upper), shard 1 samples 4...7.
        #expect(try dataset.sample(at: 5).caption.read() == "caption 4")
        #expect(try dataset.sample(at: 7).caption.read() == "upper")
        let image = try dataset.sample(at: 5).image.read()
        #expect(image == (try DataFixtures.png(4)))
        #expect(dataset.sample(at: 5).image.name.hasSuffix("shard-1.tar:s1/001"))
    }

    /// A key repeated with the same extension starts a new sample (webdataset's rule), and
    /// dotted names split at the first dot of the file name, not of the directory.
    @Test func tarKeyRules() throws {
        let folder = try DataFixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var tar = TarWriter()
        try tar.append(name: "dir.v1/a.b.png", contents: try DataFixtures.png(0))
        try tar.append(name: "dir.v1/a.b.txt", contents: Data("not the caption (ext b.txt)".utf8))
        try tar.append(name: "dir.v1/a.txt", contents: Data("first".utf8))
        try tar.append(name: "dir.v1/a.txt", contents: Data("second".utf8))
        try tar.append(name: "dir.v1/a.jpg", contents: try DataFixtures.png(1))
        try tar.finish().write(to: folder.appendingPathComponent("k.tar"))
        let dataset = try TarShardDataset(pattern: folder.appendingPathComponent("k.tar").path)
        // Sample 1: a.{b.png, b.txt, txt} (png is not an image extension when it is "b.png").
        // → no image, dropped. Sample 2: a.{txt (second), jpg}.
        #expect(dataset.count == 1)
        #expect(dataset.droppedSamples == 1)
        #expect(try dataset.sample(at: 0).caption.read() == "second")
    }

    /// GNU long names, PAX path records and ustar prefixes all name members.
    @Test func tarLongNames() throws {
        let folder = try DataFixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let long = String(repeating: "d", count: 120) + "/sample"
        var tar = TarWriter()
        try tar.append(name: long + ".png", contents: try DataFixtures.png(0))  // ustar prefix
        try tar.append(name: long + ".txt", contents: Data("prefix".utf8))
        var data = tar.data
        let veryLong = String(repeating: "e", count: 300) + "/s2"
        data.append(Self.rawMember(name: "././@LongLink", type: "L", contents: Data((veryLong + ".png\0").utf8)))
        data.append(Self.rawMember(name: "ignored.png", type: "0", contents: try DataFixtures.png(1)))
        data.append(Self.rawMember(name: "PaxHeader", type: "x", contents: Self.pax(["path": veryLong + ".txt"])))
        data.append(Self.rawMember(name: "ignored.txt", type: "0", contents: Data("gnu and pax".utf8)))
        data.append(Data(count: 1024))
        let url = folder.appendingPathComponent("long.tar")
        try data.write(to: url)
        let dataset = try TarShardDataset(pattern: url.path)
        #expect(dataset.count == 2)
        #expect(try dataset.sample(at: 0).caption.read() == "prefix")
        #expect(try dataset.sample(at: 1).caption.read() == "gnu and pax")
        #expect(dataset.sample(at: 1).image.name.hasSuffix(veryLong))
    }

    @Test func truncatedShardKeepsCompleteMembers() throws {
        let folder = try DataFixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var tar = TarWriter()
        for i in 0..<3 {
            try tar.append(name: "\(i).png", contents: try DataFixtures.png(i))
            try tar.append(name: "\(i).txt", contents: Data("c\(i)".utf8))
        }
        let full = tar.finish()
        let url = folder.appendingPathComponent("cut.tar")
        try full.prefix(full.count - 1024 - 600).write(to: url)  // cuts into the last members
        let dataset = try TarShardDataset(pattern: url.path)
        #expect(dataset.count == 2 || dataset.count == 3)
        #expect(!dataset.warnings.isEmpty, "warnings: \(dataset.warnings)")
    }

    @Test func compressedAndMissingShardsAreErrors() throws {
        let folder = try DataFixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let gz = folder.appendingPathComponent("x.tar")
        try Data([0x1F, 0x8B] + [UInt8](repeating: 0, count: 600)).write(to: gz)
        #expect(throws: DataError.compressedShard(path: gz.path)) { try TarShardDataset(pattern: gz.path) }
        let missing = folder.appendingPathComponent("none-1.tar").path
        #expect(throws: DataError.notFound(path: missing)) {
            try TarShardDataset(pattern: folder.path + "/none-{1..2}.tar")
        }
        let junk = folder.appendingPathComponent("junk.tar")
        try Data(repeating: 0x41, count: 2048).write(to: junk)
        #expect(throws: DataError.self) { try TarShardDataset(pattern: junk.path) }
    }

    @Test func sidecarFolderIsRecursiveAndSorted() throws {
        let folder = try DataFixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createDirectory(
            at: folder.appendingPathComponent("b/c"), withIntermediateDirectories: true)
        for (i, name) in ["b/c/z.png", "a.PNG", "b/x.png"].enumerated() {
            try DataFixtures.png(i).write(to: folder.appendingPathComponent(name))
            try Data("caption \(name)".utf8).write(
                to: folder.appendingPathComponent(name).deletingPathExtension().appendingPathExtension("txt"))
        }
        try Data("notes".utf8).write(to: folder.appendingPathComponent("readme.md"))
        try Data("resource fork".utf8).write(to: folder.appendingPathComponent("._a.png"))
        let dataset = try TrainingData.open(folder.path)
        #expect(dataset.count == 3)
        let names = (0..<3).map {
            dataset.sample(at: $0).image.name.replacingOccurrences(of: folder.path + "/", with: "")
        }
        #expect(names == ["a.PNG", "b/c/z.png", "b/x.png"])
        #expect(try dataset.sample(at: 1).caption.read() == "caption b/c/z.png")
    }

    @Test func unknownSourcesAreErrors() throws {
        #expect(throws: DataError.notFound(path: "/nonexistent/train.csv")) {
            try TrainingData.open("/nonexistent/train.csv")
        }
        let folder = try DataFixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let odd = folder.appendingPathComponent("data.parquet")
        try Data("x".utf8).write(to: odd)
        #expect(throws: DataError.unrecognisedSource(path: odd.path)) { try TrainingData.open(odd.path) }
        #expect(throws: DataError.empty(path: folder.path)) { try SidecarFolderDataset(folder: folder) }
    }

    // MARK: - Hand-made tar members

    static func rawMember(name: String, type: Character, contents: Data) -> Data {
        var header = [UInt8](repeating: 0, count: 512)
        let bytes = Array(name.utf8)
        header.replaceSubrange(0..<bytes.count, with: bytes)
        func octal(_ value: Int, _ offset: Int, _ width: Int) {
            let digits = Array(String(value, radix: 8).utf8)
            let padded = [UInt8](repeating: 48, count: width - 1 - digits.count) + digits
            header.replaceSubrange(offset..<(offset + width - 1), with: padded)
        }
        octal(0o644, 100, 8)
        octal(0, 108, 8)
        octal(0, 116, 8)
        octal(contents.count, 124, 12)
        octal(0, 136, 12)
        header[156] = type.asciiValue!
        header.replaceSubrange(257..<265, with: Array("ustar  \0".utf8))  // GNU magic
        for i in 148..<156 { header[i] = 32 }
        octal(header.reduce(0) { $0 + Int($1) }, 148, 7)
        var data = Data(header)
        data.append(contents)
        data.append(Data(count: (512 - contents.count % 512) % 512))
        return data
    }

    static func pax(_ records: [String: String]) -> Data {
        var text = ""
        for (key, value) in records {
            let body = " \(key)=\(value)\n"
            var length = body.utf8.count + 1
            while String(length).count + body.utf8.count != length { length += 1 }
            text += "\(length)\(body)"
        }
        return Data(text.utf8)
    }
}
