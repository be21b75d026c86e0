import CLIP
import CLIPTestSupport
import Foundation
import Testing

/// `clip embed --images-from DIR` streams: a folder is walked (images recognised by extension),
/// rows are written batch by batch, and peak memory does not grow with the number of images.
@Suite struct EmbedStreamingTests {
    static let sources = ["chelsea_lossy.webp", "camera_gray2.png", "tiny_5x3.png"].map(TinyModel.image)

    /// A folder of `count` small images (copies of three fixtures, under two subfolders, some with
    /// an upper-case extension) plus files that must be skipped: text, a hidden image and an image
    /// whose name has no image extension (`ImageFormat.isImageFile` decides by name).
    static func makeFolder(_ count: Int) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clip-stream-\(UUID().uuidString)")
        for sub in ["a", "b/c"] {
            try FileManager.default.createDirectory(
                at: dir.appendingPathComponent(sub), withIntermediateDirectories: true)
        }
        for i in 0..<count {
            let name = String(format: "%@/img%04d.%@", i % 2 == 0 ? "a" : "b/c", i, i % 5 == 0 ? "PNG" : "png")
            try FileManager.default.copyItem(atPath: sources[i % 3], toPath: dir.appendingPathComponent(name).path)
        }
        try "not an image".write(to: dir.appendingPathComponent("a/notes.txt"), atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(atPath: sources[0], toPath: dir.appendingPathComponent(".hidden.png").path)
        try FileManager.default.copyItem(atPath: sources[1], toPath: dir.appendingPathComponent("b/misnamed.dat").path)
        return dir
    }

    struct Line: Decodable {
        var image: String
        var embedding: [Float]
    }

    func run(_ folder: URL, format: String, output: String) throws -> (lines: [Line], rss: Int, data: Data) {
        let r = try CLIRunner.run([
            "embed", "--model", TinyModel.path, "--images-from", folder.path, "--format", format, "-o", output,
            "--verbose",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let rss = r.stderr.firstMatch(of: /peak RSS (\d+) MB/).flatMap { Int($0.1) } ?? -1
        let data = try Data(contentsOf: URL(fileURLWithPath: output))
        let lines =
            format == "jsonl"
            ? try data.split(separator: UInt8(ascii: "\n")).map { try JSONDecoder().decode(Line.self, from: Data($0)) }
            : []
        return (lines, rss, data)
    }

    @Test func folderStreamsWithFlatMemory() throws {
        let small = try Self.makeFolder(40), large = try Self.makeFolder(400)
        defer { for d in [small, large] { try? FileManager.default.removeItem(at: d) } }
        let out = small.appendingPathComponent("out.jsonl").path, out2 = large.appendingPathComponent("out.jsonl").path
        let a = try run(small, format: "jsonl", output: out)
        let b = try run(large, format: "jsonl", output: out2)
        #expect(a.lines.count == 40 && b.lines.count == 400)
        // Sorted walk order; non-images, hidden files and names without an image extension skipped.
        #expect(
            b.lines.map(\.image) == b.lines.map(\.image).sorted()
                && !b.lines.contains {
                    $0.image.contains("notes") || $0.image.contains("hidden") || $0.image.contains("misnamed")
                })
        #expect(b.lines.contains { $0.image.hasSuffix(".PNG") })
        // Rows equal the library's on the same files.
        let model = try CLIP.load(URL(fileURLWithPath: TinyModel.path))
        let firstFive = b.lines.prefix(5)
        let expected = Tensor.l2Normalized(
            try model.encodeImage(firstFive.map { URL(fileURLWithPath: $0.image) })
        ).scalars
        let d = Closeness(firstFive.flatMap(\.embedding), expected)
        #expect(d.within(absolute: 1e-6), "\(d)")
        // 10x the images must not cost 10x the memory: allow 25 MB of noise.
        #expect(a.rss > 0 && b.rss > 0 && b.rss - a.rss < 25, "peak RSS \(a.rss) MB for 40 images, \(b.rss) MB for 400")

        let npy = try run(large, format: "npy", output: large.appendingPathComponent("out.npy").path).data
        let headerLength = Int(npy[8]) | Int(npy[9]) << 8
        #expect(String(decoding: npy[10..<(10 + headerLength)], as: UTF8.self).contains("'shape': (400, 8)"))
        #expect(npy.count == 10 + headerLength + 400 * 8 * 4)
    }

    @Test func badImageLeavesNoOutputFile() throws {
        let dir = try Self.makeFolder(3)
        defer { try? FileManager.default.removeItem(at: dir) }
        // A truncated PNG: recognised by its signature, fails to decode.
        try Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0]).write(
            to: dir.appendingPathComponent("a/zzz.png"))
        let out = dir.appendingPathComponent("out.jsonl").path
        let r = try CLIRunner.run([
            "embed", "--model", TinyModel.path, "--images-from", dir.path, "--format", "jsonl", "-o", out,
        ])
        #expect(r.status == 65 && r.stderr.hasPrefix("error: "), "\(r.status) \(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains("partial") }
        #expect(leftovers.isEmpty, "\(leftovers)")
        let empty = try CLIRunner.run([
            "embed", "--model", TinyModel.path, "--images-from", dir.appendingPathComponent("b/c").path + "/none",
        ])
        #expect(empty.status == 65, "\(empty.stderr)")
    }
}
