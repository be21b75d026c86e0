import CLIP
import Foundation
import Hummingbird

/// `clip serve --runs DIR`: live training reports. `GET /runs/` lists the runs directly under
/// DIR (folders with a `log.jsonl` or `checkpoints/`); `GET /runs/NAME/` renders NAME's report
/// from its log at every request (a run in progress reloads itself every 30 s, without script).
///
/// Nothing outside DIR is ever read: NAME must be one plain path component after percent
/// decoding (no `/`, `\`, `.`/`..`, hidden names or control characters), and the run folder and
/// every file the report reads must resolve, symbolic links followed, inside DIR
/// (``RunFolders``). Anything else answers 404 without saying what exists.
struct RunReportRoutes: Sendable {
    let runs: RunFolders
    /// Logs parsed by earlier requests (only new lines are read again).
    let logs = LogHistoryCache()
    static let refreshSeconds = 30
    static let endpoints = ["GET /runs/", "GET /runs/NAME/"]

    func add(to router: Router<BasicRequestContext>) {
        // The router ignores a trailing slash: "/runs" and "/runs/" are the same route.
        router.get("/runs") { _, _ in listing() }
        router.get("/runs/:name") { _, context in
            report(named: context.parameters.get("name") ?? "")
        }
    }

    /// The list of runs as an HTML page.
    func listing() -> Response {
        let e = ReportFormat.escape
        var rows = ""
        for name in runs.names() {
            guard let folder = runs.run(named: name) else { continue }
            let report = load(folder)
            let total = report.summary?.totalSteps.map { " of \($0)" } ?? ""
            let loss = report.history.series["loss"]?.points.last.map { ReportFormat.number($0.value) } ?? "–"
            let updated = report.history.lastTime.map(ReportFormat.time) ?? "–"
            let link = "/runs/" + (name.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? name) + "/"
            rows +=
                "<tr><td><a href=\"\(e(link))\">\(e(name))</a></td><td>\(report.history.lastStep)\(total)</td>"
                + "<td>\(loss)</td><td>\(e(report.inProgress ? "in progress or stopped" : "finished"))</td>"
                + "<td>\(e(updated))</td></tr>\n"
        }
        if rows.isEmpty {
            rows =
                "<tr><td colspan=\"5\">No training runs in this folder yet (a run is a folder with log.jsonl).</td></tr>\n"
        }
        let page = """
            <!DOCTYPE html>
            <html lang="en">
            <head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <meta http-equiv="refresh" content="\(Self.refreshSeconds)">
            <title>Training runs · swift-clip</title><style>\(TrainingReport.css)</style></head>
            <body><header><h1>Training runs</h1><p class="status">\(e(runs.root.path))</p></header>
            <main><table class="runs"><tr><th>run</th><th>step</th><th>loss</th><th>state</th><th>last logged</th></tr>
            \(rows)</table></main></body></html>

            """
        return html(page)
    }

    /// One run's report, rendered from its files now.
    func report(named raw: String) -> Response {
        // The router hands over the path component as sent: decode it once, then check it.
        let name = raw.removingPercentEncoding ?? ""
        guard let folder = runs.run(named: name) else {
            let page = """
                <!DOCTYPE html>
                <html lang="en"><head><meta charset="utf-8"><title>No such run</title>\
                <style>\(TrainingReport.css)</style></head>
                <body><h1>No such run</h1><p>There is no training run of that name. <a href="/runs/">All runs</a></p></body></html>

                """
            return html(page, status: .notFound)
        }
        return html(load(folder).html(refreshSeconds: Self.refreshSeconds))
    }

    /// The report of a run folder inside DIR, as `TrainingReport.load(runDirectory:within:)`
    /// builds it, with the log read through the cache.
    func load(_ folder: URL) -> TrainingReport {
        let log = folder.appendingPathComponent("log.jsonl")
        var history = TrainingHistory()
        if FileManager.default.fileExists(atPath: log.path), RunFolders.isInside(log, root: runs.root) {
            history = logs.history(of: log) ?? TrainingHistory()
        }
        return TrainingReport(
            name: folder.standardizedFileURL.lastPathComponent, history: history,
            summary: RunSummary(runDirectory: folder, within: runs.root))
    }

    func html(_ page: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status,
            headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: page)))
    }
}
