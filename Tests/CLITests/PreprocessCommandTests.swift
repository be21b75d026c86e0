import Foundation
import Testing

/// `clip preprocess` run as a user would, reading the NPY back. Expected values come from
/// the CLIPImage fixtures (scripts/reference/make_image_fixtures.py, Pillow 13.0.0).
@Suite struct PreprocessCommandTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("CLIPImageTests/Fixtures")

    static func image(_ name: String) -> String { fixtures.appendingPathComponent("images/\(name)").path }

    static func temporaryFile(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("clip-preprocess-\(UUID().uuidString)-\(name)")
    }

    /// Parses a version 1.0 little-endian float32 .npy file.
    static func readNPY(_ url: URL) throws -> (shape: [Int], values: [Float]) {
        let data = [UInt8](try Data(contentsOf: url))
        try #require(data.count >= 10 && data[0] == 0x93 && Array(data[1..<6]) == Array("NUMPY".utf8) && data[6] == 1)
        let headerLength = Int(data[8]) | Int(data[9]) << 8
        #expect((10 + headerLength) % 64 == 0, "data should start 64-byte aligned")
        let header = String(decoding: data[10..<(10 + headerLength)], as: UTF8.self)
        #expect(header.contains("'descr': '<f4'") && header.contains("'fortran_order': False"), "header: \(header)")
        let inside = try #require(header.split(separator: "(").dropFirst().first?.split(separator: ")").first)
        let shape = inside.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        let body = data[(10 + headerLength)...]
        let values = stride(from: body.startIndex, to: body.endIndex, by: 4).map { i in
            Float(
                bitPattern: UInt32(body[i]) | UInt32(body[i + 1]) << 8 | UInt32(body[i + 2]) << 16 | UInt32(body[i + 3])
                    << 24)
        }
        return (shape, values)
    }

    /// The (3, n, n) tensor for an expected .rgb fixture, through the float32 normalisation table.
    static func expectedTensor(_ stem: String, size n: Int) throws -> [Float] {
        let rgb = [UInt8](try Data(contentsOf: fixtures.appendingPathComponent("expected/\(stem).rgb")))
        let tableBytes = [UInt8](try Data(contentsOf: fixtures.appendingPathComponent("normalize_table.f32")))
        let table = stride(from: 0, to: tableBytes.count, by: 4).map { i in
            Float(
                bitPattern: UInt32(tableBytes[i]) | UInt32(tableBytes[i + 1]) << 8 | UInt32(tableBytes[i + 2]) << 16
                    | UInt32(tableBytes[i + 3]) << 24)
        }
        var out = [Float](repeating: 0, count: 3 * n * n)
        for i in 0..<(n * n) {
            for c in 0..<3 { out[c * n * n + i] = table[c * 256 + Int(rgb[3 * i + c])] }
        }
        return out
    }

    @Test func writesBatchInArgumentOrder() throws {
        let files = ["rocket_cmyk.jpg", "chelsea_baseline.jpg", "coffee_rgba.png", "chelsea.gif"]
        let out = Self.temporaryFile("batch.npy")
        defer { try? FileManager.default.removeItem(at: out) }
        let result = try CLIRunner.run(["preprocess", "--size", "64"] + files.map(Self.image) + ["-o", out.path])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let (shape, values) = try Self.readNPY(out)
        #expect(shape == [4, 3, 64, 64])
        let plane = 3 * 64 * 64
        for (i, file) in files.enumerated() {
            let expected = try Self.expectedTensor("\(file.replacingOccurrences(of: ".", with: "_"))_64", size: 64)
            let got = values[(i * plane)..<((i + 1) * plane)]
            let maxDiff = zip(got, expected).map { abs($0 - $1) }.max() ?? .infinity
            print("clip preprocess \(file): max |diff| \(maxDiff)")
            #expect(maxDiff <= 1e-6, "\(file) at batch index \(i)")
        }
    }

    /// More files than one chunk (64): the order must survive the chunking.
    @Test func longListsKeepTheirOrder() throws {
        let files = (0..<70).map { $0 % 3 == 0 ? "wide_1000x7.png" : "tall_7x1000.png" }
        let out = Self.temporaryFile("long.npy")
        defer { try? FileManager.default.removeItem(at: out) }
        let result = try CLIRunner.run(["preprocess", "--size", "16"] + files.map(Self.image) + ["-o", out.path])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let (shape, values) = try Self.readNPY(out)
        #expect(shape == [70, 3, 16, 16])
        let wide = try Self.expectedTensor("wide_1000x7_png_16", size: 16)
        let tall = try Self.expectedTensor("tall_7x1000_png_16", size: 16)
        let plane = 3 * 16 * 16
        for (i, file) in files.enumerated() {
            let expected = file.hasPrefix("wide") ? wide : tall
            #expect(Array(values[(i * plane)..<((i + 1) * plane)]) == expected, "\(file) at index \(i)")
        }
    }

    @Test func exifFlagRotates() throws {
        let out = Self.temporaryFile("exif.npy")
        defer { try? FileManager.default.removeItem(at: out) }
        let result = try CLIRunner.run([
            "preprocess", "--size", "64", "--exif", Self.image("chelsea_exif6.jpg"), "-o", out.path,
        ])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let (shape, values) = try Self.readNPY(out)
        #expect(shape == [1, 3, 64, 64])
        let expected = try Self.expectedTensor("chelsea_exif6_jpg_64_exif", size: 64)
        #expect(zip(values, expected).allSatisfy { abs($0 - $1) <= 1e-6 })
    }

    @Test(arguments: [
        (["--size", "64", "truncated.jpg"], "truncated.jpg"),
        (["--size", "64", "not_supported.bmp"], "not_supported.bmp"),
        (["--size", "64", "missing.png"], "missing.png"),
        (["truncated.jpg"], "--size"),
        (["--size", "0", "chelsea_baseline.jpg"], "--size"),
        (["--size", "100000", "chelsea_baseline.jpg"], "--size"),
    ])
    func errorsAreOneLine(_ arguments: [String], _ mention: String) throws {
        let out = Self.temporaryFile("error.npy")
        let args = arguments.map {
            $0.hasSuffix(".jpg") || $0.hasSuffix(".bmp") || $0.hasSuffix(".png") ? Self.image($0) : $0
        }
        let result = try CLIRunner.run(["preprocess"] + args + ["-o", out.path])
        #expect(result.status != 0)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines.first?.hasPrefix("error: ") == true, "stderr: \(result.stderr)")
        #expect(result.stderr.contains(mention), "stderr should mention \(mention): \(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out.path), "no output on error")
    }
}
