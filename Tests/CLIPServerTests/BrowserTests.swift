import CLIP
import Foundation
import Testing

@testable import CLIPServer

// The search page in a real browser: headless Chromium (Debian's package, installed by
// `scripts/setup --browser`) drives `clip serve --index` over loopback through the DevTools
// protocol. Run with `CLIP_BROWSER_TESTS=1 swift test --no-parallel --filter BrowserTests` (.ci/run does);
// screenshots are written to $CLIP_BROWSER_ARTIFACTS (default .build/ci-artifacts/browser).

@Suite(
    "search page in headless Chromium", .serialized,
    .enabled(if: ProcessInfo.processInfo.environment["CLIP_BROWSER_TESTS"] == "1", "set CLIP_BROWSER_TESTS=1"))
struct BrowserTests {
    static let artifacts: URL = {
        if let given = ProcessInfo.processInfo.environment["CLIP_BROWSER_ARTIFACTS"], !given.isEmpty {
            return URL(fileURLWithPath: given)
        }
        return Repository.root.appendingPathComponent(".build/ci-artifacts/browser")
    }()

    static let redCircleQuery = "one large red circle in the center"

    /// JavaScript: the paths of the visible results, in order.
    static let visiblePaths =
        "Array.from(document.querySelectorAll('#results li:not([hidden])')).map(li => li.dataset.path)"

    /// Runs `body` with a server on a fresh fixture and a launched browser.
    static func withPage(
        _ body: @Sendable (PageFixture, ServerClient, Chromium) async throws -> Void
    ) async throws {
        let fixture = try PageFixture.make()
        defer { fixture.remove() }
        let (options, service) = try fixture.service()
        try FileManager.default.createDirectory(at: artifacts, withIntermediateDirectories: true)
        try await withServer(options, index: service) { client in
            let browser = try Chromium.launch()
            defer { browser.close() }
            try await body(fixture, client, browser)
        }
    }

    /// The paths `POST /search` ranks first for `body`, as the page should show them.
    static func expected(_ client: ServerClient, _ body: [String: Any]) async throws -> [(path: String, score: Double)]
    {
        let answer = try await client.post("/search", json: body.merging(["top": 60]) { a, _ in a })
        let data = (answer.json as? [String: Any])?["data"] as? [[String: Any]] ?? []
        return data.map { ($0["path"] as? String ?? "", ($0["score"] as? NSNumber)?.doubleValue ?? .nan) }
    }

    /// Loose checks of a screenshot: the viewport's size, not blank (many colours, contrast),
    /// and the first thumbnail's box showing the red circle. Writes it to the artefacts.
    static func checkScreenshot(_ tab: Chromium.Tab, name: String, width: Int, height: Int) throws {
        let png = try tab.screenshot()
        try png.write(to: artifacts.appendingPathComponent("\(name).png"))
        let image = try ImageDecoder.decode(data: png, name: name)
        #expect(image.width == width && image.height == height, "\(name): \(image.width)x\(image.height)")
        let bpp = image.mode.bytesPerPixel
        var colours = Set<UInt32>()
        var sum = 0.0, squares = 0.0
        for i in stride(from: 0, to: image.width * image.height, by: 7) {
            let p = i * bpp
            let (r, g, b) = (image.pixels[p], image.pixels[p + 1], image.pixels[p + 2])
            colours.insert(UInt32(r) << 16 | UInt32(g) << 8 | UInt32(b))
            let grey = (Double(r) + Double(g) + Double(b)) / 3
            sum += grey
            squares += grey * grey
        }
        let n = Double((image.width * image.height + 6) / 7)
        let deviation = (squares / n - (sum / n) * (sum / n)).squareRoot()
        print("\(name): \(image.width)x\(image.height), \(colours.count) colours, grey deviation \(deviation)")
        #expect(colours.count >= 50, "\(name) looks blank: \(colours.count) colours")
        #expect(deviation >= 10, "\(name) has no contrast: deviation \(deviation)")
        // The first thumbnail, where the layout puts it: a red circle on a dark ground.
        let box =
            try tab.evaluate(
                "(() => { const r = document.querySelector('#results li img').getBoundingClientRect();"
                    + " return [r.x, r.y, r.width, r.height]; })()") as? [Double] ?? []
        try #require(box.count == 4)
        #expect(box[2] >= 100 && box[3] >= 100 && box[0] + box[2] <= Double(width), "\(name): thumbnail box \(box)")
        var red = 0, total = 0
        for y in stride(from: Int(box[1]), to: min(height, Int(box[1] + box[3])), by: 2) {
            for x in stride(from: Int(box[0]), to: min(width, Int(box[0] + box[2])), by: 2) {
                let p = (y * image.width + x) * bpp
                total += 1
                if image.pixels[p] > 150 && image.pixels[p + 1] < 100 && image.pixels[p + 2] < 100 { red += 1 }
            }
        }
        print("\(name): \(red) of \(total) sampled pixels of the first thumbnail are red")
        // The circle covers about 5% of its 128-pixel image; 2% of the box is the bar.
        #expect(red * 50 >= total, "\(name): the first thumbnail does not show the red circle")
    }

