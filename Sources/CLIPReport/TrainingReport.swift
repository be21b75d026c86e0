import CLIPOutput
import Foundation

// DIR/report.html: a training run as one self-contained page (inline CSS and SVG, no script,
// nothing fetched), built from the run's log.jsonl and its newest trainer.json only, so the
// same page comes out whether the trainer writes it at a checkpoint, `clip report DIR`
// rebuilds it later, or `clip serve --runs` renders it on request. The page holds no time of
// its own making: the same log gives the same bytes.

/// The HTML report of a training run: a summary (model, data, settings, times, best metrics)
/// and one chart per metric group (loss, learning rate, logit scale, gradient norm, samples/s,
/// validation recall and ranks), one SVG `<path>` per logged metric with data.
///
/// ```swift
/// let report = try TrainingReport.load(runDirectory: URL(fileURLWithPath: "run"))
/// try report.write(to: URL(fileURLWithPath: "run/report.html"))
/// ```
public struct TrainingReport: Sendable {
    /// The file name the trainer writes into the run folder.
    public static let fileName = "report.html"

    /// The run's name (its folder's name).
    public var name: String
    public var history: TrainingHistory
    /// Nil before the first checkpoint.
    public var summary: RunSummary?

    public init(name: String, history: TrainingHistory, summary: RunSummary?) {
        self.name = name
        self.history = history
        self.summary = summary
    }

    /// Reads `runDirectory/log.jsonl` and the newest `trainer.json`.
    /// - Parameter root: when given, files resolving outside it (symbolic links) are not read.
    /// - Throws: ``ReportError``.
    public static func load(runDirectory: URL, within root: URL? = nil) throws -> TrainingReport {
        guard RunFolders.isRun(runDirectory) else { throw ReportError.notARun(path: runDirectory.path) }
        let log = runDirectory.appendingPathComponent("log.jsonl")
        var history = TrainingHistory()
        if FileManager.default.fileExists(atPath: log.path), root.map({ RunFolders.isInside(log, root: $0) }) ?? true {
            do { history = TrainingHistory(jsonl: try Data(contentsOf: log)) } catch {
                throw ReportError.unreadableLog(path: log.path, reason: error.localizedDescription)
            }
        }
        return TrainingReport(
            name: runDirectory.standardizedFileURL.lastPathComponent, history: history,
            summary: RunSummary(runDirectory: runDirectory, within: root))
    }

    /// Writes ``html(refreshSeconds:)`` to `url` (temporary file, fsync, rename).
    public func write(to url: URL) throws {
        try OutputFile.write(Data(html().utf8), to: url)
    }

    /// True when the run has not reached its last step (as far as its checkpoint says).
    public var inProgress: Bool {
        guard let total = summary?.totalSteps else { return true }
        return history.lastStep < total
    }

    // MARK: - Charts

    /// The charts of the page, in order; each has at least one curve.
    public var charts: [SVGLineChart] {
        let steps = 0...max(summary?.totalSteps ?? 0, history.lastStep, 1)
        var charts: [SVGLineChart] = []
        func single(_ key: String, _ title: String, transform: ((Double) -> Double)? = nil) {
            guard var data = history.series[key] else { return }
            if let transform { data.values = data.values.map { $0.map(transform) } }
            var chart = SVGLineChart(title: title, steps: steps)
            chart.add(title, data)
            if chart.hasData { charts.append(chart) }
        }
        for (key, title) in Self.trainingCharts {
            // The log holds t; the model multiplies cosine similarities by exp(t) (at most 100).
            single(key, title, transform: key == "logit_scale" ? { Foundation.exp($0) } : nil)
        }
        let known = Set(Self.trainingCharts.map(\.key))
        for key in history.keys where !known.contains(key) && !key.hasPrefix("validation.") {
            single(key, key)
        }
        for group in validationGroups {
            var chart = SVGLineChart(title: "validation: " + group.title, steps: steps)
            for line in group.lines {
                if let data = history.series[line.key] { chart.add(line.label, data) }
            }
            if chart.hasData { charts.append(chart) }
        }
        return charts
    }

    /// Validation metrics grouped as the charts show them: recall@1/5/10 of a direction
    /// together, its mean and median rank together; groups in the order they were logged, lines
    /// by cutoff.
    var validationGroups: [(title: String, lines: [(label: String, key: String)])] {
        var groups: [(title: String, lines: [(order: Double, label: String, key: String)])] = []
        for key in history.keys where key.hasPrefix("validation.") {
            let (title, label, order) = Self.validationGroup(String(key.dropFirst("validation.".count)))
            if let i = groups.firstIndex(where: { $0.title == title }) {
                groups[i].lines.append((order, label, key))
            } else {
                groups.append((title, [(order, label, key)]))
            }
        }
        return groups.map { group in
            (
                group.title,
                group.lines.sorted { ($0.order, $0.label) < ($1.order, $1.label) }.map { ($0.label, $0.key) }
            )
        }
    }

