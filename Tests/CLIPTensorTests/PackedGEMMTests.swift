import CLIPTestSupport
import CTensorKernels
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

    /// Bits of `a` and `b` agree everywhere; the message gives the largest difference.
    static func sameBits(_ a: [Float], _ b: [Float]) -> (Bool, Closeness) {
        (
            a.count == b.count && zip(a, b).allSatisfy { $0.bitPattern == $1.bitPattern },
            Closeness(a, b.map(Double.init))
        )
    }

    /// The swapped product on packed weight panels (input rows broadcast, features along the
    /// vectors, bias by column) gives the in-place product's bits on every ISA path, with and
    /// without bias, activation and residual, for token counts with and without a panel tail
    /// and feature counts that are not multiples of 32.
    @Test func packedWeightPanelsGiveTheInPlaceBits() {
        guard PackedGEMM.isAvailable else { return }
        var g = SeededGenerator(seed: 11)
        for (m, k, n) in [(50, 300, 37), (1, 64, 5), (9, 768, 64), (70, 33, 96), (13, 1, 40), (150, 40, 70)] {
            let x = Tensor.random([m, k], using: &g), w = Tensor.random([n, k], using: &g)
            let b = Tensor.random([n], using: &g), r = Tensor.random([m, n], using: &g)
            let panels = PackedWeights.panels(for: w, force: true)!
            for level in 0...PackedGEMM.level {
                for activation in [FusedActivation.none, .quickGELU, .gelu, .relu] {
                    for (bias, residual) in [(b, r), (nil, nil)] as [(Tensor?, Tensor?)] {
                        let inPlace = Tensor(uninitializedShape: [m, n]), swapped = Tensor(uninitializedShape: [m, n])
                        PackedGEMM.withLevel(level) {
                            PackedGEMM.run(
                                w: w.baseAddress, ldw: k, n: n, k: k, x: x.baseAddress, ldx: k, rowsAreColumns: true,
                                m: m, out: inPlace.baseAddress, ldo: n, transposed: true,
                                shift: bias.map { UnsafePointer($0.baseAddress) }, activation: activation,
                                residual: residual.map { UnsafePointer($0.baseAddress) }, ldr: n)
                            PackedGEMM.runPackedWeights(
                                x: x.baseAddress, ldx: k, m: m, k: k, panels: panels.baseAddress, n: n,
                                out: swapped.baseAddress, ldo: n, shift: bias.map { UnsafePointer($0.baseAddress) },
                                activation: activation, residual: residual.map { UnsafePointer($0.baseAddress) },
                                ldr: n)
                        }
                        let (same, diff) = Self.sameBits(swapped.scalars, inPlace.scalars)
                        #expect(
                            same,
                            "(\(m), \(k), \(n)) level \(level) \(activation) bias \(bias != nil): \(diff)")
                        // Rows split into chunks (48 rows each, the least) as for a large input.
                        let chunked = Tensor(uninitializedShape: [m, n])
                        PackedGEMM.withLevel(level) {
                            PackedGEMM.runPackedWeights(
                                x: x.baseAddress, ldx: k, m: m, k: k, panels: panels.baseAddress, n: n,
                                out: chunked.baseAddress, ldo: n, shift: bias.map { UnsafePointer($0.baseAddress) },
                                activation: activation, residual: residual.map { UnsafePointer($0.baseAddress) },
                                ldr: n, rowChunkBytes: 1)
                        }
                        let (sameChunked, diffChunked) = Self.sameBits(chunked.scalars, inPlace.scalars)
                        #expect(
                            sameChunked, "(\(m), \(k), \(n)) level \(level) \(activation) row chunks: \(diffChunked)")
                    }
                }
            }
            let reference = Closeness(
                Tensor.linear(x, weight: w, bias: b, activation: .gelu, residual: r).scalars,
                Self.reference(x, w, b, .gelu, r))
            #expect(reference.within(absolute: 1e-5 * Double(k).squareRoot(), relative: 1e-5), "\(reference)")
        }
    }

    /// Rows 4 KB apart (K = 1024, 2048) alias in L1: the AVX-512 tile then takes 8 rows, and fp16
    /// rows are widened into a padded scratch. In place, on packed panels and from fp16 weights,
    /// every path still gives the portable path's bits.
    @Test func rowsFourKilobytesApartGiveTheSameBits() {
        guard PackedGEMM.isAvailable else { return }
        var g = SeededGenerator(seed: 41)
        for (m, k, n) in [(29, 1024, 40), (13, 2048, 33)] {
            let x = Tensor.random([m, k], using: &g), b = Tensor.random([n], using: &g)
            let r = Tensor.random([m, n], using: &g)
            let bits = Tensor.random([n, k], using: &g).scalars.map { HalfPrecision.halfBits(from: $0) }
            let owner = BitsOwner(bits)
            let w = Tensor(shape: [n, k], scalars: bits.map { HalfPrecision.float(fromHalfBits: $0) })
            let half = Tensor(borrowingHalf: owner.pointer, shape: [n, k], owner: owner)
            let panels = PackedWeights.panels(for: w, force: true)!
            func inPlace(_ weights: PackedGEMM.Weights, level: Int) -> [Float] {
                let out = Tensor(uninitializedShape: [m, n])
                PackedGEMM.withLevel(level) {
                    PackedGEMM.run(
                        weights: weights, ldw: k, n: n, k: k, x: x.baseAddress, ldx: k, rowsAreColumns: true, m: m,
                        out: out.baseAddress, ldo: n, transposed: true, shift: UnsafePointer(b.baseAddress),
                        activation: .gelu, residual: UnsafePointer(r.baseAddress), ldr: n)
                }
                return out.scalars
            }
            let portable = inPlace(w.gemmWeights, level: 0)
            for level in 0...PackedGEMM.level {
                let swapped = Tensor(uninitializedShape: [m, n])
                PackedGEMM.withLevel(level) {
                    PackedGEMM.runPackedWeights(
                        x: x.baseAddress, ldx: k, m: m, k: k, panels: panels.baseAddress, n: n,
                        out: swapped.baseAddress, ldo: n, shift: UnsafePointer(b.baseAddress), activation: .gelu,
                        residual: UnsafePointer(r.baseAddress), ldr: n)
                }
                for (name, y) in [
                    ("in place", inPlace(w.gemmWeights, level: level)),
                    ("fp16", inPlace(half.gemmWeights, level: level)),
                    ("packed panels", swapped.scalars),
                ] {
                    let (same, diff) = Self.sameBits(y, portable)
                    #expect(same, "(\(m), \(k), \(n)) level \(level) \(name): \(diff)")
                }
            }
            let reference = Closeness(portable, Self.reference(x, w, b, .gelu, r))
            #expect(reference.within(absolute: 1e-5 * Double(k).squareRoot(), relative: 1e-5), "\(reference)")
        }
    }

    /// Weights packed per call (a first call on few tokens) give the in-place product's bits on
    /// every ISA path, from Float32 and fp16 weights, with and without bias, activation and
    /// residual; a non-finite fp16 weight is reported to its storage. Linear layers choose it
    /// where it saves at least a tenth of the outputs.
    @Test func weightsPackedPerCallGiveTheInPlaceBits() {
        guard PackedGEMM.isAvailable else { return }
        var g = SeededGenerator(seed: 31)
        for (m, k, n) in [(50, 300, 37), (1, 64, 5), (9, 768, 64), (197, 40, 70), (13, 1, 40)] {
            let x = Tensor.random([m, k], using: &g), b = Tensor.random([n], using: &g)
            let r = Tensor.random([m, n], using: &g)
            var bits = Tensor.random([n, k], using: &g).scalars.map { HalfPrecision.halfBits(from: $0) }
            bits[0] = 0x0001
            let owner = BitsOwner(bits)
            let widened = Tensor(shape: [n, k], scalars: bits.map { HalfPrecision.float(fromHalfBits: $0) })
            let half = Tensor(borrowingHalf: owner.pointer, shape: [n, k], owner: owner)
            for level in 0...PackedGEMM.level {
                for activation in [FusedActivation.none, .quickGELU, .gelu, .relu] {
                    for (bias, residual) in [(b, r), (nil, nil)] as [(Tensor?, Tensor?)] {
                        let inPlace = Tensor(uninitializedShape: [m, n])
                        let (fromFloat, fromHalf) = (
                            Tensor(uninitializedShape: [m, n]), Tensor(uninitializedShape: [m, n])
                        )
                        PackedGEMM.withLevel(level) {
                            PackedGEMM.run(
                                w: widened.baseAddress, ldw: k, n: n, k: k, x: x.baseAddress, ldx: k,
                                rowsAreColumns: true, m: m, out: inPlace.baseAddress, ldo: n, transposed: true,
                                shift: bias.map { UnsafePointer($0.baseAddress) }, activation: activation,
                                residual: residual.map { UnsafePointer($0.baseAddress) }, ldr: n)
                            for (weights, out) in [
                                (widened.gemmWeights, fromFloat), (half.gemmWeights, fromHalf),
                            ] as [(PackedGEMM.Weights, Tensor)] {
                                PackedGEMM.runPackingWeights(
                                    weights: weights, ldw: k, n: n, k: k, x: x.baseAddress, ldx: k, m: m,
                                    out: out.baseAddress, ldo: n, shift: bias.map { UnsafePointer($0.baseAddress) },
                                    activation: activation, residual: residual.map { UnsafePointer($0.baseAddress) },
                                    ldr: n)
                            }
                        }
                        for (name, out) in [("Float32", fromFloat), ("fp16", fromHalf)] {
                            let (same, diff) = Self.sameBits(out.scalars, inPlace.scalars)
                            #expect(same, "(\(m), \(k), \(n)) level \(level) \(activation) \(name): \(diff)")
                        }
                    }
                }
            }
            #expect(!half.storage.isWidened && !half.storage.hasReadNonFinite)
            // A NaN in the last weight row is met by the packing and reported.
            var damaged = bits
            damaged[(n - 1) * k + k / 2] = 0x7E00
            let damagedOwner = BitsOwner(damaged)
            let bad = Tensor(borrowingHalf: damagedOwner.pointer, shape: [n, k], owner: damagedOwner)
            let out = Tensor(uninitializedShape: [m, n])
            PackedGEMM.runPackingWeights(
                weights: bad.gemmWeights, ldw: k, n: n, k: k, x: x.baseAddress, ldx: k, m: m, out: out.baseAddress,
                ldo: n, shift: nil, activation: .none, residual: nil, ldr: n)
            #expect(bad.storage.hasReadNonFinite, "(\(m), \(k), \(n)): the NaN weight was not reported")
        }
        // 50 image tokens pad to 64 columns in place, 9 text tokens to 16; 197 tokens to 208 (5 %),
        // 800 tokens not at all.
        #expect(PackedGEMM.prefersPackingWeights(m: 50, n: 768) && PackedGEMM.prefersPackingWeights(m: 9, n: 3072))
        #expect(!PackedGEMM.prefersPackingWeights(m: 197, n: 2304))
        #expect(!PackedGEMM.prefersPackingWeights(m: 800, n: 768) && !PackedGEMM.prefersPackingWeights(m: 64, n: 5))
    }

    /// A linear layer uses its weights in place on the first call and packs them on the second
    /// (then keeps them, one view per key); every call gives the same bits. Past the byte budget
    /// nothing is packed.
    @Test func weightsArePackedOnTheSecondCall() {
        guard PackedGEMM.isAvailable else { return }
        var g = SeededGenerator(seed: 12)
        let (k, n) = (96, 70)
        let w = Tensor.random([n, k], using: &g), b = Tensor.random([n], using: &g)
        func packedViews() -> Int { w.storage.packedWeights?.panels.count ?? 0 }
        for m in [50, 64] {
            let x = Tensor.random([m, k], using: &g)
            let first = Tensor.linear(x, weight: w, bias: b, activation: .quickGELU, residual: nil).scalars
            if m == 50 { #expect(packedViews() == 0, "first call: weights in place") }
            let second = Tensor.linear(x, weight: w, bias: b, activation: .quickGELU, residual: nil).scalars
            #expect(packedViews() == 1, "second call: weights packed, once")
            let (same, diff) = Self.sameBits(second, first)
            #expect(same, "\(m) rows, in place vs packed: \(diff)")
        }
        let other = Tensor.random([n, k], using: &g)
        #expect(PackedWeights.panels(for: other, force: true, budget: 0) == nil, "no budget: in place")
        #expect(other.storage.packedWeights?.panels.isEmpty ?? true)
    }

    /// The vectorised panel packing (8 × 8 transposes) copies exactly what the scalar loop copies.
    @Test func vectorisedPackingCopiesLikeTheScalarLoop() {
        var g = SeededGenerator(seed: 13)
        for (m, k) in [(50, 768), (8, 3), (33, 17), (1, 9), (96, 8)] {
            let ld = k + 5
            let x = Tensor.random([m, ld], using: &g)
            let panelCount = (m + 31) / 32
            let fast = Tensor(zeros: [panelCount * k * 32]), scalar = Tensor(zeros: [panelCount * k * 32])
            PackedGEMM.pack(rows: x.baseAddress, ld: ld, m: m, k: k, into: fast.baseAddress)
            PackedGEMM.withLevel(0) {
                PackedGEMM.pack(rows: x.baseAddress, ld: ld, m: m, k: k, into: scalar.baseAddress)
            }
            var expected = [Float](repeating: 0, count: panelCount * k * 32)
            let xs = x.scalars
            for p in 0..<panelCount {
                for i in 0..<k {
                    for j in 0..<32 where p * 32 + j < m { expected[(p * k + i) * 32 + j] = xs[(p * 32 + j) * ld + i] }
                }
            }
            let (sameFast, diffFast) = Self.sameBits(fast.scalars, expected)
            let (sameScalar, diffScalar) = Self.sameBits(scalar.scalars, expected)
            #expect(sameFast && sameScalar, "(\(m), \(k)): vectorised \(diffFast), scalar \(diffScalar)")
        }
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

    /// fp16 weights read where they are (a tensor over an fp16 checkpoint's values): the linear
    /// layer, in place and through packed panels, on every path, gives the bits of the widened
    /// weights, and leaves the weights unwidened; reading the Float32 memory widens them once.
    @Test func halfWeightsGiveTheWidenedBits() {
        guard PackedGEMM.isAvailable else { return }
        var g = SeededGenerator(seed: 23)
        for (m, k, n) in [(50, 300, 37), (1, 64, 5), (9, 768, 64), (70, 33, 96), (13, 1, 40)] {
            let x = Tensor.random([m, k], using: &g), b = Tensor.random([n], using: &g)
            // fp16 bit patterns of random weights, with a subnormal and a signed zero among them.
            var bits = Tensor.random([n, k], using: &g).scalars.map { HalfPrecision.halfBits(from: $0) }
            bits[0] = 0x0001
            if bits.count > 1 { bits[1] = 0x8000 }
            let owner = BitsOwner(bits)
            let widened = Tensor(shape: [n, k], scalars: bits.map { HalfPrecision.float(fromHalfBits: $0) })
            for level in 0...PackedGEMM.level {
                let half = Tensor(borrowingHalf: owner.pointer, shape: [n, k], owner: owner)
                let (expected, inPlace, packed) = PackedGEMM.withLevel(level) {
                    let expected = Tensor.linear(x, weight: widened, bias: b, activation: .gelu, residual: nil)
                    let inPlace = Tensor.linear(x, weight: half, bias: b, activation: .gelu, residual: nil)
                    let packed = PackedWeights.panels(for: half, force: true, budget: .max).map { panels in
                        let out = Tensor(uninitializedShape: [m, n])
                        PackedGEMM.runPackedWeights(
                            x: x.baseAddress, ldx: k, m: m, k: k, panels: panels.baseAddress, n: n,
                            out: out.baseAddress, ldo: n, shift: UnsafePointer(b.baseAddress), activation: .gelu,
                            residual: nil, ldr: n)
                        return out
                    }
                    return (expected, inPlace, packed)
                }
                #expect(!half.storage.isWidened, "(\(m), \(k), \(n)) level \(level): the GEMM widened the weights")
                let (same, diff) = Self.sameBits(inPlace.scalars, expected.scalars)
                #expect(same, "(\(m), \(k), \(n)) level \(level) fp16 in place: \(diff)")
                let (samePacked, diffPacked) = Self.sameBits(packed?.scalars ?? [], expected.scalars)
                #expect(samePacked, "(\(m), \(k), \(n)) level \(level) fp16 panels: \(diffPacked)")
                // Any Float32 read widens, to the same values.
                #expect(half.scalars == widened.scalars)
                #expect(half.storage.isWidened)
            }
        }
    }
}

extension PackedGEMMTests {
    /// Every reader of fp16 weights in place reports a non-finite value it meets (what lets
    /// CLIP check weights as they are read instead of by a scan at load): the linear layer in
    /// place, the packing of weight panels and the widening on a Float32 read, on every ISA
    /// path, for +Inf, NaN and −Inf at the first, a middle and the last element; clean weights
    /// report nothing.
    @Test func halfWeightReadersReportNonFiniteValues() {
        guard PackedGEMM.isAvailable else { return }
        var g = SeededGenerator(seed: 29)
        let (m, k, n) = (50, 96, 40)
        let x = Tensor.random([m, k], using: &g)
        let clean = Tensor.random([n, k], using: &g).scalars.map { HalfPrecision.halfBits(from: $0) }
        let cases: [(position: Int, bits: UInt16)] = [
            (0, 0x7C00), (n * k / 2 + 3, 0x7E00), (n * k - 1, 0xFC00), (-1, 0),
        ]
        for level in 0...PackedGEMM.level {
            for (position, value) in cases {
                var bits = clean
                if position >= 0 { bits[position] = value }
                for reader in ["linear in place", "weight panels", "Float32 read"] {
                    let owner = BitsOwner(bits)
                    let half = Tensor(borrowingHalf: owner.pointer, shape: [n, k], owner: owner)
                    #expect(!half.storage.hasReadNonFinite)
                    PackedGEMM.withLevel(level) {
                        switch reader {
                        case "linear in place":
                            _ = Tensor.linear(x, weight: half, bias: nil, activation: .none, residual: nil)
                            #expect(!half.storage.isWidened)
                        case "weight panels": _ = PackedWeights.panels(for: half, force: true, budget: .max)
                        default: _ = half.scalars
                        }
                    }
                    let label = "level \(level), \(reader), element \(position)"
                    #expect(half.storage.hasReadNonFinite == (position >= 0), "\(label)")
                    #expect(half.storage.valuesAreFinite == (position < 0), "\(label)")
                }
            }
        }
    }
}

/// fp16 bit patterns kept alive for a borrowing tensor.
private final class BitsOwner {
    let pointer: UnsafeMutablePointer<UInt16>
    let count: Int
    init(_ bits: [UInt16]) {
        count = bits.count
        pointer = .allocate(capacity: bits.count)
        pointer.initialize(from: bits, count: bits.count)
    }
    deinit { pointer.deallocate() }
}

extension PackedGEMMTests {
    /// Convolution panels packed straight from the image (`clip_conv_pack`, inside each task of
    /// `runConvolution`) equal the panels of the im2col matrix, and the fused convolution gives
    /// the im2col + GEMM product's bits, on every ISA path: strides 1 and 2, padding, 1×1, 3×3
    /// and 7×7 kernels, maps narrower than the kernel, outputs with a panel tail and rows of
    /// every tile size, with bias, ReLU and a residual.
    @Test(arguments: [
        // (Ci, H, W, Co, kernel, stride, padding)
        (3, 17, 19, 13, 3, 2, 1), (5, 9, 9, 29, 3, 1, 1), (16, 7, 7, 40, 1, 1, 0), (4, 6, 5, 7, 7, 2, 3),
        (2, 2, 3, 5, 3, 1, 1), (3, 32, 32, 8, 16, 16, 0), (6, 11, 4, 12, 1, 2, 0), (1, 1, 1, 3, 3, 1, 1),
    ])
    func convolutionPackedFromTheImageGivesTheIm2colBits(shape: (Int, Int, Int, Int, Int, Int, Int)) {
        guard PackedGEMM.isAvailable else { return }
        let (ci, h, w, co, kernel, stride, padding) = shape
        var g = SeededGenerator(seed: UInt64(ci * 1_000_003 + h * 1009 + w * 101 + co * 11 + kernel))
        let image = Tensor.random([ci, h, w], using: &g), weight = Tensor.random([co, ci * kernel * kernel], using: &g)
        let bias = Tensor.random([co], using: &g)
        let ho = Tensor.convOutputSize(h, kernel: kernel, stride: stride, padding: padding)
        let wo = Tensor.convOutputSize(w, kernel: kernel, stride: stride, padding: padding)
        let (k, m) = (ci * kernel * kernel, ho * wo)
        let residual = Tensor.random([co, m], using: &g)
        let panelCount = (m + 31) / 32
        // The reference: im2col columns (K, M), packed, then the in-place GEMM.
        let columns = Tensor(uninitializedShape: [k, m])
        Tensor.im2col(
            image.baseAddress, channels: ci, height: h, width: w, kernel: (kernel, kernel), stride: (stride, stride),
            padding: (padding, padding), outHeight: ho, outWidth: wo, into: columns.baseAddress, rowStride: m)
        let panels = Tensor(uninitializedShape: [panelCount * k * 32])
        clip_gemm_pack(columns.baseAddress, m, 0, m, k, 0, panelCount, panels.baseAddress)
        let geometry = clip_conv_geometry(
            channels: ci, height: h, width: w, kernel_h: kernel, kernel_w: kernel, stride_h: stride, stride_w: stride,
            pad_h: padding, pad_w: padding, out_h: ho, out_w: wo)
        let direct = Tensor(repeating: .nan, shape: [panelCount * k * 32])
        withUnsafePointer(to: geometry) { clip_conv_pack(image.baseAddress, $0, 0, panelCount, direct.baseAddress) }
        #expect(Self.sameBits(direct.scalars, panels.scalars).0, "\(shape): panels packed from the image differ")
        let epilogue = Int32(CLIP_GEMM_RELU) | Int32(CLIP_GEMM_RESIDUAL_FIRST)
        for level in 0...PackedGEMM.level {
            let (expected, fused) = PackedGEMM.withLevel(level) {
                let expected = Tensor(uninitializedShape: [co, m])
                clip_gemm_compute(
                    weight.baseAddress, k, 0, co, panels.baseAddress, m, k, 0, panelCount, expected.baseAddress, m, 0,
                    nil, bias.baseAddress, epilogue, residual.baseAddress, m)
                let fused = [false, true].map { parallel in
                    let out = Tensor(uninitializedShape: [co, m])
                    PackedGEMM.runConvolution(
                        w: weight.baseAddress, n: co, image: image.baseAddress, geometry: geometry,
                        out: out.baseAddress, shift: bias.baseAddress, epilogue: epilogue,
                        residual: residual.baseAddress, parallel: parallel)
                    return out
                }
                return (expected, fused)
            }
            for (out, parallel) in zip(fused, [false, true]) {
                let (same, diff) = Self.sameBits(out.scalars, expected.scalars)
                #expect(same, "\(shape) level \(level) parallel \(parallel): \(diff)")
            }
        }
    }
}
