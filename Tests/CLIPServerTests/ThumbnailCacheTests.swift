import CLIP
import Foundation
import Testing

@testable import CLIPServer

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

// The search page's thumbnail folder stays bounded (least recently used first, thumbnails of
// images no longer indexed removed at startup) and touches nothing but its own files: links
// inside or at the folder are never followed, and no other file is read, written or deleted.

@Suite("thumbnail cache: bounded, and nothing outside it touched", .serialized)
struct ThumbnailCacheTests {
    /// A temporary folder standing for the index's folder: `index.sqlite` (never created) and
    /// `outside/`, a user's folder beside the cache with a file in it.
    struct Scratch {
        let root: URL
        var database: URL { root.appendingPathComponent("index.sqlite") }
        var cacheFolder: URL { root.appendingPathComponent("index.sqlite.thumbnails") }
        var outside: URL { root.appendingPathComponent("outside") }

        init() throws {
            let base = FileManager.default.temporaryDirectory.appendingPathComponent("clip-thumbs-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
            root = base.resolvingSymlinksInPath()
            try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
        }

        func remove() { PageFixture.removeTree(root.path) }

        /// Writes `bytes` bytes at `relative` inside the cache folder, modified `age` seconds ago.
        @discardableResult
        func put(_ relative: String, bytes: Int, age: Double = 0, in folder: URL? = nil) throws -> URL {
            let url = (folder ?? cacheFolder).appendingPathComponent(relative)
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(repeating: 7, count: bytes).write(to: url)
            Self.setModified(url, Date().timeIntervalSince1970 - age)
            return url
        }

        static func setModified(_ url: URL, _ seconds: Double) {
            let whole = seconds.rounded(.down)
            var times = [
                timespec(tv_sec: Int(whole), tv_nsec: Int((seconds - whole) * 1e9)),
                timespec(tv_sec: Int(whole), tv_nsec: Int((seconds - whole) * 1e9)),
            ]
            utimensat(AT_FDCWD, url.path, &times, AT_SYMLINK_NOFOLLOW)
        }

        /// Every path under the scratch folder (links listed, not followed) with its bytes.
        func snapshot() -> [String: Data] {
            var result: [String: Data] = [:]
            func walk(_ path: String) {
                var info = stat()
                guard lstat(path, &info) == 0 else { return }
                switch info.st_mode & S_IFMT {
                case S_IFDIR:
                    result[path] = Data()
                    for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] {
                        walk(path + "/" + name)
                    }
                case S_IFLNK:
                    result[path] = Data(
                        ("link to " + ((try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? "?")).utf8)
                default:
                    result[path] = FileManager.default.contents(atPath: path) ?? Data()
                }
            }
            walk(root.path)
            return result
        }
    }

    /// A hash whose first two hex digits are `shard`, unique by `n`.
    static func hash(_ shard: String, _ n: Int) -> String {
        shard + String(repeating: "0", count: 62 - String(n, radix: 16).count) + String(n, radix: 16)
    }

