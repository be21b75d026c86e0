import CLIPTensor
import CLIPTestSupport
import Testing

// The int8 kernels (CTensorKernels/clip_int8.c) against plain Int32 loops written here: every
// path the CPU has must give the reference's int32 sums exactly, including the sums where
// AVX2's vpmaddubsw would saturate (255 · 127 · 2 = 64770 > 32767).
// Symbols: R rows, I inputs, O outputs.

/// Σ_i a[r][i] · q[o][i] in Int32, the obvious way: (R·O).
private func referenceSums(_ a: [UInt8], _ q: [Int8], rows: Int, inputs: Int, outputs: Int) -> [Int32] {
    var out = [Int32](repeating: 0, count: rows * outputs)
    for r in 0..<rows {
        for o in 0..<outputs {
            var s: Int32 = 0
            for i in 0..<inputs { s += Int32(a[r * inputs + i]) * Int32(q[o * inputs + i]) }
            out[r * outputs + o] = s
        }
    }
    return out
}

private let paths = Int8KernelPath.allCases.filter { $0 != .auto }

@Suite struct Int8KernelTests {
    /// (R, I, O): odd widths (I not a multiple of 4, O not a multiple of 16), a single row, a
    /// single output, rows beyond one micro-tile and one row block.
    static let shapes: [(Int, Int, Int)] = [(1, 1, 1), (7, 37, 21), (13, 64, 16), (50, 96, 33), (61, 130, 47)]

    @Test(arguments: paths, shapes)
    func everyPathGivesTheExactSums(path: Int8KernelPath, shape: (Int, Int, Int)) throws {
        guard path.isAvailable else { return }  // e.g. VNNI on a CPU without it; scalar runs everywhere
        let (rows, inputs, outputs) = shape
        var rng = SeededRandom(seed: UInt64(rows * 1000 + inputs * 10 + outputs))
        let a = (0..<(rows * inputs)).map { _ in UInt8(rng.next() % 256) }
        let q = (0..<(outputs * inputs)).map { _ in Int8(Int(rng.next() % 255) - 127) }
        let weights = Int8Weights(
            values: q, scales: [Float](repeating: 1, count: outputs), outputs: outputs, inputs: inputs)
        let got = Int8Kernels.accumulate(a, rows: rows, weights: weights, path: path)
        let want = referenceSums(a, q, rows: rows, inputs: inputs, outputs: outputs)
        let maxDiff = zip(got, want).map { abs(Int64($0) - Int64($1)) }.max() ?? 0
        #expect(got == want, "\(path) \(shape): max |int32 diff| \(maxDiff)")
    }

