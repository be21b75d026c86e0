import Foundation

/// The fixtures written by scripts/reference/make_image_fixtures.py (Pillow 13.0.0).
struct ImageManifest: Decodable {
    struct Entry: Decodable, CustomStringConvertible {
        struct Upright: Decodable {
            var width: Int
            var height: Int
        }
        var file: String
        var mode: String
        var width: Int
        var height: Int
        var fnv1a64: String
        var sizes: [Int]
        var exif: Upright?
        var description: String { file }
    }
    var pillow: String
    var images: [Entry]
    var errors: [String: String]
}

/// One (image, output size) pair to check.
struct PreprocessCase: CustomStringConvertible, Sendable {
    var file: String
    var size: Int
    var description: String { "\(file) @\(size)" }
}

enum ImageFixtures {
    static let directory: URL = {
        guard let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
            preconditionFailure("test resources missing: Fixtures")
        }
        return url
    }()

    static let manifest: ImageManifest = {
        do {
            let data = try Data(contentsOf: directory.appendingPathComponent("manifest.json"))
            return try JSONDecoder().decode(ImageManifest.self, from: data)
        } catch {
            preconditionFailure("cannot read manifest.json: \(error)")
        }
    }()

    static var entries: [ImageManifest.Entry] { manifest.images }

    static var cases: [PreprocessCase] {
        manifest.images.flatMap { entry in entry.sizes.map { PreprocessCase(file: entry.file, size: $0) } }
    }

    static func image(_ name: String) -> URL { directory.appendingPathComponent("images").appendingPathComponent(name) }

    static func expected(_ name: String) -> URL {
        directory.appendingPathComponent("expected").appendingPathComponent(name)
    }

    static func stem(_ file: String, _ size: Int) -> String {
        "\(file.replacingOccurrences(of: ".", with: "_"))_\(size)"
    }

    static func floats(_ url: URL) throws -> [Float] {
        let data = try Data(contentsOf: url)
        return data.withUnsafeBytes { raw in
            (0..<(data.count / 4)).map {
                Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)))
            }
        }
    }

    /// FNV-1a 64, the script's checksum of decoded samples.
    static func fnv1a64(_ bytes: [UInt8]) -> String {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in bytes {
            h ^= UInt64(b)
            h = h &* 0x0000_0100_0000_01B3
        }
        let hex = String(h, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// "n of m values differ, first at i: got a, expected b" or nil when identical.
    static func compare(_ got: [UInt8], _ expected: [UInt8], size: Int) -> String? {
        guard got.count == expected.count else { return "got \(got.count) values, expected \(expected.count)" }
        var differing = 0, maxDiff = 0, first: Int?
        for i in got.indices where got[i] != expected[i] {
            differing += 1
            maxDiff = max(maxDiff, abs(Int(got[i]) - Int(expected[i])))
            if first == nil { first = i }
        }
        guard let first else { return nil }
        let pixel = first / 3
        return
            "\(differing) of \(got.count) values differ (max |diff| \(maxDiff)); first at y \(pixel / size) x \(pixel % size) channel \(first % 3): got \(got[first]), expected \(expected[first])"
    }
}