    @Test func leastRecentlyUsedGoFirstDownToNinetyPercent() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        // Ten thumbnails of 1,000 bytes used hours ago, the first the oldest; the limit holds 9.5 of them.
        var files: [URL] = []
        for n in 0..<10 {
            let hash = Self.hash(["ab", "cd"][n % 2], n)
            files.append(
                try scratch.put("\(hash.prefix(2))/\(hash)-256.jpg", bytes: 1000, age: Double(10_000 - n * 10)))
        }
        let cache = ThumbnailCache(index: scratch.database, limit: 9500)
        let report = try #require(cache.prune(indexed: nil))
        // 10,000 > 9,500: the oldest go until at most 8,550 (90 %) remain, so 8 stay.
        #expect(report == .init(kept: 8, keptBytes: 8000, orphans: 0, evicted: 2, temporaries: 0), "\(report)")
        for (n, file) in files.enumerated() {
            #expect(FileManager.default.fileExists(atPath: file.path) == (n >= 2), "\(file.lastPathComponent)")
        }
        // Under the limit nothing goes.
        #expect(cache.prune(indexed: nil)?.evicted == 0)
        // A hit makes an old thumbnail recent: the next eviction takes another one.
        let hitHash = Self.hash("ab", 2)
        #expect(cache.cached(hash: hitHash, size: 256)?.count == 1000)
        let tight = ThumbnailCache(index: scratch.database, limit: 7500)
        let second = try #require(tight.prune(indexed: nil))
        #expect(second.evicted == 2 && second.kept == 6, "\(second)")
        #expect(FileManager.default.fileExists(atPath: files[2].path), "the thumbnail just read was evicted")
        #expect(
            !FileManager.default.fileExists(atPath: files[3].path)
                && !FileManager.default.fileExists(atPath: files[4].path))
    }

    @Test func thumbnailsOfImagesNoLongerIndexedGoAndOldTemporaryFiles() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let kept = Self.hash("12", 1), orphan = Self.hash("12", 2), other = Self.hash("ef", 3)
        for hash in [kept, orphan, other] {
            for size in [128, 512] { try scratch.put("\(hash.prefix(2))/\(hash)-\(size).jpg", bytes: 100) }
        }
        let oldTemporary = try scratch.put(
            ".\(kept)-256.jpg.4242.17.tmp", bytes: 10, age: 7200, in: scratch.cacheFolder.appendingPathComponent("12"))
        let newTemporary = try scratch.put(
            ".\(kept)-128.jpg.4242.18.tmp", bytes: 10, age: 5, in: scratch.cacheFolder.appendingPathComponent("12"))
        let cache = ThumbnailCache(index: scratch.database)
        let report = try #require(cache.prune(indexed: [kept]))
        #expect(report == .init(kept: 2, keptBytes: 200, orphans: 4, evicted: 0, temporaries: 1), "\(report)")
        let inside = scratch.snapshot().keys.filter { $0.hasPrefix(scratch.cacheFolder.path) }
        let left = Set(inside.map { String($0.dropFirst(scratch.cacheFolder.path.count)) })
        let expected: Set<String> = [
            "", "/12", "/ef", "/12/\(kept)-128.jpg", "/12/\(kept)-512.jpg", "/12/" + newTemporary.lastPathComponent,
        ]
        #expect(left == expected, "\(left.sorted())")
        #expect(!FileManager.default.fileExists(atPath: oldTemporary.path))
    }

    /// The worst case for a cleaner: a limit of 0 and no image indexed, so every thumbnail must
    /// go; around them, links and files that are not thumbnails. Nothing outside changes, and
    /// nothing inside that is not a thumbnail.
    @Test func nothingButItsOwnFilesIsEverDeletedReadOrWritten() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let fm = FileManager.default
        let hash = Self.hash("ab", 1), linked = Self.hash("cd", 2), planted = Self.hash("ab", 3)
        // Outside: a folder that looks like a shard, and a user's photo.
        try scratch.put("cd/\(linked)-256.jpg", bytes: 50, age: 9999, in: scratch.outside)
        let photo = try scratch.put("photo.jpg", bytes: 77, in: scratch.outside)
        // Inside: one real thumbnail, a shard that is a link to the outside folder, a thumbnail
        // name that is a link to the user's photo, a folder named like a thumbnail, and files
        // that are not thumbnails.
        try scratch.put("ab/\(hash)-256.jpg", bytes: 100, age: 9999)
        try fm.createSymbolicLink(
            at: scratch.cacheFolder.appendingPathComponent("cd"),
            withDestinationURL: scratch.outside.appendingPathComponent("cd"))
        try fm.createSymbolicLink(
            at: scratch.cacheFolder.appendingPathComponent("ab/\(planted)-256.jpg"), withDestinationURL: photo)
        try fm.createDirectory(
            at: scratch.cacheFolder.appendingPathComponent("ab/\(Self.hash("ab", 4))-128.jpg"),
            withIntermediateDirectories: true)
        for name in [
            "notes.txt", "ab/notes.txt", "ab/\(Self.hash("ab", 5))-300.jpg",
            "ab/\(Self.hash("ab", 6).uppercased())-256.jpg", "ab/\(Self.hash("cd", 7))-256.jpg",
            "zz/\(Self.hash("ab", 8))-256.jpg",
        ] {
            try scratch.put(name, bytes: 10, age: 9999)
        }
        var before = scratch.snapshot()
        let cache = ThumbnailCache(index: scratch.database, limit: 0)
        let report = try #require(cache.prune(indexed: []))
        #expect(report.orphans == 1 && report.kept == 0, "\(report)")
        before.removeValue(forKey: scratch.cacheFolder.path + "/ab/\(hash)-256.jpg")
        #expect(scratch.snapshot() == before, "prune changed something besides the one thumbnail")

        // A thumbnail name that is a link is neither read nor written through.
        let open = ThumbnailCache(index: scratch.database)
        #expect(open.cached(hash: planted, size: 256) == nil, "read the user's photo through a link")
        open.store(Data(repeating: 1, count: 30), hash: planted, size: 256)
        #expect(fm.contents(atPath: photo.path) == Data(repeating: 7, count: 77), "wrote through a link")
        #expect(open.cached(hash: linked, size: 256) == nil, "read through a linked shard")
        open.store(Data(repeating: 1, count: 30), hash: linked, size: 256)
        #expect(scratch.snapshot() == before, "a store through a link changed something")
    }

    /// `DB.thumbnails` itself a link (to the user's folder): the disk cache is off, never followed.
    @Test func aCacheFolderThatIsALinkIsNeverUsed() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let hash = Self.hash("ab", 1)
        try scratch.put("ab/\(hash)-256.jpg", bytes: 40, age: 9999, in: scratch.outside)
        try FileManager.default.createSymbolicLink(at: scratch.cacheFolder, withDestinationURL: scratch.outside)
        let before = scratch.snapshot()
        let cache = ThumbnailCache(index: scratch.database, limit: 0)
        #expect(cache.prune(indexed: []) == nil)
        let open = ThumbnailCache(index: scratch.database)
        #expect(open.cached(hash: hash, size: 256) == nil)
        open.store(Data(repeating: 1, count: 30), hash: Self.hash("ef", 2), size: 256)
        #expect(scratch.snapshot() == before)
    }

    /// Writes keep the folder under its limit by themselves, the newest thumbnail kept.
    @Test func storingPastTheLimitPrunes() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let cache = ThumbnailCache(index: scratch.database, limit: 5000)
        for n in 0..<12 {
            let hash = Self.hash(n % 2 == 0 ? "aa" : "bb", n)
            cache.store(Data(repeating: UInt8(n), count: 1000), hash: hash, size: 128)
            let sizes = scratch.snapshot().filter { $0.key.hasSuffix(".jpg") }.map(\.value.count)
            #expect(sizes.reduce(0, +) <= 5000, "after \(n + 1) writes: \(sizes.reduce(0, +)) bytes")
            #expect(cache.cached(hash: hash, size: 128) == Data(repeating: UInt8(n), count: 1000))
        }
        // A limit of 0 keeps nothing on disk.
        let none = ThumbnailCache(index: scratch.root.appendingPathComponent("other.sqlite"), limit: 0)
        none.store(Data(repeating: 1, count: 10), hash: Self.hash("aa", 99), size: 128)
        #expect(
            !FileManager.default.fileExists(atPath: scratch.root.appendingPathComponent("other.sqlite.thumbnails").path)
        )
    }

    /// Over HTTP: at startup the server removes thumbnails of images no longer indexed, keeps the
    /// others, and a planted link to a file outside is neither served nor followed.
    @Test func serverPrunesAtStartupAndNeverServesALinkedThumbnail() async throws {
        let fixture = try PageFixture.make()
        defer { fixture.remove() }
        let (defaults, service) = try fixture.service()
        var options = defaults
        options.thumbnailCacheBytes = 1 << 20
        let folder = URL(fileURLWithPath: fixture.database.path + ".thumbnails")
        let file = fixture.path("shapes/red-circle.png")
        let hash = SearchPageTests.sha256(try Data(contentsOf: URL(fileURLWithPath: file)))
        let orphan = Self.hash("ab", 1)
        let kept = folder.appendingPathComponent("\(hash.prefix(2))/\(hash)-128.jpg")
        let gone = folder.appendingPathComponent("ab/\(orphan)-128.jpg")
        for url in [kept, gone] {
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(repeating: 3, count: 64).write(to: url)
        }
        // The 256-pixel thumbnail of the same image is a link to the secret outside the index.
        let linked = folder.appendingPathComponent("\(hash.prefix(2))/\(hash)-256.jpg")
        try FileManager.default.createSymbolicLink(at: linked, withDestinationURL: fixture.secret)
        let secret = try Data(contentsOf: fixture.secret)
        try await withServer(options, index: service) { client in
            let deadline = ContinuousClock.now + .seconds(20)
            while FileManager.default.fileExists(atPath: gone.path), ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(!FileManager.default.fileExists(atPath: gone.path), "the orphan thumbnail is still there")
            #expect(FileManager.default.fileExists(atPath: kept.path))
            let thumbnail = try await client.get("/thumbnail?size=256&path=\(SearchPageTests.query(file))")
            #expect(thumbnail.status == 200 && thumbnail.body != secret)
            #expect(thumbnail.body.starts(with: [0xFF, 0xD8]), "not a JPEG made by the server")
        }
        #expect(try Data(contentsOf: fixture.secret) == secret)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: linked.path) == fixture.secret.path)
    }
}