    /// All activations 255 against all weights +127 or −127: every pair of products is ±64770,
    /// which a 16-bit saturating pair sum (vpmaddubsw) would clamp to ±32767 (sum off by half).
    @Test(arguments: paths, [Int8(127), Int8(-127)])
    func saturatingPairsAreExact(path: Int8KernelPath, weight: Int8) throws {
        guard path.isAvailable else { return }
        let (rows, inputs, outputs) = (3, 64, 17)
        let a = [UInt8](repeating: 255, count: rows * inputs)
        // Alternate the sign in the last channel so both extremes meet in one panel.
        var q = [Int8](repeating: weight, count: outputs * inputs)
        for i in 0..<inputs { q[(outputs - 1) * inputs + i] = i % 2 == 0 ? 127 : -127 }
        let weights = Int8Weights(
            values: q, scales: [Float](repeating: 1, count: outputs), outputs: outputs, inputs: inputs)
        let got = Int8Kernels.accumulate(a, rows: rows, weights: weights, path: path)
        let full = Int32(255) * Int32(weight) * Int32(inputs)  // ±2,072,640
        let saturated = Int32(weight > 0 ? 32767 : -32768) * Int32(inputs / 2)
        for r in 0..<rows {
            #expect(
                got[r * outputs] == full, "\(path): \(got[r * outputs]) ≠ \(full) (saturated would be \(saturated))")
            #expect(
                got[r * outputs + outputs - 1] == 0,
                "\(path): alternating ±127 channel gave \(got[r * outputs + outputs - 1])")
        }
        #expect(got == referenceSums(a, q, rows: rows, inputs: inputs, outputs: outputs))
    }

    @Test func weightQuantizationRoundTripIsWithinHalfAStep() throws {
        var rng = SeededRandom(seed: 7)
        let (outputs, inputs) = (19, 45)
        var values = (0..<(outputs * inputs)).map { _ in Float(rng.nextDouble(in: -1, 1)) * 0.05 }
        for i in 0..<inputs { values[3 * inputs + i] = 0 }  // a zero row: scale 1, values 0
        values[5 * inputs + 2] = 4  // an outlier sets its row's scale
        let w = Tensor(shape: [outputs, inputs], scalars: values)
        let (q, scales) = Int8Weights.quantize(w)
        let back = Int8Weights.dequantize(values: q, scales: scales, outputs: outputs, inputs: inputs).scalars
        var worst: Float = 0
        for o in 0..<outputs {
            let row = values[(o * inputs)..<((o + 1) * inputs)]
            let maxAbs = row.map(abs).max()!
            let expectedScale = maxAbs > 0 ? maxAbs / 127 : 1
            #expect(
                abs(scales[o] - expectedScale) <= 1e-7 * expectedScale,
                "row \(o): scale \(scales[o]) vs \(expectedScale)")
            let qRow = q[(o * inputs)..<((o + 1) * inputs)]
            #expect(qRow.allSatisfy { $0 >= -127 && $0 <= 127 })
            if maxAbs > 0 { #expect(qRow.map { abs(Int($0)) }.max() == 127, "row \(o) does not use the full range") }
            for i in 0..<inputs {
                let error = abs(values[o * inputs + i] - back[o * inputs + i])
                worst = max(worst, error / scales[o])
            }
        }
        print("int8 weight round trip: max |w − s·q| = \(worst) steps")
        #expect(worst <= 0.5 + 1e-4, "max |w − s·q| = \(worst) steps (bound 0.5)")
        #expect(q[(3 * inputs)..<(4 * inputs)].allSatisfy { $0 == 0 } && scales[3] == 1)
    }

    @Test func activationQuantizationRoundTripIsWithinHalfAStep() throws {
        var rng = SeededRandom(seed: 11)
        let (rows, inputs) = (9, 70)
        var values = (0..<(rows * inputs)).map { _ in Float(rng.nextDouble(in: -1, 1)) }
        for i in 0..<inputs { values[2 * inputs + i] = abs(values[2 * inputs + i]) }  // all ≥ 0: zero point 0
        for i in 0..<inputs { values[4 * inputs + i] = 0 }  // zero row
        let (q, scales, zeros) = Int8Kernels.quantizeRows(Tensor(shape: [rows, inputs], scalars: values))
        var worst: Float = 0
        for r in 0..<rows {
            for i in 0..<inputs {
                let back = scales[r] * Float(Int32(q[r * inputs + i]) - zeros[r])
                worst = max(worst, abs(back - values[r * inputs + i]) / scales[r])
            }
        }
        print("u8 activation round trip: max |x − s·(q − z)| = \(worst) steps")
        #expect(worst <= 0.5 + 1e-3, "max |x − s·(q − z)| = \(worst) steps (bound 0.5)")
        #expect(zeros[2] == 0 && zeros[4] == 0 && zeros.allSatisfy { (0...255).contains($0) })
    }

    /// The float epilogue and the threading (row blocks for many rows, channel blocks for few):
    /// int8Linear equals s_x · s_w · (Σ − z · Σq) + bias computed from the reference sums, and
    /// stays close to the float32 linear.
    @Test(arguments: [1, 5, 200]) func int8LinearMatchesItsDefinition(rows: Int) throws {
        var rng = SeededRandom(seed: UInt64(rows))
        let (inputs, outputs) = (96, 70)
        let x = Tensor(
            shape: [rows, inputs], scalars: (0..<(rows * inputs)).map { _ in Float(rng.nextDouble(in: -1, 1)) })
        let w = Tensor(
            shape: [outputs, inputs],
            scalars: (0..<(outputs * inputs)).map { _ in Float(rng.nextDouble(in: -1, 1)) * 0.1 })
        let bias = Tensor(shape: [outputs], scalars: (0..<outputs).map { _ in Float(rng.nextDouble(in: -1, 1)) })
        let weights = Int8Weights(quantizing: w)
        let (q, scales) = Int8Weights.quantize(w)
        let y = Tensor.int8Linear(x, weights: weights, bias: bias).scalars
        let (a, sx, zx) = Int8Kernels.quantizeRows(x)
        let sums = referenceSums(a, q, rows: rows, inputs: inputs, outputs: outputs)
        var definitionDiff: Float = 0
        for r in 0..<rows {
            for o in 0..<outputs {
                let qsum = (0..<inputs).reduce(Int32(0)) { $0 + Int32(q[o * inputs + $1]) }
                let want = sx[r] * scales[o] * Float(sums[r * outputs + o] - zx[r] * qsum) + bias.scalars[o]
                definitionDiff = max(definitionDiff, abs(y[r * outputs + o] - want) / max(abs(want), 1))
            }
        }
        let reference = Tensor.linear(x, weight: w, bias: bias).scalars
        let norm = reference.map { $0 * $0 }.reduce(0, +).squareRoot()
        let error = zip(y, reference).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot() / norm
        print("int8Linear rows \(rows): vs definition \(definitionDiff), ‖int8 − fp32‖ / ‖fp32‖ = \(error)")
        #expect(definitionDiff <= 1e-5, "int8Linear vs its definition: \(definitionDiff)")
        #expect(error <= 2e-2, "relative error to float32 linear \(error)")
    }
}