    @Test func searchByTextThresholdMoreLikeThisAndFolderAtDesktopWidth() async throws {
        try await Self.withPage { fixture, client, browser in
            let expected = try await Self.expected(client, ["query": Self.redCircleQuery])
            let redCircle = fixture.path("shapes/red-circle.png")
            try #require(
                expected.first?.path == redCircle, "the demo model ranks \(expected.first?.path ?? "nothing") first")

            let tab = try browser.newTab(width: 1280, height: 800)
            try tab.navigate("http://127.0.0.1:\(client.port)/")
            try tab.waitUntil("document.querySelectorAll('#folder option').length === 4")
            // The keyboard: "/" focuses the query box, typing and Enter search.
            try tab.evaluate("document.activeElement.blur()")
            try tab.press("/", code: "Slash", keyCode: 191)
            #expect(try tab.evaluate("document.activeElement.id") as? String == "query")
            try tab.type(Self.redCircleQuery)
            try tab.waitUntil("document.querySelectorAll('#results li').length === \(expected.count)")
            #expect(try tab.evaluate(Self.visiblePaths) as? [String] == expected.map(\.path))
            #expect(try tab.evaluate("location.hash") as? String == "#q=one%20large%20red%20circle%20in%20the%20center")
            // Every thumbnail loaded (made by the server) and shows its score.
            try tab.waitUntil(
                "Array.from(document.querySelectorAll('#results img')).every(i => i.complete && i.naturalWidth > 0)")
            let firstScore = try tab.evaluate("document.querySelector('#results .score').textContent") as? String
            #expect(firstScore == String(format: "%.3f", expected[0].score))
            #expect(try tab.evaluate("document.querySelectorAll('#results img')[0].naturalWidth") as? Int == 128)
            let columns =
                try tab.evaluate(
                    "getComputedStyle(document.getElementById('results')).gridTemplateColumns.split(' ').length")
                as? Int ?? 0
            #expect(columns >= 5, "desktop grid has \(columns) columns")
            // A file name with markup is shown as text (no element made from it), its thumbnail loaded.
            #expect(try tab.evaluate("document.querySelectorAll('#results em').length") as? Int == 0)
            #expect(try tab.evaluate("document.querySelectorAll('#results img').length") as? Int == expected.count)
            let names = try tab.evaluate(
                "Array.from(document.querySelectorAll('#results .name')).map(n => n.textContent)")
            #expect((names as? [String])?.contains(String(PageFixture.markupName.dropFirst(5))) == true)
            try Self.checkScreenshot(tab, name: "search-desktop", width: 1280, height: 800)

            // The threshold hides results below it, at once, and shows them again.
            let cut = (expected[2].score + expected[3].score) / 2
            try tab.evaluate(
                "(() => { const s = document.getElementById('threshold'); s.value = \(cut); s.dispatchEvent(new Event('input')); })()"
            )
            let threshold = try tab.evaluate("Number(document.getElementById('threshold').value)") as? Double ?? .nan
            let kept = expected.filter { $0.score >= threshold }.map(\.path)
            #expect(kept.count >= 1 && kept.count < expected.count)
            #expect(try tab.evaluate(Self.visiblePaths) as? [String] == kept, "threshold \(threshold)")
            #expect(
                (try tab.evaluate("document.getElementById('status').textContent") as? String)?
                    .hasPrefix("\(kept.count) of \(expected.count) results") == true)
            try tab.evaluate(
                "(() => { const s = document.getElementById('threshold'); s.value = s.min; s.dispatchEvent(new Event('input')); })()"
            )
            #expect((try tab.evaluate(Self.visiblePaths) as? [String])?.count == expected.count)

            // "More like this" on the second result, by the keyboard (focus, Enter).
            let second = expected[1].path
            let like = try await Self.expected(client, ["like": second])
            try tab.evaluate("document.querySelectorAll('#results .like')[1].focus()")
            try tab.pressEnter()
            try tab.waitUntil("decodeURIComponent(location.hash) === '#like=\(second)'")
            try tab.waitUntil(
                "document.querySelector('#results li') && document.querySelector('#results li').dataset.path === '\(like[0].path)'"
            )
            #expect(like[0].path == second)
            #expect(try tab.evaluate(Self.visiblePaths) as? [String] == like.map(\.path))

