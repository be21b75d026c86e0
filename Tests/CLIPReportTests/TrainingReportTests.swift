import Foundation
import Testing

@testable import CLIPReport

/// The report built from the fixture run (Fixtures/README.md): its curves, summary, escaping,
/// and that it is self-contained.
@Suite struct TrainingReportTests {
    static let run = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/run")

    static func count(_ needle: String, in text: String) -> Int { text.components(separatedBy: needle).count - 1 }

    @Test func oneSVGPathPerLoggedMetricWithData() throws {
        let report = try TrainingReport.load(runDirectory: Self.run)
        let withData = report.history.keys.filter { report.history.series[$0]?.hasData == true }
        // 5 training metrics and 10 validation metrics have data; "extra" is always null.
        #expect(withData.count == 15, "\(withData)")
        #expect(report.history.keys.contains("extra") && report.history.series["extra"]?.hasData == false)
        let html = report.html()
        #expect(Self.count("<path", in: html) == withData.count)
        #expect(
            report.charts.map(\.title) == [
                "loss", "learning rate", "logit scale (exp t)", "gradient norm", "samples per second",
                "validation: image → text recall", "validation: image → text rank", "validation: text → image recall",
                "validation: text → image rank",
            ])
        // Legends in cutoff order, not string order (R@10 after R@5).
        #expect(report.charts[5].lines.map(\.label) == ["R@1", "R@5", "R@10"])
        #expect(report.history.unreadableLines == 1, "the torn last line is skipped")
        #expect(report.history.lastStep == 4 && report.history.stepCount == 4 && report.history.skippedSteps == 1)
    }

    @Test func aSkippedStepIsAGapInTheLossCurve() throws {
        let report = try TrainingReport.load(runDirectory: Self.run)
        let loss = try #require(report.charts.first)
        let svg = loss.svg()
        let d = try #require(svg.components(separatedBy: "d=\"").dropFirst().first?.components(separatedBy: "\"").first)
        // Step 1 alone, then steps 3 and 4 (step 2's loss is null).
        #expect(Self.count("M", in: d) == 2 && Self.count("L", in: d) == 1, "\(d)")
    }

    @Test func summaryShowsSettingsTimesAndBestMetrics() throws {
        let html = try TrainingReport.load(runDirectory: Self.run).html()
        for expected in [
            "<th>batch size</th><td>4</td>", "<th>learning rate</th><td>0.001</td>", "<th>warmup steps</th><td>1</td>",
            "<th>locked towers</th><td>image</td>", "<th>training data</th><td>/data/&lt;train&gt;.csv</td>",
            "<th>first step logged</th><td>2025-12-02 20:00:10 UTC</td>", "<th>elapsed</th><td>31 s</td>",
            "<th>skipped steps (non-finite)</th><td>1</td>",
            // Best loss is the smallest, best recall the largest, best rank the smallest.
            "<td>loss</td><td>1.52 at step 4</td><td>1.52 at step 4</td>",
            "<td>validation image → text R@1</td><td>0.22 at step 4</td><td>0.22 at step 4</td>",
            "<td>validation image → text mean rank</td><td>2 at step 4</td><td>2 at step 4</td>",
            "in progress or stopped: step 4 of 6", "content=\"4\"",
        ] {
            #expect(html.contains(expected), "missing \(expected)")
        }
        // logit_scale is logged as t; the page shows exp(t).
        #expect(html.contains("<td>logit scale (exp t)</td><td>14.34 at step 4</td>"))
    }

    @Test func thePageIsSelfContainedAndEscaped() throws {
        var report = try TrainingReport.load(runDirectory: Self.run)
        report.name = "<script>alert(1)</script>&\""
        let html = report.html()
        #expect(!html.contains("<script"))
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;"))
        // Nothing to fetch: no scripts, links, images, imports or URLs besides the SVG namespace.
        for forbidden in ["<script", "<link", "<img", "src=", "href=", "@import", "url("] {
            #expect(!html.contains(forbidden), "\(forbidden)")
        }
        #expect(html.replacingOccurrences(of: "http://www.w3.org/2000/svg", with: "").contains("http") == false)
        // A run still going reloads itself when served live; a finished one does not.
        #expect(report.html(refreshSeconds: 30).contains("http-equiv=\"refresh\" content=\"30\""))
        report.summary?.totalSteps = 4
        #expect(!report.html(refreshSeconds: 30).contains("http-equiv"))
    }

    @Test func sameLogSameBytes() throws {
        let a = try TrainingReport.load(runDirectory: Self.run).html()
        let b = try TrainingReport.load(runDirectory: Self.run).html()
        #expect(a == b)
    }

    @Test func aRunWithoutCheckpointOrLog() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("report-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(throws: ReportError.notARun(path: folder.path)) { try TrainingReport.load(runDirectory: folder) }
        try Data().write(to: folder.appendingPathComponent("log.jsonl"))
        let html = try TrainingReport.load(runDirectory: folder).html()
        #expect(html.contains("No steps logged yet.") && html.contains("No metrics logged yet."))
        #expect(Self.count("<path", in: html) == 0)
    }

    @Test func longSeriesKeepTheirEnvelope() {
        var series = TrainingHistory.Series()
        for step in 1...100_000 { series.append(step: step, value: step == 77_777 ? 50 : Double(step % 7)) }
        var chart = SVGLineChart(title: "loss", steps: 0...100_000)
        chart.add("loss", series)
        let segments = SVGLineChart.segments(series, columns: 488, limit: chart.maximumPoints)
        let points = segments.flatMap { $0 }
        print("100000 points reduced to \(points.count)")
        #expect(points.count <= 2 * 489)
        #expect(points.contains { $0.value == 50 } && points.contains { $0.value == 0 })
        #expect(Self.count("<path", in: chart.svg()) == 1)
    }

    @Test(arguments: [
        (0.0, 1.0, [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]), (1.52, 2.08, [1.5, 1.6, 1.7, 1.8, 1.9, 2.0, 2.1]),
        (5.0, 5.0, [4.4, 4.6, 4.8, 5.0, 5.2, 5.4, 5.6]),
    ])
    func ticksAreRound(low: Double, high: Double, expected: [Double]) {
        let ticks = SVGLineChart.ticks(from: low, to: high, count: 4)
        let difference = zip(ticks, expected).map { abs($0 - $1) }.max() ?? .infinity
        #expect(ticks.count == expected.count && difference < 1e-9, "\(ticks), max difference \(difference)")
    }

    @Test(arguments: [
        (0.001, "0.001"), (1.2e-5, "1.2e-5"), (312.5, "312.5"), (2000, "2000"), (0.41271, "0.4127"), (2e7, "2e7"),
    ])
    func numbers(value: Double, text: String) {
        #expect(ReportFormat.number(value) == text)
    }
}

