import Foundation

// A line chart drawn as inline SVG text, for pages that must work without scripts or external
// files: axes and grid as <line>, tick labels as <text>, one <path> per series (gaps split it
// into sub-paths), a <circle> per point for sparse series (validation at checkpoints), and a
// legend of <rect> swatches. Only series draw <path>s, so a page's path count is its number of
// curves. Coordinates: x grows with the step, y with the value (the SVG y axis is flipped).

/// A line chart of metrics over training steps, as an `<svg>` element.
///
/// ```swift
/// var chart = SVGLineChart(title: "loss", steps: 0...2000)
/// chart.add("loss", history.series["loss"]!)
/// let svg = chart.svg()   // "<svg viewBox=\"0 0 560 240\" ...><path d=\"M64.0 ...\"/>...</svg>"
/// ```
public struct SVGLineChart: Sendable {
    /// A curve: its legend label, colour and data.
    public struct Line: Sendable {
        public var label: String
        public var colour: String
        public var data: TrainingHistory.Series
    }

    public var title: String
    /// The x range (steps); every chart of a report shares it so curves line up.
    public var steps: ClosedRange<Int>
    public private(set) var lines: [Line] = []

    /// Series longer than this are reduced to the smallest and largest value per pixel column
    /// (the envelope stays exact; a million steps still make a page of a few hundred kB).
    public var maximumPoints = 1200

    static let width = 560.0, height = 240.0
    static let left = 66.0, right = 14.0, top = 12.0, bottom = 30.0, legendHeight = 18.0
    /// Colours that read on light and dark backgrounds (Tableau 10).
    public static let palette = [
        "#4e79a7", "#f28e2b", "#e15759", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#9c755f",
    ]

    public init(title: String, steps: ClosedRange<Int>) {
        self.title = title
        self.steps = steps
    }

    /// Adds a curve (a series without any finite value is left out: nothing to draw).
    public mutating func add(_ label: String, _ data: TrainingHistory.Series, colour: String? = nil) {
        guard data.hasData else { return }
        lines.append(
            Line(label: label, colour: colour ?? Self.palette[lines.count % Self.palette.count], data: data))
    }

    /// True when at least one curve has data.
    public var hasData: Bool { !lines.isEmpty }

    /// The chart as an `<svg>` element scaled to its container's width.
    public func svg() -> String {
        let legend = lines.count > 1 ? Self.legendHeight : 0
        let plotTop = Self.top + legend
        let plot = (x0: Self.left, x1: Self.width - Self.right, y0: Self.height - Self.bottom, y1: plotTop)
        let values = lines.flatMap { $0.data.values.compactMap { $0 } }
        let yTicks = Self.ticks(from: values.min() ?? 0, to: values.max() ?? 1, count: 4)
        let yLow = yTicks.first ?? 0, yHigh = yTicks.last ?? 1
        let xLow = Double(steps.lowerBound), xHigh = Double(max(steps.upperBound, steps.lowerBound + 1))
        func x(_ step: Double) -> Double { plot.x0 + (step - xLow) / (xHigh - xLow) * (plot.x1 - plot.x0) }
        func y(_ value: Double) -> Double { plot.y0 - (value - yLow) / (yHigh - yLow) * (plot.y0 - plot.y1) }
        let c = ReportFormat.coordinate

        var svg = """
            <svg class="chart" viewBox="0 0 \(Int(Self.width)) \(Int(Self.height))" role="img" \
            aria-label="\(ReportFormat.escape(title)) over steps" xmlns="http://www.w3.org/2000/svg">
            """
        // Grid and y labels.
        for tick in yTicks {
            svg +=
                "<line class=\"grid\" x1=\"\(c(plot.x0))\" x2=\"\(c(plot.x1))\" y1=\"\(c(y(tick)))\" y2=\"\(c(y(tick)))\"/>"
            svg +=
                "<text class=\"tick\" x=\"\(c(plot.x0 - 6))\" y=\"\(c(y(tick) + 4))\" text-anchor=\"end\">\(ReportFormat.number(tick))</text>"
        }
        // X axis with step labels.
        svg +=
            "<line class=\"axis\" x1=\"\(c(plot.x0))\" x2=\"\(c(plot.x1))\" y1=\"\(c(plot.y0))\" y2=\"\(c(plot.y0))\"/>"
        svg +=
            "<line class=\"axis\" x1=\"\(c(plot.x0))\" x2=\"\(c(plot.x0))\" y1=\"\(c(plot.y0))\" y2=\"\(c(plot.y1))\"/>"
        for tick in Self.ticks(from: xLow, to: xHigh, count: 5, integers: true) where tick >= xLow && tick <= xHigh {
            svg +=
                "<line class=\"axis\" x1=\"\(c(x(tick)))\" x2=\"\(c(x(tick)))\" y1=\"\(c(plot.y0))\" y2=\"\(c(plot.y0 + 4))\"/>"
            svg +=
                "<text class=\"tick\" x=\"\(c(x(tick)))\" y=\"\(c(plot.y0 + 16))\" text-anchor=\"middle\">\(ReportFormat.number(tick))</text>"
        }
        svg += "<text class=\"tick\" x=\"\(c(plot.x1))\" y=\"\(c(Self.height - 2))\" text-anchor=\"end\">step</text>"
        // Curves: one path each.
        for line in lines {
            let segments = Self.segments(line.data, columns: Int(plot.x1 - plot.x0), limit: maximumPoints)
            var d = ""
            for segment in segments {
                for (i, point) in segment.enumerated() {
                    d += (i == 0 ? (d.isEmpty ? "M" : " M") : " L") + "\(c(x(Double(point.step)))) \(c(y(point.value)))"
                }
            }
            let last = line.data.points.last
            let hint = last.map { " (last \(ReportFormat.number($0.value)) at step \($0.step))" } ?? ""
            svg += "<path class=\"line\" stroke=\"\(line.colour)\" d=\"\(d)\">"
            svg += "<title>\(ReportFormat.escape(line.label + hint))</title></path>"
            let points = line.data.points
            if points.count <= 60 {
                for point in points {
                    svg +=
                        "<circle cx=\"\(c(x(Double(point.step))))\" cy=\"\(c(y(point.value)))\" r=\"2.5\" fill=\"\(line.colour)\"/>"
                }
            }
        }
        // Legend.
        if lines.count > 1 {
            var legendX = plot.x0
            for line in lines {
                svg +=
                    "<rect x=\"\(c(legendX))\" y=\"\(c(Self.top - 2))\" width=\"10\" height=\"10\" fill=\"\(line.colour)\"/>"
                svg +=
                    "<text class=\"legend\" x=\"\(c(legendX + 14))\" y=\"\(c(Self.top + 7))\">\(ReportFormat.escape(line.label))</text>"
                legendX += 24 + 6.5 * Double(line.label.count)
            }
        }
        return svg + "</svg>"
    }