            // The folder filter narrows the same query to one folder.
            let more = fixture.path("more")
            let inMore = try await Self.expected(client, ["like": second, "folder": more])
            try tab.evaluate(
                "(() => { const f = document.getElementById('folder'); f.value = '\(more)'; f.dispatchEvent(new Event('change')); })()"
            )
            try tab.waitUntil("document.querySelectorAll('#results li').length === \(inMore.count)")
            let shown = try tab.evaluate(Self.visiblePaths) as? [String] ?? []
            #expect(shown == inMore.map(\.path) && shown.count == 5 && shown.allSatisfy { $0.hasPrefix(more + "/") })

            // The browser cannot reach files outside the index either.
            for (query, status) in SearchPageTests.traversals(fixture) {
                let got = try tab.evaluate("fetch('/original?\(query)').then(r => r.status)") as? Int
                #expect(got == status, "\(query) in the browser: \(got.map(String.init) ?? "nil")")
            }
            let refused = try tab.evaluate(
                "new Promise(done => { const i = new Image(); i.onload = () => done('loaded'); i.onerror = () => done('refused');"
                    + " i.src = '/thumbnail?size=128&path=' + encodeURIComponent('\(fixture.photos.path)/../outside/secret.png'); })"
            )
            #expect(refused as? String == "refused")
            #expect(try tab.errors() == [])
        }
    }

    @Test func searchByChosenAndDroppedImage() async throws {
        try await Self.withPage { fixture, client, browser in
            let tab = try browser.newTab(width: 1280, height: 800)
            try tab.navigate("http://127.0.0.1:\(client.port)/")
            // Choosing a file (the "Image…" button's file input).
            let blue = fixture.path("shapes/blue-square.png")
            let expectedBlue = try await Self.expected(
                client, ["image": try Data(contentsOf: URL(fileURLWithPath: blue)).base64EncodedString()])
            #expect(expectedBlue.first?.path == blue)
            try tab.setFiles("#file", [blue])
            try tab.waitUntil("document.querySelectorAll('#results li').length === \(expectedBlue.count)")
            #expect(try tab.evaluate(Self.visiblePaths) as? [String] == expectedBlue.map(\.path))
            #expect(try tab.evaluate("document.getElementById('query-image').hidden") as? Bool == false)
            // Dropping a file onto the page (dragged in from outside the browser).
            let green = fixture.path("shapes/green-triangle.png")
            let expectedGreen = try await Self.expected(
                client, ["image": try Data(contentsOf: URL(fileURLWithPath: green)).base64EncodedString()])
            #expect(expectedGreen.first?.path == green)
            try tab.dropFiles([green], x: 640, y: 500)
            try tab.waitUntil("document.querySelector('#query-image .caption').textContent === 'green-triangle.png'")
            try tab.waitUntil("document.querySelector('#results li').dataset.path === '\(green)'")
            #expect(try tab.evaluate(Self.visiblePaths) as? [String] == expectedGreen.map(\.path))
            // Escape clears the query image.
            try tab.send(
                "Input.dispatchKeyEvent",
                ["type": "keyDown", "key": "Escape", "code": "Escape", "windowsVirtualKeyCode": 27])
            #expect(try tab.evaluate("document.getElementById('query-image').hidden") as? Bool == true)
            #expect(try tab.errors() == [])
        }
    }

    @Test func phoneWidthLayout() async throws {
        try await Self.withPage { fixture, client, browser in
            let tab = try browser.newTab(width: 390, height: 844, mobile: true)
            let query = Self.redCircleQuery.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
            try tab.navigate("http://127.0.0.1:\(client.port)/#q=\(query)")
            try tab.waitUntil("document.querySelectorAll('#results li').length === \(PageFixture.scenes.count)")
            #expect(
                try tab.evaluate("document.querySelector('#results li').dataset.path") as? String
                    == fixture.path("shapes/red-circle.png"))
            try tab.waitUntil(
                "Array.from(document.querySelectorAll('#results img')).slice(0, 4).every(i => i.complete && i.naturalWidth > 0)"
            )
            // Two columns, nothing wider than the screen, the controls on screen.
            let columns =
                try tab.evaluate(
                    "getComputedStyle(document.getElementById('results')).gridTemplateColumns.split(' ').length")
                as? Int
            #expect(columns == 2)
            #expect(try tab.evaluate("document.documentElement.scrollWidth") as? Int == 390)
            for id in ["query", "threshold", "folder", "choose-image"] {
                let right =
                    try tab.evaluate("document.getElementById('\(id)').getBoundingClientRect().right") as? Double
                    ?? .infinity
                #expect(right <= 390, "#\(id) ends at \(right)")
            }
            try Self.checkScreenshot(tab, name: "search-phone", width: 390, height: 844)
            #expect(try tab.errors() == [])
        }
    }
}
