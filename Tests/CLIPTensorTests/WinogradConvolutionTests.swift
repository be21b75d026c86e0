import CLIPTestSupport
import Testing

@testable import CLIPTensor

/// The Winograd F(2×2, 3×3) and F(4×4, 3×3) convolutions against the direct one in Double
/// (`Naive.conv2d`), with bias, residual and ReLU, on maps whose tiles fill one panel or several,
/// sizes that leave the last tile row or column partly outside, batch 1 (the threaded paths) and
/// batches of one image per task; and each image's bits independent of the batch around it.
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
        Case(batch: 1, inputs: 8, outputs: 8, height: 30, width: 31),  // F(4×4): 64 tiles, 2 and 3 outside
        Case(batch: 1, inputs: 5, outputs: 6, height: 258, width: 6),  // F(4×4): a tile row of 65 tiles
        Case(batch: 1, inputs: 3, outputs: 4, height: 5, width: 262),
    ]

    @Test(arguments: cases, WinogradTile.allCases) func matchesTheDirectConvolution(c: Case, tile: WinogradTile) throws
    {
        try #require(WinogradWeights.isAvailable, "the packed GEMM runs on this CI machine")
        var g = SeededGenerator(seed: 41)
        let x = Tensor.random([c.batch, c.inputs, c.height, c.width], using: &g)
        let w = Tensor.random([c.outputs, c.inputs, 3, 3], using: &g)
        let bias = Tensor.random([c.outputs], using: &g)
        let residual = Tensor.random([c.batch, c.outputs, c.height, c.width], using: &g)
        let y = Tensor.winogradConvolution(
            x, weights: WinogradWeights(w, tile: tile), bias: bias, activation: .relu, residual: residual)
        #expect(y.shape == [c.batch, c.outputs, c.height, c.width])
        let direct = Naive.conv2d(x, w, bias, stride: (1, 1), padding: (1, 1))
        let residualValues = residual.scalars
        let expected = direct.indices.map { max(0, direct[$0] + Double(residualValues[$0])) }
        // Rounding differs from the direct sum (the transforms add and subtract inputs first):
        // a few ulps of the terms' scale, ~√(9·Ci) here; F(4×4)'s transforms scale by up to 8
        // and 1/24, so more. A wrong transform is off by O(1).
        let scale = expected.map(abs).max() ?? 1
        let diff = Closeness(y.scalars, expected)
        print("winograd F(\(tile.rawValue)) \(c): max |diff| \(diff.maxAbsoluteDifference) (scale \(scale))")
        #expect(diff.within(absolute: (tile == .two ? 2e-6 : 1e-5) * scale), "\(c): \(diff)")
    }

    /// A random input (B, Ci, H, W) and a layer of `outputs` 3×3 filters with bias.
    static func layer(
        input: [Int], outputs: Int, seed: UInt64, tile: WinogradTile = .two
    ) -> (Tensor, WinogradWeights, Tensor) {
        var g = SeededGenerator(seed: seed)
        let x = Tensor.random(input, using: &g)
        return (
            x, WinogradWeights(Tensor.random([outputs, input[1], 3, 3], using: &g), tile: tile),
            Tensor.random([outputs], using: &g)
        )
    }

    @Test(arguments: WinogradTile.allCases) func eachImageIgnoresTheBatchAroundIt(tile: WinogradTile) throws {
        try #require(WinogradWeights.isAvailable, "the packed GEMM runs on this CI machine")
        let (x, weights, bias) = Self.layer(input: [5, 16, 14, 14], outputs: 24, seed: 42, tile: tile)
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
    @Test(arguments: WinogradTile.allCases) func everyISAPathGivesTheSameBits(tile: WinogradTile) throws {
        try #require(WinogradWeights.isAvailable, "the packed GEMM runs on this CI machine")
        let (x, weights, bias) = Self.layer(input: [1, 12, 9, 11], outputs: 20, seed: 43, tile: tile)
        let results = (0...PackedGEMM.level).map { level in
            PackedGEMM.withLevel(level) {
                Tensor.winogradConvolution(x, weights: weights, bias: bias, activation: .relu).scalars
            }
        }
        for level in results.indices.dropFirst() { #expect(results[level] == results[0], "level \(level) vs 0") }
    }

    /// The tile a map prefers: F(4×4, 3×3) where its tiles fill the GEMM's panels (RN50's 56, 28
    /// and 14 maps at 224 px), F(2×2, 3×3) on 7×7 (4 tiles would leave 12 of 16 columns padding).
    @Test func theMapChoosesTheTile() {
        #expect(WinogradTile.preferred(height: 56, width: 56) == .four)
        #expect(WinogradTile.preferred(height: 28, width: 28) == .four)
        #expect(WinogradTile.preferred(height: 14, width: 14) == .four)
        #expect(WinogradTile.preferred(height: 7, width: 7) == .two)
        #expect(WinogradTile.preferred(height: 9, width: 9) == .two)
        #expect(WinogradTile.four.tiles(height: 30, width: 31) == 64)
    }
}
