import CLIPImage
import Foundation
import Testing

@testable import CLIPReport

/// The confusion-matrix PNG, decoded again with swift-clip's own decoder.
@Suite struct ConfusionMatrixImageTests {
    @Test func cellsAreColouredByTheShareOfTheirRow() throws {
        // Rows: true class; columns: predicted. Row sums 10, 10, 4 (and an empty class).
        let counts = [[10, 0, 0, 0], [2, 8, 0, 0], [0, 1, 3, 0], [0, 0, 0, 0]]
        let plot = ConfusionMatrixImage(counts: counts, labels: ["cat", "dog", "bird", "émeu"])
        let png = try plot.png()
        let image = try ImageDecoder.decode(data: png, name: "confusion.png")
        let layout = plot.layout
        #expect(image.mode == .rgb && image.width == layout.width && image.height == layout.height)
        #expect(layout.showLabels && layout.showCounts && layout.scale == 2)
        func pixel(_ row: Int, _ column: Int) -> [UInt8] {
            // Just inside the cell's top-left corner: past the grid line, before any digit.
            let (x, y) = plot.origin(row: row, column: column)
            let i = 3 * ((y + 2) * image.width + x + 2)
            return Array(image.pixels[i..<(i + 3)])
        }
        func mix(_ base: (UInt8, UInt8, UInt8), _ share: Double) -> [UInt8] {
            [base.0, base.1, base.2].map { UInt8((255 + (Double($0) - 255) * share).rounded()) }
        }
        let green = ConfusionMatrixImage.correct, red = ConfusionMatrixImage.confused
        let expected: [((Int, Int), [UInt8])] = [
            ((0, 0), mix(green, 1)), ((1, 1), mix(green, 0.8)), ((2, 2), mix(green, 0.75)),
            ((3, 3), [255, 255, 255]),  // no images: white
            ((1, 0), mix(red, 0.2)), ((2, 1), mix(red, 0.25)), ((0, 1), [255, 255, 255]),
        ]
        var largest = 0
        for ((row, column), colour) in expected {
            let got = pixel(row, column)
            largest = max(largest, zip(got, colour).map { abs(Int($0) - Int($1)) }.max() ?? 0)
            #expect(got == colour, "cell (\(row), \(column)): \(got), expected \(colour)")
        }
        print("confusion matrix cells: max channel difference \(largest)")
        // Labels and counts are drawn: dark ink left of the first row and inside cell (0, 0).
        let (x0, y0) = plot.origin(row: 0, column: 0)
        let cell = layout.cell
        let labelInk = (0..<cell).contains { dy in
            (0..<(x0 - 1)).contains { x in image.pixels[3 * ((y0 + dy) * image.width + x)] < 100 }
        }
        let digitInk = (0..<cell).contains { dy in
            (0..<cell).contains { dx in image.pixels[3 * ((y0 + dy) * image.width + x0 + dx)] == 255 }
        }
        #expect(labelInk, "no label drawn left of row 0")
        #expect(digitInk, "no white digit on the full green cell (0, 0)")
    }

    @Test func manyClassesStayWithinTheSizeLimit() throws {
        let k = 1000
        let counts = (0..<k).map { i in (0..<k).map { $0 == i ? 5 : 0 } }
        let plot = ConfusionMatrixImage(counts: counts, labels: (0..<k).map { "class \($0)" })
        let layout = plot.layout
        #expect(layout.width <= 4000 && layout.height <= 4000, "\(layout.width)x\(layout.height)")
        #expect(!layout.showCounts)
    }

    @Test func fontGlyphsAreTheGeneratedTable() {
        let font = BitmapFont.fixed6x10
        #expect(font.rows.count == 95 * 10)
        var canvas = RGBCanvas(width: 6, height: 10)
        font.draw("A", into: &canvas, x: 0, y: 0, colour: (0, 0, 0))
        // misc-fixed 6x10 'A', row 5: "#####." (the crossbar).
        let row5 = (0..<6).map { canvas.pixel(x: $0, y: 5).0 == 0 ? "#" : "." }.joined()
        #expect(row5 == "#####.")
    }
}
