import CLIPTestSupport
import Testing

@testable import CLIPTensor

/// The Winograd F(2×2, 3×3) convolution against the direct one in Double (`Naive.conv2d`), with
/// bias, residual and ReLU, on maps whose tiles fill one panel or several, odd sizes (the last
/// tile row or column half outside), batch 1 (the threaded paths) and batches of one image per
/// task; and each image's bits independent of the batch around it.
@Suite struct WinogradConvolutionTests {
    struct Case: CustomStringConvertible, Sendable {
        var batch: Int, inputs: Int, outputs: Int, height: Int, width: Int
        var description: String { "b\(batch) \(inputs)→\(outputs) \(height)×\(width)" }
    }

    static let cases: [Case] = [
        Case(batch: 1, inputs: 3, outputs: 5, height: 7, width: 7),  // 16 tiles: one panel
        Case(batch: 1, inputs: 8, outputs: 16, height: 5, width: 9),  // odd both ways
        Case(batch: 1, inputs: 16, outputs: 8, height: 14, width: 14),  // 49 tiles: two panels
        Case(batch: 1, inputs: 6, outputs: 5, height: 28, width: 26),  // 182 tiles across 6 panels
        Case(batch: 2, inputs: 4, outputs: 4, height: 1, width: 1),
        Case(batch: 5, inputs: 6, outputs: 7, height: 12, width: 10),  // one image per task
        Case(batch: 1, inputs: 4, outputs: 3, height: 150, width: 3),  // a tile row longer than a pass
        Case(batch: 1, inputs: 2, outputs: 3, height: 3, width: 150),
    ]

    @Test(arguments: cases) func matchesTheDirectConvolution(c: Case) throws {
        try #require(WinogradWeights.isAvailable, "the packed GEMM runs on this CI machine")
        var g = SeededGenerator(seed: 41)
        let x = Tensor.random([c.batch, c.inputs, c.height, c.width], using: &g)
        let w = Tensor.random([c.outputs, c.inputs, 3, 3], using: &g)
        let bias = Tensor.random([c.outputs], using: &g)
        let residual = Tensor.random([c.batch, c.outputs, c.height, c.width], using: &g)
        let y = Tensor.winogradConvolution(
            x, weights: WinogradWeights(w), bias: bias, activation: .relu, residual: residual)
        #expect(y.shape == [c.batch, c.outputs, c.height, c.width])
        let direct = Naive.conv2d(x, w, bias, stride: (1, 1), padding: (1, 1))
        let residualValues = residual.scalars
        let expected = direct.indices.map { max(0, direct[$0] + Double(residualValues[$0])) }
        // Rounding differs from the direct sum (the transforms add and subtract inputs first):
        // a few ulps of the terms' scale, ~√(9·Ci) here. A wrong transform is off by O(1).
        let scale = expected.map(abs).max() ?? 1
        let diff = Closeness(y.scalars, expected)
        print("winograd \(c): max |diff| \(diff.maxAbsoluteDifference) (scale \(scale))")
        #expect(diff.within(absolute: 2e-6 * scale), "\(c): \(diff)")
    }

    /// A random input (B, Ci, H, W) and a layer of `outputs` 3×3 filters with bias.
    static func layer(input: [Int], outputs: Int, seed: UInt64) -> (Tensor, WinogradWeights, Tensor) {
        var g = SeededGenerator(seed: seed)
        let x = Tensor.random(input, using: &g)
        return (
            x, WinogradWeights(Tensor.random([outputs, input[1], 3, 3], using: &g)), Tensor.random([outputs], using: &g)
        )
    }

    @Test func eachImageIgnoresTheBatchAroundIt() throws {
        try #require(WinogradWeights.isAvailable, "the packed GEMM runs on this CI machine")
        let (x, weights, bias) = Self.layer(input: [5, 16, 14, 14], outputs: 24, seed: 42)
        let batch = Tensor.winogradConvolution(x, weights: weights, bias: bias, activation: .relu)
        for i in 0..<5 {
            let alone = Tensor.winogradConvolution(
                x.sliced(dim: 0, range: i..<(i + 1)).contiguous(), weights: weights, bias: bias, activation: .relu)
            #expect(
                batch.sliced(dim: 0, range: i..<(i + 1)).contiguous().scalars == alone.scalars,
                "image \(i): batch of 5 (one image per task) vs alone (threaded)")
        }
    }

    /// The products run on the packed GEMM's AVX-512, AVX2 and portable paths with the same
    /// bits, and the transforms are the same code on every CPU: so is the convolution.
    @Test func everyISAPathGivesTheSameBits() throws {
        try #require(WinogradWeights.isAvailable, "the packed GEMM runs on this CI machine")
        let (x, weights, bias) = Self.layer(input: [1, 12, 9, 11], outputs: 20, seed: 43)
        let results = (0...PackedGEMM.level).map { level in
            PackedGEMM.withLevel(level) {
                Tensor.winogradConvolution(x, weights: weights, bias: bias, activation: .relu).scalars
            }
        }
        for level in results.indices.dropFirst() { #expect(results[level] == results[0], "level \(level) vs 0") }
    }
}
