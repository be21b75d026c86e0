import CLIPTensor
import CLIPTestSupport
import Testing

@Suite struct MatmulTests {
    /// (M, K, N) with odd sizes, vectors and a product large enough to use BLAS threads.
    static let shapes: [(Int, Int, Int)] = [(1, 1, 1), (1, 7, 1), (3, 5, 2), (17, 33, 9), (64, 1, 31), (128, 96, 80)]

    @Test(arguments: shapes) func matmul2DAllTransposeCombinations(shape: (Int, Int, Int)) {
        let (m, k, n) = shape
        var g = SeededGenerator(seed: UInt64(m * 1000 + k * 10 + n))
        let a = Tensor.random([m, k], using: &g), b = Tensor.random([k, n], using: &g)
        let at = Tensor.random([k, m], using: &g).transposed(0, 1)  // transposed view (M, K)
        let bt = Tensor.random([n, k], using: &g).transposed(0, 1)  // transposed view (K, N)
        for (x, y) in [(a, b), (at, b), (a, bt), (at, bt)] {
            let diff = Closeness(Tensor.matmul(x, y).scalars, Naive.matmul2D(x, y))
            #expect(
                diff.within(absolute: 1e-4), "matmul \(x.shape)·\(y.shape) strides \(x.strides),\(y.strides): \(diff)")
        }
    }

    @Test func matmulStridedSliceCopiesWhenNeeded() {
        var g = SeededGenerator(seed: 9)
        // Every other column: neither dimension has unit stride, so the kernel must copy.
        let base = Tensor.random([6, 10], using: &g)
        let a = Tensor(storage: base.storage, shape: [6, 5], strides: [10, 2], offset: 1)
        let b = Tensor.random([5, 4], using: &g)
        let diff = Closeness(Tensor.matmul(a, b).scalars, Naive.matmul2D(a, b))
        #expect(diff.within(absolute: 1e-5), "\(diff)")
    }

    @Test(arguments: [
        ([2, 3, 4], [4, 5]), ([1, 3, 4], [2, 4, 5]), ([3, 2, 3, 4], [2, 4, 6]), ([5, 7, 8], [5, 8, 3]),
    ])
    func batchedMatmulBroadcasts(aShape: [Int], bShape: [Int]) {
        var g = SeededGenerator(seed: 4)
        let a = Tensor.random(aShape, using: &g), b = Tensor.random(bShape, using: &g)
        let out = Tensor.matmul(a, b)
        let batch = Tensor.broadcastShapes(Array(aShape.dropLast(2)), Array(bShape.dropLast(2)))
        #expect(out.shape == batch + [aShape[aShape.count - 2], bShape.last!])
        var expected: [Double] = []
        for idx in indices(batch) {
            func pick(_ t: Tensor) -> Tensor {
                let tb = t.rank - 2, lead = batch.count - tb
                var v = t
                for d in 0..<tb { v = v.selecting(dim: 0, index: t.shape[d] == 1 ? 0 : idx[lead + d]) }
                return v
            }
            expected += Naive.matmul2D(pick(a), pick(b))
        }
        let diff = Closeness(out.scalars, expected)
        #expect(diff.within(absolute: 1e-5), "\(aShape)·\(bShape): \(diff)")
    }

    @Test(arguments: [true, false]) func linearMatchesReference(withBias: Bool) {
        var g = SeededGenerator(seed: 5)
        let x = Tensor.random([2, 3, 7], using: &g)
        let w = Tensor.random([5, 7], using: &g), b = Tensor.random([5], using: &g)
        let y = Tensor.linear(x, weight: w, bias: withBias ? b : nil)
        #expect(y.shape == [2, 3, 5])
        var expected: [Double] = []
        for idx in indices([2, 3]) {
            for o in 0..<5 {
                var s = withBias ? b.at([o]) : 0
                for i in 0..<7 { s += x.at(idx + [i]) * w.at([o, i]) }
                expected.append(s)
            }
        }
        let diff = Closeness(y.scalars, expected)
        #expect(diff.within(absolute: 1e-5), "\(diff)")
        // A permuted (non-contiguous) input gives the same result as its contiguous copy.
        let xp = Tensor.random([3, 2, 7], using: &g).transposed(0, 1)
        let d2 = Closeness(
            Tensor.linear(xp, weight: w, bias: b).scalars, Tensor.linear(xp.contiguous(), weight: w, bias: b).scalars)
        #expect(d2.within(absolute: 0), "\(d2)")
    }
}
