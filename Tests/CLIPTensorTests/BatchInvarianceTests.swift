import CLIPTensor
import CLIPTestSupport
import Testing

/// With `Parallel.batchInvariant` (the default) a sequence's, a row's or an image's result is bit
/// for bit the same whatever else shares its batch: the products behind a text or image tower
/// (linear layers on (S, T, I), (S, T, K)·(K, N), output projections, ViT patchify) are computed
/// per sequence with fixed column chunks. Sizes cover several column chunks (N > 256), odd T and
/// the demo-model widths; the tolerance is 0.
@Suite(.serialized) struct BatchInvarianceTests {
    /// Sub-batches that put sequence `s` at other positions beside other sequences.
    static func subBatches(_ count: Int) -> [Range<Int>] {
        [0..<1, 1..<2, (count - 1)..<count, 0..<3, 2..<count, 1..<(count - 1)]
    }

    /// Max |a − b| over equal-shaped tensors (infinity when shapes differ).
    static func difference(_ a: Tensor, _ b: Tensor) -> Float {
        guard a.shape == b.shape else { return .infinity }
        return zip(a.scalars, b.scalars).map { abs($0 - $1) }.max() ?? 0
    }

    @Test(arguments: [(7, 77, 96, 600), (5, 13, 64, 256), (4, 50, 48, 1030)])
    func linearAndMatmulPerSequence(shape: (Int, Int, Int, Int)) {
        let (s, t, i, o) = shape
        var g = SeededGenerator(seed: UInt64(s * t + i * o))
        let x = Tensor.random([s, t, i], using: &g)
        let w = Tensor.random([o, i], using: &g), bias = Tensor.random([o], using: &g)
        let p = Tensor.random([i, o], using: &g)
        let y = Tensor.linear(x, weight: w, bias: bias)  // (S, T, O)
        let z = Tensor.matmul(x, p)  // (S, T, O)
        var largest: Float = 0
        for range in Self.subBatches(s) {
            let part = x.sliced(dim: 0, range: range).contiguous()
            largest = max(
                largest,
                Self.difference(Tensor.linear(part, weight: w, bias: bias), y.sliced(dim: 0, range: range).contiguous())
            )
            largest = max(largest, Self.difference(Tensor.matmul(part, p), z.sliced(dim: 0, range: range).contiguous()))
        }
        print("linear/matmul \(shape): max |sub-batch − full batch| = \(largest) (tolerance 0)")
        #expect(largest == 0)
        // And they are still the products (against the naive reference).
        let diff = Closeness(z.reshaped([s * t, o]).scalars, Naive.matmul2D(x.reshaped([s * t, i]), p))
        #expect(diff.within(absolute: 1e-4), "\(diff)")
    }

    @Test func rowwiseMatmulAndPatchify() {
        var g = SeededGenerator(seed: 5)
        let a = Tensor.random([9, 80], using: &g), b = Tensor.random([80, 300], using: &g)
        let full = Tensor.rowwiseMatmul(a, b)
        var largest: Float = 0
        for range in Self.subBatches(9) {
            largest = max(
                largest,
                Self.difference(
                    Tensor.rowwiseMatmul(a.sliced(dim: 0, range: range).contiguous(), b),
                    full.sliced(dim: 0, range: range).contiguous()))
        }
        let closeness = Closeness(full.scalars, Naive.matmul2D(a, b))
        #expect(closeness.within(absolute: 1e-4), "\(closeness)")
        // ViT patchify: a stride-8 8×8 convolution on 5 images, one image alone or beside others.
        let images = Tensor.random([5, 3, 32, 32], using: &g), kernel = Tensor.random([48, 3, 8, 8], using: &g)
        let patches = Tensor.conv2d(images, weight: kernel, stride: (8, 8))
        for range in Self.subBatches(5) {
            let part = Tensor.conv2d(images.sliced(dim: 0, range: range).contiguous(), weight: kernel, stride: (8, 8))
            largest = max(largest, Self.difference(part, patches.sliced(dim: 0, range: range).contiguous()))
        }
        print("rowwise matmul and patchify: max |sub-batch − full batch| = \(largest) (tolerance 0)")
        #expect(largest == 0)
    }
}
