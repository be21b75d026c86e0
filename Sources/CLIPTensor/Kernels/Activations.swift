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

// MARK: - Backward (g = ∂L/∂y)

extension Tensor {
    /// ∂L/∂x of GELU: g · (Φ(x) + x · φ(x)).
    public static func geluBackward(_ x: Tensor, _ g: Tensor) -> Tensor {
        zipMap(x, g) { v, gv in
            let cdf = 0.5 * (1 + erff(v * 0.70710678118654752))
            let pdf = expf(-0.5 * v * v) * 0.3989422804014327
            return gv * (cdf + v * pdf)
        }
    }

    /// ∂L/∂x of QuickGELU: g · (σ(1.702x) + 1.702 x σ(1.702x)(1 − σ(1.702x))).
    public static func quickGELUBackward(_ x: Tensor, _ g: Tensor) -> Tensor {
        zipMap(x, g) { v, gv in
            let s = 1 / (1 + expf(-1.702 * v))
            return gv * (s + 1.702 * v * s * (1 - s))
        }
    }

    /// ∂L/∂x of ReLU (0 at x = 0, as PyTorch).
    public static func reluBackward(_ x: Tensor, _ g: Tensor) -> Tensor {
        zipMap(x, g) { v, gv in v > 0 ? gv : 0 }
    }

    /// ∂L/∂x of softmax over the last dimension from its output y: y · (g − Σ g·y).
    public static func softmaxBackward(_ y: Tensor, _ g: Tensor) -> Tensor {
        precondition(y.shape == g.shape, "softmaxBackward: \(y.shape) vs \(g.shape)")
        let yc = y.contiguous(), gc = g.contiguous()
        let out = Tensor(uninitializedShape: y.shape)
        let n = y.size(-1), rows = y.count / max(n, 1)
        let yp = SendablePointer(yc.baseAddress), gp = SendablePointer(gc.baseAddress), o = SendablePointer(out.baseAddress)
        Parallel.forEach(rows, grain: max(1, 8192 / max(n, 1))) { range in
            for r in range { softmaxRowBackward(yp.pointer + r * n, gp.pointer + r * n, o.pointer + r * n, n) }
        }
        return out
    }

    /// One row of ``softmaxBackward(_:_:)`` (output may alias `g`).
    @inline(__always)
    static func softmaxRowBackward(_ y: UnsafePointer<Float>, _ g: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ n: Int) {
        var dot: Float = 0
        for i in 0..<n { dot += g[i] * y[i] }
        for i in 0..<n { out[i] = y[i] * (g[i] - dot) }
    }

    /// Elementwise f(a, b) over two tensors of the same shape.
    static func zipMap(_ a: Tensor, _ b: Tensor, _ f: @escaping @Sendable (Float, Float) -> Float) -> Tensor {
        precondition(a.shape == b.shape, "elementwise: shapes \(a.shape) and \(b.shape) differ")
        let ac = a.contiguous(), bc = b.contiguous()
        let out = Tensor(uninitializedShape: a.shape)
        let ap = SendablePointer(ac.baseAddress), bp = SendablePointer(bc.baseAddress), o = SendablePointer(out.baseAddress)
        Parallel.forEach(a.count, grain: 16_384) { range in
            for i in range { o.pointer[i] = f(ap.pointer[i], bp.pointer[i]) }
        }
        return out
    }
}
