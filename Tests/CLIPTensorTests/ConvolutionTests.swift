import CLIPTensor
import CLIPTestSupport
import Testing

@Suite struct ConvolutionTests {
    struct Case: CustomStringConvertible, Sendable {
        var input: [Int], weight: [Int], stride: (Int, Int), padding: (Int, Int), bias: Bool
        var description: String { "x\(input) w\(weight) s\(stride) p\(padding) bias \(bias)" }
    }

    static let cases: [Case] = [
        Case(input: [1, 3, 7, 9], weight: [4, 3, 3, 3], stride: (1, 1), padding: (1, 1), bias: true),
        Case(input: [2, 3, 11, 10], weight: [5, 3, 3, 3], stride: (2, 2), padding: (1, 1), bias: false),
        // pointwise fast path
        Case(input: [3, 6, 5, 5], weight: [7, 6, 1, 1], stride: (1, 1), padding: (0, 0), bias: true),
        // ViT patchify
        Case(input: [2, 3, 16, 16], weight: [8, 3, 4, 4], stride: (4, 4), padding: (0, 0), bias: false),
        Case(input: [1, 2, 6, 9], weight: [3, 2, 2, 3], stride: (1, 2), padding: (0, 2), bias: true),  // rectangular
        // groups of 3 + 2 images
        Case(input: [5, 2, 14, 14], weight: [3, 2, 3, 3], stride: (1, 1), padding: (1, 1), bias: true),
    ]

    @Test(arguments: cases) func conv2dMatchesDirectConvolution(c: Case) {
        var g = SeededGenerator(seed: 11)
        let x = Tensor.random(c.input, using: &g), w = Tensor.random(c.weight, using: &g)
        let b = c.bias ? Tensor.random([c.weight[0]], using: &g) : nil
        let y = Tensor.conv2d(x, weight: w, bias: b, stride: c.stride, padding: c.padding)
        let diff = Closeness(y.scalars, Naive.conv2d(x, w, b, stride: c.stride, padding: c.padding))
        #expect(diff.within(absolute: 1e-4), "\(c): \(diff)")
    }

    @Test func conv2dOnNonContiguousInput() {
        var g = SeededGenerator(seed: 12)
        let x = Tensor.random([2, 8, 8, 3], using: &g).permuted([0, 3, 1, 2])  // NHWC memory viewed as NCHW
        let w = Tensor.random([4, 3, 3, 3], using: &g)
        let y = Tensor.conv2d(x, weight: w, stride: (1, 1), padding: (1, 1))
        let diff = Closeness(y.scalars, Naive.conv2d(x, w, nil, stride: (1, 1), padding: (1, 1)))
        #expect(diff.within(absolute: 1e-4), "\(diff)")
    }

    @Test func poolingMatchesReference() {
        var g = SeededGenerator(seed: 13)
        let x = Tensor.random([2, 3, 7, 9], using: &g)
        let pooled = Tensor.avgPool2d(x, kernel: (2, 2))
        #expect(pooled.shape == [2, 3, 3, 4])
        var expected: [Double] = []
        for idx in indices([2, 3, 3, 4]) {
            var s = 0.0
            for i in 0..<2 { for j in 0..<2 { s += x.at([idx[0], idx[1], idx[2] * 2 + i, idx[3] * 2 + j]) } }
            expected.append(s / 4)
        }
        let d1 = Closeness(pooled.scalars, expected)
        #expect(d1.within(absolute: 1e-6), "avgPool2d: \(d1)")
        // The 2 × 2 fast path adds in the general loop's order (0, then row by row): same bits.
        var ordered: [Float] = []
        for idx in indices([2, 3, 3, 4]) {
            var s: Float = 0
            for i in 0..<2 { for j in 0..<2 { s += Float(x.at([idx[0], idx[1], idx[2] * 2 + i, idx[3] * 2 + j])) } }
            ordered.append(s * (1 / Float(4)))
        }
        let sameBits = zip(pooled.scalars, ordered).allSatisfy { $0.bitPattern == $1.bitPattern }
        #expect(
            sameBits, "avgPool2d 2 × 2 vs the ordered float sum: \(Closeness(pooled.scalars, ordered.map(Double.init)))"
        )

        for (oh, ow) in [(1, 1), (3, 4), (5, 2), (7, 9)] {
            let a = Tensor.adaptiveAvgPool2d(x, outputSize: (oh, ow))
            var exp: [Double] = []
            for idx in indices([2, 3, oh, ow]) {
                let y0 = idx[2] * 7 / oh, y1 = ((idx[2] + 1) * 7 + oh - 1) / oh
                let x0 = idx[3] * 9 / ow, x1 = ((idx[3] + 1) * 9 + ow - 1) / ow
                var s = 0.0
                for y in y0..<y1 { for xx in x0..<x1 { s += x.at([idx[0], idx[1], y, xx]) } }
                exp.append(s / Double((y1 - y0) * (x1 - x0)))
            }
            let d = Closeness(a.scalars, exp)
            #expect(d.within(absolute: 1e-6), "adaptive \(oh)x\(ow): \(d)")
        }
    }
}