    /// Every logged metric with its name in the metrics table, in the order of the charts.
    var metricOrder: [(key: String, name: String)] {
        var order = Self.trainingCharts.filter { history.series[$0.key] != nil }.map { ($0.key, $0.title) }
        let known = Set(Self.trainingCharts.map(\.key))
        for key in history.keys where !known.contains(key) && !key.hasPrefix("validation.") { order.append((key, key)) }
        for group in validationGroups {
            for line in group.lines {
                order.append((line.key, "validation " + Self.readable(String(line.key.dropFirst("validation.".count)))))
            }
        }
        return order
    }

    /// Step-line keys with a chart of their own, in page order.
    static let trainingCharts: [(key: String, title: String)] = [
        ("loss", "loss"), ("lr", "learning rate"), ("logit_scale", "logit scale (exp t)"),
        ("grad_norm", "gradient norm"), ("samples_per_second", "samples per second"),
    ]

    /// The chart a validation metric belongs to, its legend label and its order in the legend:
    /// `image_to_text_R@5` → ("image → text recall", "R@5", 5).
    static func validationGroup(_ key: String) -> (title: String, label: String, order: Double) {
        if let at = key.range(of: "_R@", options: .backwards), let k = Double(key[at.upperBound...]) {
            return (readable(String(key[..<at.lowerBound])) + " recall", "R@" + key[at.upperBound...], k)
        }
        for (suffix, label, order) in [("_mean_rank", "mean rank", 0.0), ("_median_rank", "median rank", 1.0)]
        where key.hasSuffix(suffix) {
            return (readable(String(key.dropLast(suffix.count))) + " rank", label, order)
        }
        if let top = key.range(of: "top", options: .backwards), let k = Double(key[top.upperBound...]) {
            let stem = key[..<top.lowerBound].trimmingCharacters(in: CharacterSet(charactersIn: "_"))
            return ((stem.isEmpty ? "zero-shot" : readable(stem)) + " accuracy", "top-\(Int(k))", k)
        }
        return (readable(key), readable(key), 0)
    }

    static func readable(_ key: String) -> String {
        key.replacingOccurrences(of: "image_to_text", with: "image → text")
            .replacingOccurrences(of: "text_to_image", with: "text → image").replacingOccurrences(of: "_", with: " ")
    }

    /// Whether a smaller value of the metric is better (nil: neither, e.g. the learning rate).
    static func lowerIsBetter(_ key: String) -> Bool? {
        if key == "loss" || key.hasSuffix("rank") { return true }
        if key.hasPrefix("validation.") { return false }
        return nil
    }

    // MARK: - Page

