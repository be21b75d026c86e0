import CLIPImage
import Foundation

// The confusion matrix of a zero-shot evaluation as a PNG (`clip eval --zeroshot-folder DIR
// --plot FILE.png`). Layout, top to bottom:
//   a title line ("rows: true class, columns: predicted (top-1)")
//   column labels, written bottom to top above their column
//   K rows of: the class label, then K cells
//   a legend line
// Cell colour is the share of the row's images (the true class's images) predicted as the
// column's class: white at 0, full green on the diagonal (correct), full red elsewhere
// (confused), linearly in between. The count is written in the cell when it fits. Labels are
// printable ASCII (anything else is '?') and cut to 20 characters; with many classes cells
// shrink so that the image stays within about 4000 pixels a side, and labels and counts are
// left out once they no longer fit.

/// A confusion matrix drawn as an RGB image.
///
/// ```swift
/// let plot = ConfusionMatrixImage(counts: [[9, 1], [2, 8]], labels: ["cat", "dog"])
/// try plot.png().write(to: URL(fileURLWithPath: "confusion.png"))
/// ```
public struct ConfusionMatrixImage: Sendable {
    /// counts[true][predicted], K × K.
    public let counts: [[Int]]
    public let labels: [String]

    /// Green for correct predictions, red for confusions.
    public static let correct: (UInt8, UInt8, UInt8) = (46, 125, 50)
    public static let confused: (UInt8, UInt8, UInt8) = (198, 40, 40)
    static let ink: (UInt8, UInt8, UInt8) = (33, 33, 33)
    static let line: (UInt8, UInt8, UInt8) = (200, 200, 200)
    static let maximumSide = 4000
    static let maximumLabel = 20

    /// A matrix of K classes: `counts` has K rows of K counts, `labels` K names.
    public init(counts: [[Int]], labels: [String]) {
        precondition(
            !labels.isEmpty && counts.count == labels.count && counts.allSatisfy { $0.count == labels.count },
            "a confusion matrix needs K labels and K rows of K counts")
        self.counts = counts
        self.labels = labels
    }

    /// Where things go, in pixels.
    struct Layout {
        var scale: Int
        var cell: Int
        var showLabels: Bool
        var showCounts: Bool
        var gridX: Int, gridY: Int
        var width: Int, height: Int
    }

    var shownLabels: [String] {
        labels.map { label in
            let ascii = String(
                String.UnicodeScalarView(label.unicodeScalars.map { (32...126).contains($0.value) ? $0 : "?" }))
            return ascii.count > Self.maximumLabel ? String(ascii.prefix(Self.maximumLabel - 1)) + "~" : ascii
        }
    }

    static let title = "rows: true class, columns: predicted (top-1)"
    static let legend = "cell: share of the row's images; green = correct, red = confused"

    var layout: Layout {
        let k = labels.count
        let font = BitmapFont.fixed6x10
        let scale = k <= 12 ? 2 : 1
        let digits = String(counts.joined().max() ?? 0).count
        let wanted = max(font.height * scale + 8, digits * font.width * scale + 8)
        let cell = max(2, min(wanted, (Self.maximumSide - 200) / k))
        let showLabels = cell >= font.height * scale
        let showCounts = cell >= wanted
        let margin = 8 * scale
        let labelLength = showLabels ? font.width * scale * (shownLabels.map(\.count).max() ?? 0) + margin : 0
        let header = font.height * scale + margin
        let gridX = margin + labelLength
        let gridY = margin + header + labelLength
        let footer = margin + font.height * scale
        let textWidth = margin * 2 + font.width(of: Self.legend, scale: scale)
        let width = max(gridX + k * cell + margin, textWidth)
        return Layout(
            scale: scale, cell: cell, showLabels: showLabels, showCounts: showCounts, gridX: gridX, gridY: gridY,
            width: width, height: gridY + k * cell + footer + margin)
    }

    /// The top-left pixel of cell (row, column).
    func origin(row: Int, column: Int) -> (x: Int, y: Int) {
        let l = layout
        return (l.gridX + column * l.cell, l.gridY + row * l.cell)
    }

    /// The fill colour of a cell.
    func colour(row: Int, column: Int) -> (UInt8, UInt8, UInt8) {
        let total = counts[row].reduce(0, +)
        let share = total == 0 ? 0 : Double(counts[row][column]) / Double(total)
        let base = row == column ? Self.correct : Self.confused
        func mix(_ c: UInt8) -> UInt8 { UInt8((255 + (Double(c) - 255) * share).rounded()) }
        return (mix(base.0), mix(base.1), mix(base.2))
    }

    /// Draws the matrix.
    public func render() -> RGBCanvas {
        let l = layout, k = labels.count, font = BitmapFont.fixed6x10, s = l.scale
        var canvas = RGBCanvas(width: l.width, height: l.height)
        let margin = 8 * s
        font.draw(Self.title, into: &canvas, x: margin, y: margin, colour: Self.ink, scale: s)
        let names = shownLabels
        for i in 0..<k {
            if l.showLabels {
                // Row label right-aligned against the grid; column label bottom to top above it.
                let rowY = l.gridY + i * l.cell + (l.cell - font.height * s) / 2
                font.draw(
                    names[i], into: &canvas, x: l.gridX - margin / 2 - font.width(of: names[i], scale: s), y: rowY,
                    colour: Self.ink, scale: s)
                let columnX = l.gridX + i * l.cell + (l.cell - font.height * s) / 2
                font.draw(
                    names[i], into: &canvas, x: columnX, y: l.gridY - margin / 2, colour: Self.ink, scale: s,
                    vertical: true)
            }
            for j in 0..<k {
                let (x, y) = origin(row: i, column: j)
                let fill = colour(row: i, column: j)
                canvas.fill(x: x, y: y, w: l.cell, h: l.cell, fill)
                if l.cell >= 4 {
                    canvas.fill(x: x, y: y, w: l.cell, h: 1, Self.line)
                    canvas.fill(x: x, y: y, w: 1, h: l.cell, Self.line)
                }
                if l.showCounts, counts[i][j] > 0 {
                    let text = String(counts[i][j])
                    // Dark fills get white text.
                    let dark = Int(fill.0) + Int(fill.1) + Int(fill.2) < 3 * 150
                    font.draw(
                        text, into: &canvas, x: x + (l.cell - font.width(of: text, scale: s)) / 2,
                        y: y + (l.cell - font.height * s) / 2, colour: dark ? (255, 255, 255) : Self.ink, scale: s)
                }
            }
        }
        let gridEnd = l.gridX + k * l.cell, gridBottom = l.gridY + k * l.cell
        canvas.fill(x: l.gridX, y: gridBottom, w: k * l.cell + 1, h: 1, Self.line)
        canvas.fill(x: gridEnd, y: l.gridY, w: 1, h: k * l.cell, Self.line)
        font.draw(Self.legend, into: &canvas, x: margin, y: gridBottom + margin, colour: Self.ink, scale: s)
        return canvas
    }

    /// The image as PNG bytes.
    public func png() throws -> Data {
        let canvas = render()
        return try PNGEncoder.encode(pixels: canvas.pixels, width: canvas.width, height: canvas.height, channels: 3)
    }
}
