import CLIPTestSupport
import Foundation
import Testing

@testable import CLIPTensor

/// The softmax row kernel (attention's, `Tensor.softmax`'s) at every ISA level: rows of every
/// length around the 16-lane chunks, masked entries and a fully masked row, the same bits on the
/// portable, AVX2 and AVX-512 paths, and within 1e-6 of a Double softmax.
@Suite struct SoftmaxRowTests {
    @Test func everyISAPathGivesTheSameBitsAndTheRightValues() throws {
        var g = SeededGenerator(seed: 61)
        for n in [1, 5, 15, 16, 17, 31, 32, 33, 50, 77, 197] {
            var values = Tensor.random([3, n], in: -30...30, using: &g).scalars
            values[n / 2] = -.infinity  // row 0: one masked entry
            for j in 0..<n { values[2 * n + j] = -.infinity }  // row 2: every entry masked
            let x = Tensor(shape: [3, n], scalars: values)
            let results = (0...max(PackedGEMM.level, 0)).map { level in
                PackedGEMM.withLevel(level) { Tensor.softmax(x).scalars }
            }
            for level in results.indices.dropFirst() {
                #expect(
                    results[level].map(\.bitPattern) == results[0].map(\.bitPattern), "n \(n): level \(level) vs 0")
            }
            var worst = 0.0
            for r in 0..<2 {
                let row = values[(r * n)..<((r + 1) * n)].map(Double.init)
                let m = row.max()!
                let e = row.map { $0 == -.infinity ? 0 : Foundation.exp($0 - m) }
                let sum = e.reduce(0, +)
                for j in 0..<n { worst = max(worst, abs(Double(results[0][r * n + j]) - e[j] / sum)) }
            }
            print("softmax rows of \(n): max |diff| vs Double \(worst) (tolerance 1e-6), \(results.count) ISA paths")
            #expect(worst <= 1e-6, "n \(n)")
            let masked = results[0][(2 * n)..<(3 * n)].allSatisfy { $0.isNaN }
            #expect(masked, "n \(n): a fully masked row is NaN")
        }
    }
}
