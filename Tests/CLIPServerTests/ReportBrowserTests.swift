import CLIP
import Foundation
import Testing

@testable import CLIPServer

// The training report in a real browser: headless Chromium (Debian's package, `scripts/setup
// --browser`) over the DevTools pipe (Chromium.swift), the page served by `clip serve --runs`.
// Run with `CLIP_BROWSER_TESTS=1 swift test --no-parallel --filter BrowserTests` (as the search page's tests);
// screenshots go to $CLIP_BROWSER_ARTIFACTS (default .build/ci-artifacts/browser).

@Suite(
    "training report in Chromium (ReportBrowserTests)", .serialized,
    .enabled(if: ProcessInfo.processInfo.environment["CLIP_BROWSER_TESTS"] == "1", "set CLIP_BROWSER_TESTS=1"))
struct ReportBrowserTests {
    static let artifacts: URL = {
        if let given = ProcessInfo.processInfo.environment["CLIP_BROWSER_ARTIFACTS"], !given.isEmpty {
            return URL(fileURLWithPath: given)
        }
        return Repository.root.appendingPathComponent(".build/ci-artifacts/browser")
    }()

    /// Share of a screenshot's pixels that are not the page background (a blank page is ~0).
    static func inkShare(_ png: Data) throws -> Double {
        let image = try ImageDecoder.decode(data: png, name: "screenshot.png")
        let channels = image.pixels.count / (image.width * image.height)
        let background = Array(image.pixels[0..<channels])
        var differing = 0
        for i in stride(from: 0, to: image.pixels.count, by: channels)
        where Array(image.pixels[i..<(i + channels)]) != background {
            differing += 1
        }
        return Double(differing) / Double(image.width * image.height)
    }

    @Test func reportRendersItsCurvesAtDesktopAndPhoneWidth() async throws {
        let (base, runs) = try RunReportTests.makeRuns()
        defer { try? FileManager.default.removeItem(at: base) }
        try FileManager.default.createDirectory(at: Self.artifacts, withIntermediateDirectories: true)
        try await withServer(RunReportTests.options(runs), loadModel: false) { client in
            let browser = try Chromium.launch()
            defer { browser.close() }
            let root = "http://127.0.0.1:\(client.port)"
            for (name, width, height, mobile) in [("desktop", 1280, 900, false), ("phone", 390, 844, true)] {
                let tab = try browser.newTab(width: width, height: height, mobile: mobile)
                try tab.navigate(root + "/runs/")
                #expect(try tab.evaluate("document.querySelectorAll('a[href=\"/runs/a/\"]').length") as? Int == 1)
                try tab.navigate(root + "/runs/a/")
                // One drawn path per logged metric with data: 5 training metrics, 2 validation ones.
                let paths = try tab.evaluate("document.querySelectorAll('svg.chart path').length") as? Int
                #expect(paths == 7, "\(name): \(paths.map(String.init) ?? "nil") paths")
                // The training curves (4 steps each) have a visible extent; validation has one point each.
                let drawn = try tab.evaluate(
                    "[...document.querySelectorAll('svg.chart path')].slice(0, 5).every(p => p.getBBox().width > 100)")
                #expect(drawn as? Bool == true, "\(name): a training curve has no width")
                let charts = try tab.evaluate("document.querySelectorAll('figure svg.chart').length") as? Int
                #expect(charts == 7, "\(name)")
                // Nothing wider than the viewport (no sideways scrolling on a phone).
                let overflow = try tab.evaluate("document.documentElement.scrollWidth") as? Int ?? .max
                #expect(overflow <= width, "\(name): page is \(overflow) px wide")
                if mobile {
                    let columns = try tab.evaluate(
                        "new Set([...document.querySelectorAll('figure')].map(f => Math.round(f.getBoundingClientRect().left))).size"
                    )
                    #expect(columns as? Int == 1, "charts should stack in one column on a phone")
                }
                let png = try tab.screenshot()
                let url = Self.artifacts.appendingPathComponent("report-\(name).png")
                try png.write(to: url)
                let ink = try Self.inkShare(png)
                print("report \(name): \(paths ?? -1) paths, \(String(format: "%.1f", ink * 100)) % ink, \(url.path)")
                #expect(ink > 0.02, "\(name) screenshot looks blank")
            }
        }
    }
}
