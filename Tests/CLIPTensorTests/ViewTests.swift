import CLIPTensor
import CLIPTestSupport
import Testing

@Suite struct ViewTests {
    @Test func reshapePermuteSliceAreViewsAndCopyMatches() {
        var g = SeededGenerator(seed: 1)
        let x = Tensor.random([2, 3, 5], using: &g)
        let r = x.reshaped([6, -1])
        #expect(r.shape == [6, 5])
        #expect(r.storage === x.storage, "reshape of a contiguous tensor must not copy")
        let p = x.permuted([2, 0, 1])
        #expect(p.shape == [5, 2, 3] && p.storage === x.storage && !p.isContiguous)
        let c = p.contiguous()
        #expect(c.isContiguous)
        #expect(Naive.values(c) == Naive.values(p))
        let s = x.sliced(dim: 2, range: 1..<4)
        #expect(s.shape == [2, 3, 3] && s.storage === x.storage)
        #expect(s.at([1, 2, 0]) == x.at([1, 2, 1]))
        let sel = x.selecting(dim: 1, index: 2)
        #expect(sel.shape == [2, 5] && sel.at([1, 3]) == x.at([1, 2, 3]))
        // Reshaping a non-contiguous view copies, with the row-major element order of the view.
        let pr = p.reshaped([10, 3])
        #expect(Naive.values(pr) == Naive.values(p))
    }

    @Test func unsqueezeBroadcastAndConcatenate() {
        var g = SeededGenerator(seed: 2)
        let a = Tensor.random([3, 4], using: &g), b = Tensor.random([2, 4], using: &g)
        let cat = Tensor.concatenate([a, b], dim: 0)
        #expect(cat.shape == [5, 4])
        #expect(Naive.values(cat) == Naive.values(a) + Naive.values(b))
        let catT = Tensor.concatenate([a.transposed(0, 1), b.transposed(0, 1)], dim: 1)
        #expect(Naive.values(catT) == Naive.values(cat.transposed(0, 1)))
        let u = a.unsqueezed(1)
        #expect(u.shape == [3, 1, 4])
        let bc = u.broadcast(to: [3, 7, 4])
        #expect(bc.at([2, 6, 3]) == a.at([2, 3]))
        #expect(bc.contiguous().count == 84)
    }

    @Test func meanOverEachDimension() {
        var g = SeededGenerator(seed: 3)
        let x = Tensor.random([3, 4, 5], using: &g)
        for d in 0..<3 {
            let m = Tensor.mean(x, dim: d)
            var outShape = x.shape
            outShape.remove(at: d)
            #expect(m.shape == outShape)
            let expected = indices(outShape).map { idx -> Double in
                var s = 0.0
                for i in 0..<x.shape[d] {
                    var full = idx
                    full.insert(i, at: d)
                    s += x.at(full)
                }
                return s / Double(x.shape[d])
            }
            let diff = Closeness(m.scalars, expected)
            #expect(diff.within(absolute: 1e-6), "mean over dim \(d): \(diff)")
        }
    }
}
