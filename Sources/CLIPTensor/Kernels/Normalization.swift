import Foundation

// Normalisation layers (inference).
//   B batch, C channels, S spatial positions (H·W), N normalised width (last dimension)

extension Tensor {
    /// Layer normalisation over the last dimension: (x − mean) / √(var + eps) · weight + bias,
    /// with the biased variance, as PyTorch's `nn.LayerNorm`.
    public static func layerNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Float = 1e-5) -> Tensor {
        let n = x.size(-1)
        if let weight { precondition(weight.shape == [n], "layerNorm: weight \(weight.shape) for input \(x.shape)") }
        if let bias { precondition(bias.shape == [n], "layerNorm: bias \(bias.shape) for input \(x.shape)") }
        let src = x.contiguous()
        let out = Tensor(uninitializedShape: x.shape)
        let rows = x.count / max(n, 1)
        let s = SendablePointer(src.baseAddress), d = SendablePointer(out.baseAddress)
        let w = weight.map { SendablePointer($0.contiguous().baseAddress) }
        let b = bias.map { SendablePointer($0.contiguous().baseAddress) }
        let keep = (weight?.contiguous(), bias?.contiguous())
        Parallel.forEach(rows, grain: max(1, 8192 / max(n, 1))) { range in
            for r in range {
                let xr = s.pointer + r * n, yr = d.pointer + r * n
                // Two passes in Double keep the statistics accurate for wide rows.
                var sum = 0.0
                for i in 0..<n { sum += Double(xr[i]) }
                let mean = sum / Double(n)
                var sq = 0.0
                for i in 0..<n { let c = Double(xr[i]) - mean; sq += c * c }
                let rstd = Float(1 / (sq / Double(n) + Double(eps)).squareRoot())
                let m = Float(mean)
                for i in 0..<n {
                    var v = (xr[i] - m) * rstd
                    if let w { v *= w.pointer[i] }
                    if let b { v += b.pointer[i] }
                    yr[i] = v
                }
            }
        }
        withExtendedLifetime(keep) {}
        return out
    }

    /// Batch normalisation with running statistics (inference) on (B, C, …):
    /// (x − runningMean) / √(runningVar + eps) · weight + bias per channel.
    public static func batchNormInference(_ x: Tensor, runningMean: Tensor, runningVar: Tensor,
                                          weight: Tensor?, bias: Tensor?, eps: Float = 1e-5) -> Tensor {
        precondition(x.rank >= 2, "batchNorm needs (B, C, …), got \(x.shape)")
        let c = x.shape[1]
        precondition(runningMean.shape == [c] && runningVar.shape == [c], "batchNorm: statistics \(runningMean.shape)/\(runningVar.shape) for input \(x.shape)")
        let mean = runningMean.scalars, variance = runningVar.scalars
        let w = weight?.scalars ?? [Float](repeating: 1, count: c)
        let b = bias?.scalars ?? [Float](repeating: 0, count: c)
        // Fold into one scale and shift per channel: y = x · scale + shift.
        var scale = [Float](repeating: 0, count: c), shift = [Float](repeating: 0, count: c)
        for i in 0..<c {
            scale[i] = w[i] / (variance[i] + eps).squareRoot()
            shift[i] = b[i] - mean[i] * scale[i]
        }
        let src = x.contiguous()
        let out = Tensor(uninitializedShape: x.shape)
        let spatial = x.count / max(x.shape[0] * c, 1)
        let planes = x.shape[0] * c
        let s = SendablePointer(src.baseAddress), d = SendablePointer(out.baseAddress)
        let scaleCopy = scale, shiftCopy = shift
        Parallel.forEach(planes, grain: max(1, 16_384 / max(spatial, 1))) { range in
            for p in range {
                let ch = p % c
                let a = scaleCopy[ch], t = shiftCopy[ch]
                let xr = s.pointer + p * spatial, yr = d.pointer + p * spatial
                for i in 0..<spatial { yr[i] = xr[i] * a + t }
            }
        }
        return out
    }

    /// Divides each row (last dimension) by its Euclidean norm, clamped below by `eps`
    /// (PyTorch `F.normalize`; for non-zero rows identical to `x / x.norm(dim=-1)`).
    public static func l2Normalized(_ x: Tensor, eps: Float = 1e-12) -> Tensor {
        let n = x.size(-1)
        let src = x.contiguous()
        let out = Tensor(uninitializedShape: x.shape)
        let rows = x.count / max(n, 1)
        let s = SendablePointer(src.baseAddress), d = SendablePointer(out.baseAddress)
        Parallel.forEach(rows, grain: max(1, 8192 / max(n, 1))) { range in
            for r in range {
                let xr = s.pointer + r * n, yr = d.pointer + r * n
                var sq = 0.0
                for i in 0..<n { sq += Double(xr[i]) * Double(xr[i]) }
                let inv = 1 / max(Float(sq.squareRoot()), eps)
                for i in 0..<n { yr[i] = xr[i] * inv }
            }
        }
        return out
    }
}
