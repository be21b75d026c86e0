import CLIPTestSupport
import Foundation
import Testing

@testable import CLIPTensor

/// Row kernels whose faster forms must keep the bits of the plain per-row loop: layer norm's
/// statistics of four rows at once, and the softmax's exponential without the upper clamp.
@Suite struct RowKernelBitsTests {
    /// Layer norm runs the statistics of four rows together (AVX2); each row's output, mean and
    /// 1/√(var + eps) must be the bits of that row normalised alone, whatever group it falls in
    /// (row counts around 4, widths with and without a tail of < 4, with and without an affine).
    @Test func layerNormRowsInGroupsGiveTheBitsOfARowAlone() {
        var g = SeededGenerator(seed: 71)
        var compared = 0
        for n in [1, 3, 4, 5, 768, 771] {
            let w = Tensor.random([n], using: &g), b = Tensor.random([n], using: &g)
            for rows in [1, 3, 4, 5, 8, 9, 13] {
                // An offset mean, so the deviations are not the values themselves.
                let x = Tensor.random([rows, n], in: -3...9, using: &g)
                for (weight, bias) in [(w, b), (nil, nil)] as [(Tensor?, Tensor?)] {
                    let all = Tensor.layerNormWithStatistics(x, weight: weight, bias: bias)
                    for r in 0..<rows {
                        let row = x.sliced(dim: 0, range: r..<(r + 1)).contiguous()
                        let alone = Tensor.layerNormWithStatistics(row, weight: weight, bias: bias)
                        let label = "n \(n), \(rows) rows, row \(r), affine \(weight != nil)"
                        let y = all.y.scalars[(r * n)..<((r + 1) * n)]
                        let differing = zip(y, alone.y.scalars).filter { $0.bitPattern != $1.bitPattern }.count
                        #expect(differing == 0, "\(label): \(differing) of \(n) outputs differ")
                        #expect(all.mean.scalars[r].bitPattern == alone.mean.scalars[0].bitPattern, "\(label): mean")
                        #expect(
                            all.inverseStd.scalars[r].bitPattern == alone.inverseStd.scalars[0].bitPattern,
                            "\(label): rstd")
                        compared += 1
                    }
                }
            }
        }
        print("layer norm: \(compared) rows bit-equal to the row alone")
    }

    /// The softmax's e^(x − max) leaves out exp's upper clamp (its inputs are ≤ 0): rebuilt from
    /// `Tensor.exp` (the clamped exponential) with the kernel's 16-lane sum and 1/sum scaling, the
    /// rows agree bit for bit on every ISA path, including entries below exp's lower clamp, −∞
    /// and the row maximum itself.
    @Test func softmaxGivesTheClampedExponentialsBits() {
        var g = SeededGenerator(seed: 73)
        for n in [1, 7, 16, 17, 63, 64, 65, 100, 197, 257] {
            var values = Tensor.random([2, n], in: -60...60, using: &g).scalars
            values[0] = -200  // e^(−200 − max) is below the clamp: exactly 0
            if n > 2 { values[n + 1] = -.infinity }
            let x = Tensor(shape: [2, n], scalars: values)
            var expected: [Float] = []
            for r in 0..<2 {
                let row = Array(values[(r * n)..<((r + 1) * n)])
                let m = row.max()!
                let e = Tensor.exp(Tensor(shape: [n], scalars: row.map { $0 - m })).scalars
                // sum16 in clip_kernels.c: 16 running lane sums, a partial last chunk, then a fixed tree.
                var lanes = [Float](repeating: 0, count: 16)
                for (i, v) in e.enumerated() { lanes[i % 16] += v }
                var width = 8
                while width > 0 {
                    for j in 0..<width { lanes[j] += lanes[j + width] }
                    width /= 2
                }
                let inverse = 1 / lanes[0]
                expected += e.map { $0 * inverse }
            }
            for level in 0...max(PackedGEMM.level, 0) {
                let y = PackedGEMM.withLevel(level) { Tensor.softmax(x).scalars }
                let mismatches = zip(y, expected).filter { $0.bitPattern != $1.bitPattern }.count
                #expect(mismatches == 0, "n \(n), level \(level): \(mismatches) entries differ from exp's bits")
            }
        }
    }
}
