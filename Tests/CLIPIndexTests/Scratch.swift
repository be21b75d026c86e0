import Foundation

/// A temporary folder removed when the test ends, with helpers to write image files.
final class Scratch {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("clip-index-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    func path(_ relative: String) -> String { url.appendingPathComponent(relative).path }

    /// A PNG file whose trailing bytes make its content (and hash) unique: decoders stop at IEND.
    @discardableResult
    func image(_ relative: String, variant: Int = 0, demo: Int = 0) throws -> String {
        let target = url.appendingPathComponent(relative)
        try FileManager.default.createDirectory(
            at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        var data = try Data(contentsOf: Demo.image(demo))
        if variant != 0 { data += Data("variant-\(variant)".utf8) }
        try data.write(to: target)
        return target.path
    }

    func write(_ relative: String, _ text: String) throws {
        let target = url.appendingPathComponent(relative)
        try FileManager.default.createDirectory(
            at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: target)
    }

    /// Sets a file's mtime (seconds since 1970).
    func touch(_ relative: String, mtime: Double) throws {
        try FileManager.default.setAttributes(
            [.modificationDate: Date(timeIntervalSince1970: mtime)], ofItemAtPath: path(relative))
    }
}

/// The bundled demo model and images (Sources/clip/Resources/demo).
enum Demo {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources/clip/Resources/demo")
    static let model = folder.appendingPathComponent("model.safetensors")
    static func image(_ i: Int) -> URL { folder.appendingPathComponent(String(format: "images/%06d.png", i)) }
}
