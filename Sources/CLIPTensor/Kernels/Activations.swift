import Foundation

// Pointwise activations and softmax.
//   GELU(x)      = x · Φ(x) = 0.5 · x · (1 + erf(x / √2))      (PyTorch nn.GELU(), approximate="none")
//   QuickGELU(x) = x · σ(1.702 · x)                              (OpenAI clip/model.py)

extension Tensor {
    /// GELU with the exact erf formulation.
    public static func gelu(_ x: Tensor) -> Tensor {
        x.map { v in 0.5 * v * (1 + erff(v * 0.70710678118654752)) }
    }

    /// OpenAI's QuickGELU, x · sigmoid(1.702 x).
    public static func quickGELU(_ x: Tensor) -> Tensor {
        x.map { v in v / (1 + expf(-1.702 * v)) }
    }

    /// max(x, 0).
    public static func relu(_ x: Tensor) -> Tensor {
        x.map { v in v > 0 ? v : 0 }
    }

    /// 1 / (1 + e^(−x)).
    public static func sigmoid(_ x: Tensor) -> Tensor {
        x.map { v in 1 / (1 + expf(-v)) }
    }

    /// e^x.
    public static func exp(_ x: Tensor) -> Tensor {
        x.map { v in expf(v) }
    }

    /// Softmax over the last dimension, subtracting the row maximum first for stability.
    public static func softmax(_ x: Tensor) -> Tensor {
        let src = x.contiguous()
        let out = Tensor(uninitializedShape: x.shape)
        let n = x.size(-1), rows = x.count / max(n, 1)
        let s = SendablePointer(src.baseAddress), d = SendablePointer(out.baseAddress)
        Parallel.forEach(rows, grain: max(1, 8192 / max(n, 1))) { range in
            for r in range { softmaxRow(s.pointer + r * n, d.pointer + r * n, n) }
        }
        return out
    }

    /// Softmax of one row of `n` values (in place allowed: `input == output`).
    @inline(__always)
    static func softmaxRow(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, _ n: Int) {
        var m = -Float.infinity
        for i in 0..<n { m = max(m, input[i]) }
        if m == -.infinity {
            // Every entry masked: PyTorch yields NaN; keep that behaviour explicit.
            for i in 0..<n { output[i] = .nan }
            return
        }
        var sum: Float = 0
        for i in 0..<n {
            let e = expf(input[i] - m)
            output[i] = e
            sum += e
        }
        let inv = 1 / sum
        for i in 0..<n { output[i] *= inv }
    }
}