/// Random logs (valid lines with random keys, values and nulls, and garbage lines): the page
/// always has one `<path>` per metric with data and nothing a log can inject.
@Suite struct RandomLogTests {
    @Test func pathCountAndEscapingHoldForRandomLogs() {
        var generator = SystemRandomNumberGenerator()
        let keys = [
            "loss", "lr", "logit_scale", "<script>x</script>", "a\"b", "image_to_text_R@1", "top5", "zeroshot_top1",
        ]
        var checked = 0
        for _ in 0..<200 {
            var lines: [String] = []
            for step in 1...Int.random(in: 1...40, using: &generator) {
                switch Int.random(in: 0..<10, using: &generator) {
                case 0:
                    lines.append(
                        String(
                            (0..<Int.random(in: 0...30, using: &generator)).map { _ in "{}[]\":,x1".randomElement()! }))
                case 1:
                    let key = keys.randomElement(using: &generator)!.replacingOccurrences(of: "\"", with: "\\\"")
                    lines.append(
                        "{\"step\":\(step),\"validation\":{\"\(key)\":\(Double.random(in: 0...1, using: &generator))}}")
                default:
                    var fields = ["\"step\":\(step)"]
                    for key in keys.shuffled(using: &generator).prefix(Int.random(in: 0...4, using: &generator)) {
                        let value =
                            Bool.random(using: &generator)
                            ? "null" : String(Double.random(in: -1e6...1e6, using: &generator))
                        fields.append("\"\(key.replacingOccurrences(of: "\"", with: "\\\""))\":\(value)")
                    }
                    lines.append("{" + fields.joined(separator: ",") + "}")
                }
            }
            let history = TrainingHistory(jsonl: Data(lines.joined(separator: "\n").utf8))
            let report = TrainingReport(name: "random", history: history, summary: nil)
            let html = report.html()
            let withData = history.keys.filter { history.series[$0]?.hasData == true }.count
            let paths = html.components(separatedBy: "<path").count - 1
            #expect(paths == withData, "\(paths) paths for \(withData) metrics with data: \(lines)")
            #expect(!html.contains("<script"), "\(lines)")
            checked += 1
        }
        print("random logs checked: \(checked)")
    }
}