    /// Runs of consecutive points with values, each reduced to at most about `2 × columns`
    /// points when the series has more than `limit`: per pixel column, its smallest and largest
    /// value in the order they came.
    static func segments(_ data: TrainingHistory.Series, columns: Int, limit: Int) -> [[(step: Int, value: Double)]] {
        var runs: [[(step: Int, value: Double)]] = [[]]
        for (step, value) in zip(data.steps, data.values) {
            if let value {
                runs[runs.count - 1].append((step, value))
            } else if !runs[runs.count - 1].isEmpty {
                runs.append([])
            }
        }
        runs.removeAll { $0.isEmpty }
        guard data.steps.count > limit, let first = data.steps.first, let last = data.steps.last, last > first else {
            return runs
        }
        let span = Double(last - first)
        return runs.map { run in
            var reduced: [(step: Int, value: Double)] = []
            var column = -1
            var low = 0, high = 0  // indices into run of the column's extremes
            func flush() {
                guard column >= 0 else { return }
                for i in Set([low, high]).sorted() { reduced.append(run[i]) }
            }
            for (i, point) in run.enumerated() {
                let c = Int(Double(point.step - first) / span * Double(columns))
                if c != column {
                    flush()
                    column = c
                    low = i
                    high = i
                } else {
                    if point.value < run[low].value { low = i }
                    if point.value > run[high].value { high = i }
                }
            }
            flush()
            return reduced
        }
    }

    /// About `count` round tick values (1, 2 or 5 × 10ⁿ apart) covering `low...high`; the first
    /// and last ticks enclose the data.
    static func ticks(from low: Double, to high: Double, count: Int, integers: Bool = false) -> [Double] {
        var low = low, high = high
        if !(high > low) {
            let pad = max(abs(low) * 0.1, integers ? 1 : 1e-9)
            low -= pad
            high += pad
        }
        let raw = (high - low) / Double(count)
        let magnitude = pow(10, (log10(raw)).rounded(.down))
        let fraction = raw / magnitude
        var step = (fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10) * magnitude
        if integers { step = max(step.rounded(), 1) }
        let first = (low / step).rounded(.down), last = (high / step).rounded(.up)
        guard last - first <= 100 else { return [low, high] }
        return stride(from: first, through: last, by: 1).map { $0 * step }
    }
}
