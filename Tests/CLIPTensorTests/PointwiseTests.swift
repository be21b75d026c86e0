import CLIPTensor
import CLIPTestSupport
import Foundation
import Testing

@Suite struct PointwiseTests {
    @Test func activationsMatchDoubleFormulas() {
        var g = SeededGenerator(seed: 21)
        let x = Tensor.random([3, 1001], in: -8...8, using: &g)
        let xs = Naive.values(x)
        let cases: [(String, Tensor, (Double) -> Double)] = [
            ("gelu", Tensor.gelu(x), { 0.5 * $0 * (1 + erf($0 / 2.0.squareRoot())) }),
            ("quickGELU", Tensor.quickGELU(x), { $0 / (1 + Foundation.exp(-1.702 * $0)) }),
            ("relu", Tensor.relu(x), { max($0, 0) }),
            ("sigmoid", Tensor.sigmoid(x), { 1 / (1 + Foundation.exp(-$0)) }),
        ]
        for (name, y, f) in cases {
            let diff = Closeness(y.scalars, xs.map(f))
            #expect(diff.within(absolute: 2e-6, relative: 1e-6), "\(name): \(diff)")
        }
    }

    @Test func softmaxIsStableAndMatches() {
        var g = SeededGenerator(seed: 22)
        let x = Tensor.random([4, 3, 77], in: -30...30, using: &g) + 1000  // large offsets must not overflow
        let y = Tensor.softmax(x)
        let xs = Naive.values(x)
        var expected: [Double] = []
        for r in 0..<12 { expected += Naive.softmax(Array(xs[r * 77..<(r + 1) * 77])) }
        let diff = Closeness(y.scalars, expected)
        #expect(diff.within(absolute: 1e-6), "\(diff)")
    }

    /// `softmax(axis:)` against a Float64 softmax of each line along the axis (any axis, negative
    /// counts from the end, as torch's `dim`).
    @Test(arguments: [-1, 0, 1, 2, -3])
    func softmaxAlongAnAxis(axis: Int) {
        var g = SeededGenerator(seed: 24)
        let shape = [2, 3, 4]
        let x = Tensor.random(shape, in: -5...5, using: &g)
        let y = x.softmax(axis: axis)
        let d = axis < 0 ? axis + shape.count : axis
        let expected = indices(shape).map { index -> Double in
            let line = (0..<shape[d]).map { k -> Double in
                var i = index
                i[d] = k
                return x.at(i)
            }
            return Naive.softmax(line)[index[d]]
        }
        let diff = Closeness(y.scalars, expected)
        #expect(y.shape == shape && diff.within(absolute: 1e-6), "axis \(axis): \(diff)")
    }

    @Test(arguments: [([4, 5], [5]), ([2, 3, 4], [3, 1]), ([2, 1, 4], [3, 1]), ([6], [6]), ([2, 3], [1])])
    func broadcastingAddAndMultiply(aShape: [Int], bShape: [Int]) {
        var g = SeededGenerator(seed: 23)
        let a = Tensor.random(aShape, using: &g), b = Tensor.random(bShape, using: &g)
        let shape = Tensor.broadcastShapes(aShape, bShape)
        let av = a.broadcast(to: shape), bv = b.broadcast(to: shape)
        for (op, f) in [
            (BinaryOp.add, { (x: Double, y: Double) in x + y }), (.multiply, { $0 * $1 }), (.subtract, { $0 - $1 }),
        ] {
            let y = Tensor.binary(a, b, op)
            #expect(y.shape == shape)
            let expected = indices(shape).map { f(av.at($0), bv.at($0)) }
            let diff = Closeness(y.scalars, expected)
            #expect(diff.within(absolute: 1e-6), "\(op) \(aShape) \(bShape): \(diff)")
        }
        // A transposed left operand takes the general path and must agree.
        if aShape.count == 2 && bShape == [aShape[0]] {
            let t = a.transposed(0, 1)
            let y = t + b
            let expected = indices(y.shape).map { t.at($0) + b.at([$0[1]]) }
            #expect(Closeness(y.scalars, expected).within(absolute: 1e-6))
        }
    }

    @Test func layerNormBatchNormL2AndArgmax() {
        var g = SeededGenerator(seed: 24)
        let x = Tensor.random([2, 5, 33], in: -3...5, using: &g)
        let w = Tensor.random([33], using: &g), b = Tensor.random([33], using: &g)
        let y = Tensor.layerNorm(x, weight: w, bias: b)
        let xs = Naive.values(x)
        var expected: [Double] = []
        for r in 0..<10 {
            let row = Array(xs[r * 33..<(r + 1) * 33])
            let mean = row.reduce(0, +) / 33
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 33
            for i in 0..<33 {
                expected.append((row[i] - mean) / (variance + 1e-5).squareRoot() * w.at([i]) + b.at([i]))
            }
        }
        let d1 = Closeness(y.scalars, expected)
        #expect(d1.within(absolute: 1e-5), "layerNorm: \(d1)")

        let img = Tensor.random([3, 4, 5, 6], using: &g)
        let mean = Tensor.random([4], using: &g), variance = Tensor.random([4], in: 0.1...2, using: &g)
        let gamma = Tensor.random([4], using: &g), beta = Tensor.random([4], using: &g)
        let bn = Tensor.batchNormInference(img, runningMean: mean, runningVar: variance, weight: gamma, bias: beta)
        let expectedBN = indices(img.shape).map { i -> Double in
            let c = i[1]
            return (img.at(i) - mean.at([c])) / (variance.at([c]) + 1e-5).squareRoot() * gamma.at([c]) + beta.at([c])
        }
        let d2 = Closeness(bn.scalars, expectedBN)
        #expect(d2.within(absolute: 1e-5), "batchNorm: \(d2)")

        let n = Tensor.l2Normalized(x)
        var expectedN: [Double] = []
        for r in 0..<10 {
            let row = Array(xs[r * 33..<(r + 1) * 33])
            let norm = row.map { $0 * $0 }.reduce(0, +).squareRoot()
            expectedN += row.map { $0 / norm }
        }
        let d3 = Closeness(n.scalars, expectedN)
        #expect(d3.within(absolute: 1e-6), "l2: \(d3)")

        let ids = Tensor(shape: [2, 4], scalars: [1, 9, 9, 3, -1, -2, -0.5, -3])
        #expect(Tensor.argmax(ids) == [1, 2])
    }

    @Test func embeddingLooksUpRows() {
        var g = SeededGenerator(seed: 25)
        let table = Tensor.random([10, 3], using: &g)
        let out = Tensor.embedding(table, ids: [3, 0, 9, 3], idsShape: [2, 2])
        #expect(out.shape == [2, 2, 3])
        let expected = [3, 0, 9, 3].flatMap { r in (0..<3).map { table.at([r, $0]) } }
        #expect(Naive.values(out) == expected)
    }
}
