import CLIPTestSupport
import Foundation
import Testing

@testable import CLIPTensor

/// The fused linear layer (packed GEMM on x86-64 with AVX2/AVX-512, BLAS elsewhere) against a
/// Double loop, and the AVX-512, AVX2 and portable paths against each other bit for bit.
@Suite struct PackedGEMMTests {
    /// (M, K, N): one row, a ViT-B/32 batch-1 token count (50), panels with a tail, tiles of
    /// every row count (N up to 29 covers 1…12 rows per tile), K = 1.
    static let shapes: [(Int, Int, Int)] = [(1, 7, 5), (50, 64, 29), (33, 1, 13), (70, 130, 24), (3, 5, 1)]

    static func reference(
        _ x: Tensor, _ w: Tensor, _ b: Tensor?, _ activation: FusedActivation, _ residual: Tensor?
    ) -> [Double] {
        let m = x.shape[0], k = x.shape[1], n = w.shape[0]
        let xs = x.scalars, ws = w.scalars, bs = b?.scalars, rs = residual?.scalars
        var out = [Double](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var s = Double(bs?[j] ?? 0)
                for p in 0..<k { s += Double(xs[i * k + p]) * Double(ws[j * k + p]) }
                switch activation {
                case .none: break
                case .quickGELU: s = s / (1 + Foundation.exp(-1.702 * s))
                case .gelu: s = 0.5 * s * (1 + erf(s / 2.0.squareRoot()))
                case .relu: s = max(s, 0)
                }
                out[i * n + j] = s + Double(rs?[i * n + j] ?? 0)
            }
        }
        return out
    }

    @Test(arguments: shapes) func fusedLinearMatchesReference(shape: (Int, Int, Int)) {
        let (m, k, n) = shape
        var g = SeededGenerator(seed: UInt64(m * 10_000 + k * 100 + n))
        let x = Tensor.random([m, k], using: &g), w = Tensor.random([n, k], using: &g)
        let b = Tensor.random([n], using: &g), r = Tensor.random([m, n], using: &g)
        for activation in [FusedActivation.none, .quickGELU, .gelu, .relu] {
            for (bias, residual) in [(b, r), (nil, nil), (b, nil)] as [(Tensor?, Tensor?)] {
                let y = Tensor.linear(x, weight: w, bias: bias, activation: activation, residual: residual)
                #expect(y.shape == [m, n])
                let diff = Closeness(y.scalars, Self.reference(x, w, bias, activation, residual))
                #expect(
                    diff.within(absolute: 1e-5 * Double(max(k, 1)).squareRoot(), relative: 1e-5),
                    "\(shape) \(activation) bias \(bias != nil) residual \(residual != nil): \(diff)")
            }
        }
    }

    @Test func stridedInputRowsAndBatchDimensions() {
        var g = SeededGenerator(seed: 77)
        // Rows of x are every other row of a wider matrix, and a (2, 3, K) batch.
        let wide = Tensor.random([12, 40], using: &g)
        let x = Tensor(storage: wide.storage, shape: [6, 17], strides: [80, 1], offset: 3)
        let w = Tensor.random([9, 17], using: &g), b = Tensor.random([9], using: &g)
        let y = Tensor.linear(x, weight: w, bias: b, activation: .quickGELU, residual: nil)
        let diff = Closeness(y.scalars, Self.reference(x.contiguous(), w, b, .quickGELU, nil))
        #expect(diff.within(absolute: 1e-5), "strided rows: \(diff)")
        let x3 = Tensor.random([2, 3, 17], using: &g)
        let y3 = Tensor.linear(x3, weight: w, bias: b, activation: .none, residual: nil)
        #expect(y3.shape == [2, 3, 9])
        let diff3 = Closeness(y3.scalars, Self.reference(x3.reshaped([6, 17]), w, b, .none, nil))
        #expect(diff3.within(absolute: 1e-5), "batched: \(diff3)")
    }

    /// Every output is one FMA chain over k in order, whatever the ISA path or thread count.
    @Test func everyPathGivesTheSameBits() {
        var g = SeededGenerator(seed: 3)
        let (m, k, n) = (70, 300, 37)
        let x = Tensor.random([m, k], using: &g), w = Tensor.random([n, k], using: &g)
        let b = Tensor.random([n], using: &g), r = Tensor.random([m, n], using: &g)
        let best = Tensor.linear(x, weight: w, bias: b, activation: .gelu, residual: r).scalars
        guard PackedGEMM.isAvailable else { return }
        for level in 1..<PackedGEMM.level {
            let y = PackedGEMM.withLevel(level) {
                Tensor.linear(x, weight: w, bias: b, activation: .gelu, residual: r).scalars
            }
            let same = zip(y, best).allSatisfy { $0.bitPattern == $1.bitPattern }
            #expect(same, "level \(level) vs \(PackedGEMM.level): \(Closeness(y, best.map(Double.init)))")
        }
        let plain = Tensor.linear(x, weight: w, bias: nil, activation: .none, residual: nil)
        let portable = Tensor(uninitializedShape: [m, n])
        PackedGEMM.portable(
            w: w.baseAddress, ldw: k, n: n, k: k, x: x.baseAddress, ldx: k, m: m, out: portable.baseAddress, ldo: n)
        let same = zip(portable.scalars, plain.scalars).allSatisfy { $0.bitPattern == $1.bitPattern }
        #expect(same, "portable path: \(Closeness(portable.scalars, plain.scalars.map(Double.init)))")
    }

    /// A row's outputs do not depend on how many rows share the product: the first M′ rows of a
    /// 70-row product, computed alone, are bit-identical, whether the last panel runs at full
    /// width or at half width (M′ ≤ 16, or a tail of ≤ 16 columns). Batch-invariant inference and
    /// text that stops at the EOT rely on this.
    @Test func rowsDoNotDependOnTheRowCount() {
        var g = SeededGenerator(seed: 11)
        let (m, k, n) = (70, 96, 29)
        let x = Tensor.random([m, k], using: &g), w = Tensor.random([n, k], using: &g)
        let b = Tensor.random([n], using: &g)
        let full = Tensor.linear(x, weight: w, bias: b, activation: .quickGELU, residual: nil).scalars
        for rows in [1, 9, 16, 17, 32, 33, 48, 50] {
            let part = Tensor.linear(
                x.sliced(dim: 0, range: 0..<rows).contiguous(), weight: w, bias: b, activation: .quickGELU,
                residual: nil
            ).scalars
            let same = zip(part, full.prefix(rows * n)).allSatisfy { $0.bitPattern == $1.bitPattern }
            #expect(same, "first \(rows) rows alone differ from the 70-row product")
        }
    }
}
