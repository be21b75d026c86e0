import Foundation

/// A quick end-to-end check of the engine on this machine: each kernel family against a
/// direct loop, so a broken BLAS install or a miscompiled kernel shows up before a model runs.
public enum EngineSelfCheck {
    /// One check's outcome.
    public struct Result: Sendable {
        public var name: String
        public var maxAbsoluteDifference: Float
        public var tolerance: Float
        public var passed: Bool { maxAbsoluteDifference <= tolerance }
    }

    /// Runs all checks (a few milliseconds).
    public static func run() -> [Result] {
        var rng = LinearCongruential(seed: 7)
        func random(_ shape: [Int]) -> Tensor {
            Tensor(shape: shape, scalars: (0..<Tensor.elementCount(shape)).map { _ in rng.nextUnit() })
        }
        var results: [Result] = []

        // GEMM with a transposed operand (BLAS path) vs a triple loop.
        let a = random([13, 17]), b = random([11, 17]).transposed(0, 1)
        let product = Tensor.matmul(a, b).scalars
        let av = a.scalars, bv = b.scalars  // (13, 17) and (17, 11), row-major
        var worst: Float = 0
        for i in 0..<13 {
            for j in 0..<11 {
                var s: Float = 0
                for k in 0..<17 { s += av[i * 17 + k] * bv[k * 11 + j] }
                worst = max(worst, abs(s - product[i * 11 + j]))
            }
        }
        results.append(Result(name: "matmul (BLAS, transposed operand)", maxAbsoluteDifference: worst, tolerance: 1e-4))

        // 3×3 convolution with padding vs direct sums.
        let x = random([1, 2, 5, 6]), w = random([3, 2, 3, 3])
        let conv = Tensor.conv2d(x, weight: w, padding: (1, 1)).scalars
        let xs = x.scalars, ws = w.scalars
        worst = 0
        for o in 0..<3 {
            for y in 0..<5 {
                for xx in 0..<6 {
                    var s: Float = 0
                    for c in 0..<2 {
                        for i in 0..<3 {
                            for j in 0..<3 {
                                let iy = y + i - 1, ix = xx + j - 1
                                if iy >= 0 && iy < 5 && ix >= 0 && ix < 6 {
                                    s += xs[(c * 5 + iy) * 6 + ix] * ws[((o * 2 + c) * 3 + i) * 3 + j]
                                }
                            }
                        }
                    }
                    worst = max(worst, abs(s - conv[(o * 5 + y) * 6 + xx]))
                }
            }
        }
        results.append(Result(name: "conv2d (im2col + GEMM)", maxAbsoluteDifference: worst, tolerance: 1e-4))

        // Causal attention, one head: the first query sees only the first key.
        let q = random([1, 4, 8]), k = random([1, 4, 8]), v = random([1, 4, 8])
        let att = Tensor.scaledDotProductAttention(q: q, k: k, v: v, heads: 1, causal: true).scalars
        worst = zip(att.prefix(8), v.scalars.prefix(8)).map { abs($0 - $1) }.max() ?? 0
        results.append(Result(name: "attention (causal mask, threads)", maxAbsoluteDifference: worst, tolerance: 1e-6))

        // Half precision: a value that needs round-to-even.
        let h = HalfPrecision.halfBits(from: 1 + 0x1p-11)
        results.append(
            Result(name: "fp16 round to nearest even", maxAbsoluteDifference: h == 0x3C00 ? 0 : 1, tolerance: 0))
        return results
    }
}

/// A tiny deterministic generator so the self-check needs nothing else.
struct LinearCongruential {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func nextUnit() -> Float {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Float(state >> 40) / Float(1 << 24) * 2 - 1
    }
}
