import CTensorKernels
import Foundation

// Pointwise activations and softmax. The arithmetic is in vectorised C kernels
// (Sources/CTensorKernels/clip_kernels.c: polynomial exp, A&S erf); these split the work
// over threads in fixed ranges.
//   GELU(x)      = x · Φ(x) = 0.5 · x · (1 + erf(x / √2))      (PyTorch nn.GELU(), approximate="none")
//   QuickGELU(x) = x · σ(1.702 · x)                              (OpenAI clip/model.py)

extension Tensor {
    /// GELU with the exact erf formulation.
    public static func gelu(_ x: Tensor) -> Tensor { pointwise(x, clip_gelu) }

    /// OpenAI's QuickGELU, x · sigmoid(1.702 x).
    public static func quickGELU(_ x: Tensor) -> Tensor { pointwise(x, clip_quick_gelu) }

    /// max(x, 0).
    public static func relu(_ x: Tensor) -> Tensor { pointwise(x, clip_relu) }

    /// 1 / (1 + e^(−x)).
    public static func sigmoid(_ x: Tensor) -> Tensor { pointwise(x, clip_sigmoid) }

    /// e^x.
    public static func exp(_ x: Tensor) -> Tensor { pointwise(x, clip_exp) }

    /// `kernel(x, y, n)` over the elements of x into a new tensor, in parallel chunks.
    static func pointwise(
        _ x: Tensor, _ kernel: @escaping @Sendable (UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int) -> Void
    ) -> Tensor {
        let src = x.contiguous()
        let out = Tensor(uninitializedShape: x.shape)
        let s = SendablePointer(src.baseAddress), d = SendablePointer(out.baseAddress)
        Parallel.forEach(x.count, grain: 32_768) { range in
            kernel(s.pointer + range.lowerBound, d.pointer + range.lowerBound, range.count)
        }
        withExtendedLifetime(src) {}
        return out
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

    /// Softmax along `axis` (negative counts from the end), as `torch.softmax(x, dim=axis)`.
    ///
    /// ```swift
    /// let probs = logitsPerImage.softmax(axis: -1)   // (B, N), each row sums to 1
    /// ```
    public func softmax(axis: Int = -1) -> Tensor {
        let d = axis < 0 ? axis + rank : axis
        precondition((0..<rank).contains(d), "softmax axis \(axis) out of range for rank \(rank)")
        if d == rank - 1 { return Tensor.softmax(self) }
        // The kernel works on contiguous last-axis rows: move `axis` last and back.
        return Tensor.softmax(transposed(d, rank - 1)).transposed(d, rank - 1).contiguous()
    }

    /// Softmax of one row of `n` values (in place allowed: `input == output`).
    @inline(__always)
    static func softmaxRow(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, _ n: Int) {
        clip_softmax_row(input, output, n)
    }
}

// MARK: - Backward (g = ∂L/∂y)

extension Tensor {
    /// ∂L/∂x of GELU: g · (Φ(x) + x · φ(x)).
    public static func geluBackward(_ x: Tensor, _ g: Tensor) -> Tensor { pointwiseBackward(x, g, clip_gelu_backward) }

    /// ∂L/∂x of QuickGELU: g · (σ(1.702x) + 1.702 x σ(1.702x)(1 − σ(1.702x))).
    public static func quickGELUBackward(_ x: Tensor, _ g: Tensor) -> Tensor {
        pointwiseBackward(x, g, clip_quick_gelu_backward)
    }

    /// ∂L/∂x of ReLU (0 at x = 0, as PyTorch).
    public static func reluBackward(_ x: Tensor, _ g: Tensor) -> Tensor { pointwiseBackward(x, g, clip_relu_backward) }

    /// `kernel(x, g, dx, n)` over two tensors of the same shape into a new tensor, in parallel chunks.
    static func pointwiseBackward(
        _ x: Tensor, _ g: Tensor,
        _ kernel:
            @escaping @Sendable (UnsafePointer<Float>?, UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int) ->
            Void
    ) -> Tensor {
        precondition(x.shape == g.shape, "elementwise: shapes \(x.shape) and \(g.shape) differ")
        let xc = x.contiguous(), gc = g.contiguous()
        let out = Tensor(uninitializedShape: x.shape)
        let xp = SendablePointer(xc.baseAddress), gp = SendablePointer(gc.baseAddress),
            o = SendablePointer(out.baseAddress)
        Parallel.forEach(x.count, grain: 32_768) { range in
            kernel(
                xp.pointer + range.lowerBound, gp.pointer + range.lowerBound, o.pointer + range.lowerBound, range.count)
        }
        withExtendedLifetime((xc, gc)) {}
        return out
    }

    /// ∂L/∂x of softmax over the last dimension from its output y: y · (g − Σ g·y).
    public static func softmaxBackward(_ y: Tensor, _ g: Tensor) -> Tensor {
        precondition(y.shape == g.shape, "softmaxBackward: \(y.shape) vs \(g.shape)")
        let yc = y.contiguous(), gc = g.contiguous()
        let out = Tensor(uninitializedShape: y.shape)
        let n = y.size(-1), rows = y.count / max(n, 1)
        let yp = SendablePointer(yc.baseAddress), gp = SendablePointer(gc.baseAddress),
            o = SendablePointer(out.baseAddress)
        Parallel.forEach(rows, grain: max(1, 8192 / max(n, 1))) { range in
            for r in range { softmaxRowBackward(yp.pointer + r * n, gp.pointer + r * n, o.pointer + r * n, n) }
        }
        return out
    }

    /// One row of ``softmaxBackward(_:_:)`` (output may alias `g`).
    @inline(__always)
    static func softmaxRowBackward(
        _ y: UnsafePointer<Float>, _ g: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ n: Int
    ) {
        clip_softmax_row_backward(y, g, out, n)
    }
}
