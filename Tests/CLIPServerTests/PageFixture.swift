import CLIP
import Foundation

@testable import CLIPServer

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A small photo folder for the search page's tests: synthetic scenes (the kind the bundled demo
/// model was trained on, so "one large red circle in the center" has a known best match) in two
/// sub-folders, indexed by the real `clip-index` binary with the demo model; beside it an
/// unindexed `outside/` folder with a "secret" image, and a symbolic link from inside the
/// photos to it (never indexed: the walker does not follow links).
struct PageFixture {
    /// The scenes, by file name (relative to `photos`).
    static let scenes: [(file: String, scene: SyntheticScene)] = [
        ("shapes/red-circle.png", .init(shape: .circle, colour: .red, size: .large, position: .center, count: .one)),
        ("shapes/blue-square.png", .init(shape: .square, colour: .blue, size: .large, position: .center, count: .one)),
        (
            "shapes/green-triangle.png",
            .init(shape: .triangle, colour: .green, size: .large, position: .top, count: .two)
        ),
        ("shapes/yellow-star.png", .init(shape: .star, colour: .yellow, size: .small, position: .left, count: .three)),
        ("more/white-cross.png", .init(shape: .cross, colour: .white, size: .large, position: .bottom, count: .one)),
        (
            "more/purple-diamond.png",
            .init(shape: .diamond, colour: .purple, size: .large, position: .right, count: .two)
        ),
        ("more/orange-circle.png", .init(shape: .circle, colour: .orange, size: .small, position: .top, count: .three)),
        ("more/cyan-square.png", .init(shape: .square, colour: .cyan, size: .small, position: .center, count: .one)),
        // A name with markup in it: the page must show it as text, never as HTML.
        (Self.markupName, .init(shape: .triangle, colour: .yellow, size: .large, position: .left, count: .one)),
    ]

    static let markupName = "more/<em>emphasis & \"quoted\" <img src=x onerror=alert(1)>.png"

    let root: URL
    var photos: URL { root.appendingPathComponent("photos") }
    var database: URL { root.appendingPathComponent("index.sqlite") }
    var secret: URL { root.appendingPathComponent("outside/secret.png") }
    var link: URL { photos.appendingPathComponent("shapes/link-to-secret.png") }

    /// The absolute, indexed path of a scene file.
    func path(_ file: String) -> String { photos.appendingPathComponent(file).path }

    /// Renders, writes and indexes the folder under a new temporary directory.
    static func make(size: Int = 128) throws -> PageFixture {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("clip-page-\(UUID().uuidString)")
        // Real paths: /tmp may itself be a link (macOS), and the index stores real paths.
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        let fixture = PageFixture(root: base.resolvingSymlinksInPath())
        let renderer = SyntheticRenderer(size: size)
        for (index, entry) in scenes.enumerated() {
            var random = SeededRandom(seed: UInt64(index + 1))
            let url = fixture.photos.appendingPathComponent(entry.file)
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try PNGEncoder.encode(
                pixels: renderer.render(entry.scene, random: &random), width: size, height: size, channels: 3
            )
            .write(to: url)
        }
        try FileManager.default.createDirectory(
            at: fixture.secret.deletingLastPathComponent(), withIntermediateDirectories: true)
        var random = SeededRandom(seed: 99)
        let secretScene = SyntheticScene(shape: .star, colour: .red, size: .large, position: .center, count: .one)
        try PNGEncoder.encode(
            pixels: renderer.render(secretScene, random: &random), width: size, height: size, channels: 3
        )
        .write(to: fixture.secret)
        try FileManager.default.createSymbolicLink(at: fixture.link, withDestinationURL: fixture.secret)
        let (status, _, stderr) = try runToolCapturing(
            "clip-index",
            ["index", fixture.photos.path, "--db", fixture.database.path, "--model", Repository.demoModel])
        guard status == 0 else { throw FixtureError(description: "clip-index index failed (\(status)): \(stderr)") }
        return fixture
    }

    /// The server options and index service for `clip serve --index` on this folder.
    func service() throws -> (ServerOptions, IndexService) {
        let service = try IndexService.open(path: database.path, model: Repository.demoModel)
        let options = ServerOptions.testing { $0.index = database.path }
        return (options, service)
    }

    /// Deletes the folder. Links are removed, never followed (Foundation's `removeItem` can
    /// stop at a link to a folder that a test made, leaving the rest behind).
    func remove() { Self.removeTree(root.path) }

    static func removeTree(_ path: String) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        if info.st_mode & S_IFMT == S_IFDIR {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] {
                removeTree(path + "/" + name)
            }
            rmdir(path)
        } else {
            unlink(path)
        }
    }

    struct FixtureError: Error, CustomStringConvertible {
        var description: String
    }
}