    /// The page. With `refreshSeconds`, a run in progress reloads itself (a meta refresh: no script).
    public func html(refreshSeconds: Int? = nil) -> String {
        let e = ReportFormat.escape
        let charts = self.charts
        var page = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="generator" content="swift-clip">
            <meta name="clip-report-step" content="\(history.lastStep)">

            """
        if let refreshSeconds, inProgress { page += "<meta http-equiv=\"refresh\" content=\"\(refreshSeconds)\">\n" }
        page += "<title>\(e(name)) · training report</title>\n<style>\(Self.css)</style>\n</head>\n<body>\n"
        page += "<header><h1>Training run <span class=\"name\">\(e(name))</span></h1>\n"
        page += "<p class=\"status\">\(e(statusLine))</p></header>\n<main>\n"
        page += "<section class=\"charts\">\n"
        if charts.isEmpty { page += "<p class=\"empty\">No metrics logged yet.</p>\n" }
        for chart in charts {
            page += "<figure><figcaption>\(e(chart.title))</figcaption>\(chart.svg())</figure>\n"
        }
        page += "</section>\n<section class=\"tables\">\n" + summaryTable() + metricsTable() + "</section>\n"
        page += "</main>\n<footer>Built by swift-clip from log.jsonl"
        if let step = summary?.checkpointStep { page += " and the step-\(step) checkpoint's trainer.json" }
        page += ".</footer>\n</body>\n</html>\n"
        return page
    }

    var statusLine: String {
        let total = summary?.totalSteps
        if history.stepCount == 0 { return "No steps logged yet." }
        let of = total.map { " of \($0)" } ?? ""
        let state =
            inProgress ? (summary == nil ? "running (no checkpoint yet)" : "in progress or stopped") : "finished"
        let loss = history.series["loss"]?.points.last.map { " · loss \(ReportFormat.number($0.value))" } ?? ""
        return "\(state): step \(history.lastStep)\(of)\(loss)"
    }

    func summaryTable() -> String {
        let e = ReportFormat.escape
        var rows: [(String, String)] = []
        if let summary {
            rows.append(("model", summary.model.isEmpty ? "unrecorded" : summary.model))
            rows.append(("training data", summary.trainingData ?? "none"))
            rows.append(("validation data", summary.validationData ?? "none"))
            if !summary.lockedTowers.isEmpty {
                rows.append(("locked towers", summary.lockedTowers.joined(separator: ", ")))
            }
            rows += summary.settings
        } else {
            rows.append(("settings", "written with the first checkpoint"))
        }
        if let first = history.firstTime { rows.append(("first step logged", ReportFormat.time(first))) }
        if let last = history.lastTime { rows.append(("last line logged", ReportFormat.time(last))) }
        if let first = history.firstTime, let last = history.lastTime {
            rows.append(("elapsed", ReportFormat.duration(last - first)))
        }
        rows.append(("steps logged", String(history.stepCount)))
        if history.skippedSteps > 0 { rows.append(("skipped steps (non-finite)", String(history.skippedSteps))) }
        if history.skippedSamples > 0 { rows.append(("skipped samples", String(history.skippedSamples))) }
        if history.unreadableLines > 0 {
            rows.append(("unreadable log lines", "\(history.unreadableLines) (a line cut by a crash is expected)"))
        }
        var html = "<table class=\"summary\"><caption>Run</caption>\n"
        for (label, value) in rows { html += "<tr><th>\(e(label))</th><td>\(e(value))</td></tr>\n" }
        return html + "</table>\n"
    }

    func metricsTable() -> String {
        let e = ReportFormat.escape
        var html = "<table class=\"metrics\"><caption>Metrics</caption>\n"
        html += "<tr><th>metric</th><th>last</th><th>best</th></tr>\n"
        var any = false
        for (key, name) in metricOrder {
            guard let data = history.series[key], let last = data.points.last else { continue }
            any = true
            let transform: (Double) -> Double = key == "logit_scale" ? { Foundation.exp($0) } : { $0 }
            var best = "–"
            if let lower = Self.lowerIsBetter(key) {
                let points = data.points
                // The first of equal values: when the best was first reached.
                if let b = points.indices.min(by: {
                    let (x, y) = (points[$0].value, points[$1].value)
                    return lower ? (x < y || (x == y && $0 < $1)) : (x > y || (x == y && $0 < $1))
                }) {
                    best = "\(ReportFormat.number(points[b].value)) at step \(points[b].step)"
                }
            }
            html +=
                "<tr><td>\(e(name))</td><td>\(ReportFormat.number(transform(last.value))) at step \(last.step)</td><td>\(e(best))</td></tr>\n"
        }
        if !any { html += "<tr><td colspan=\"3\">none yet</td></tr>\n" }
        return html + "</table>\n"
    }

    /// The page's style sheet (light and dark), for other pages that show reports.
    public static let css = """
        :root{--bg:#fff;--fg:#1d1d1f;--muted:#6e6e73;--grid:#e5e5ea;--axis:#8e8e93;--card:#f7f7f9}
        @media (prefers-color-scheme:dark){:root{--bg:#151517;--fg:#f2f2f7;--muted:#a1a1a6;--grid:#2c2c30;\
        --axis:#6e6e73;--card:#1e1e21}}
        *{box-sizing:border-box}
        body{margin:0 auto;max-width:1280px;padding:16px;background:var(--bg);color:var(--fg);\
        font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif}
        h1{font-size:1.4em;margin:0 0 4px}.name{font-family:ui-monospace,monospace}
        .status{margin:0 0 16px;color:var(--muted)}
        .tables{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
        table{border-collapse:collapse;background:var(--card);border-radius:8px;flex:1 1 360px;max-width:100%}
        caption{text-align:left;font-weight:600;padding:4px 0}
        th,td{text-align:left;padding:4px 10px;border-top:1px solid var(--grid);vertical-align:top}
        td{overflow-wrap:anywhere}th{font-weight:500;color:var(--muted)}.summary th{width:38%}
        .charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,420px),1fr));gap:16px;\
        margin-bottom:16px}
        figure{margin:0;padding:8px;background:var(--card);border-radius:8px}
        figcaption{font-weight:600;margin:0 0 4px 4px}
        svg.chart{width:100%;height:auto;display:block}
        svg .grid{stroke:var(--grid);stroke-width:1}svg .axis{stroke:var(--axis);stroke-width:1}
        svg text{fill:var(--muted);font-size:11px;font-family:system-ui,sans-serif}
        svg .line{fill:none;stroke-width:1.6;stroke-linejoin:round;stroke-linecap:round}
        @media (max-width:600px){svg text{font-size:14px}svg .line{stroke-width:2.4}}
        footer{margin-top:16px;color:var(--muted);font-size:.85em}
        """
}
