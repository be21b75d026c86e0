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
                let (m, rstd) = rowStatistics(xr, n, eps: eps)
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

    /// Mean and 1/√(biased variance + eps) of one row, in two Double passes (accurate for
    /// wide rows); shared by the layer-norm forward and backward passes.
    @inline(__always)
    static func rowStatistics(_ x: UnsafePointer<Float>, _ n: Int, eps: Float) -> (mean: Float, inverseStd: Float) {
        var sum = 0.0
        for i in 0..<n { sum += Double(x[i]) }
        let mean = sum / Double(n)
        var sq = 0.0
        for i in 0..<n { let c = Double(x[i]) - mean; sq += c * c }
        return (Float(mean), Float(1 / (sq / Double(n) + Double(eps)).squareRoot()))
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

// MARK: - Training-mode batch norm and backward passes (g = ∂L/∂y)

/// What batch norm in training mode needs to keep for its backward pass.
public struct BatchNormSaved: Sendable {
    /// Normalised input x̂ = (x − μ) / √(σ² + eps), (B, C, …).
    public let normalized: Tensor
    /// 1 / √(σ² + eps) per channel.
    public let inverseStd: [Float]
    /// Batch mean and biased variance per channel (the running statistics are updated from them).
    public let mean: [Float], variance: [Float]
}

extension Tensor {
    /// ∂L/∂x, ∂L/∂weight, ∂L/∂bias of `layerNorm` (statistics recomputed from x):
    /// ∂x = rstd · (∂x̂ − mean(∂x̂) − x̂ · mean(∂x̂ · x̂)) with ∂x̂ = g · weight;
    /// ∂weight = Σ_rows g · x̂, ∂bias = Σ_rows g (per-thread Double partials, then summed).
    public static func layerNormBackward(_ x: Tensor, weight: Tensor?, g: Tensor, eps: Float = 1e-5)
        -> (dx: Tensor, dWeight: Tensor?, dBias: Tensor?) {
        let n = x.size(-1), rows = x.count / max(n, 1)
        let xc = x.contiguous(), gc = g.contiguous()
        let dx = Tensor(uninitializedShape: x.shape)
        let w = weight?.contiguous()
        let chunks = max(1, min(Parallel.threadCount, rows))
        // Per chunk: n partial sums for ∂weight, n for ∂bias, and 2n of scratch (x̂, ∂x̂).
        let scratch = UnsafeMutablePointer<Double>.allocate(capacity: chunks * 2 * n)
        scratch.initialize(repeating: 0, count: chunks * 2 * n)
        let rowScratch = UnsafeMutablePointer<Float>.allocate(capacity: chunks * 2 * n)
        defer { scratch.deallocate(); rowScratch.deallocate() }
        let xp = SendablePointer(xc.baseAddress), gp = SendablePointer(gc.baseAddress), dp = SendablePointer(dx.baseAddress)
        let wp = w.map { SendablePointer($0.baseAddress) }
        let sp = SendablePointer(scratch), rp = SendablePointer(rowScratch)
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            let dW = sp.pointer + chunk * 2 * n, dB = dW + n
            let xhat = rp.pointer + chunk * 2 * n, dxhat = xhat + n
            for r in (rows * chunk / chunks)..<(rows * (chunk + 1) / chunks) {
                let xr = xp.pointer + r * n, gr = gp.pointer + r * n, dr = dp.pointer + r * n
                let (m, rstd) = rowStatistics(xr, n, eps: eps)
                var meanD: Float = 0, meanDX: Float = 0
                for i in 0..<n {
                    let xh = (xr[i] - m) * rstd
                    let d = gr[i] * (wp?.pointer[i] ?? 1)
                    xhat[i] = xh
                    dxhat[i] = d
                    meanD += d
                    meanDX += d * xh
                    dW[i] += Double(gr[i] * xh)
                    dB[i] += Double(gr[i])
                }
                meanD /= Float(n)
                meanDX /= Float(n)
                for i in 0..<n { dr[i] = rstd * (dxhat[i] - meanD - xhat[i] * meanDX) }
            }
        }
        guard weight != nil else { return (dx, nil, nil) }
        let dWeight = Tensor(uninitializedShape: [n]), dBias = Tensor(uninitializedShape: [n])
        for i in 0..<n {
            var a = 0.0, b = 0.0
            for c in 0..<chunks { a += scratch[c * 2 * n + i]; b += scratch[c * 2 * n + n + i] }
            dWeight.baseAddress[i] = Float(a)
            dBias.baseAddress[i] = Float(b)
        }
        return (dx, dWeight, dBias)
    }

    /// Batch norm with batch statistics over (B, …) per channel, as PyTorch's `BatchNorm2d`
    /// in training mode. Returns y and what the backward pass and the running-statistics
    /// update need.
    public static func batchNormTraining(_ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Float = 1e-5)
        -> (y: Tensor, saved: BatchNormSaved) {
        let (b, c) = (x.shape[0], x.shape[1])
        let spatial = x.count / max(b * c, 1), count = Double(b * spatial)
        let xc = x.contiguous()
        var mean = [Float](repeating: 0, count: c), variance = mean, inverseStd = mean
        for ch in 0..<c {
            var s = 0.0
            for n in 0..<b { let p = xc.baseAddress + (n * c + ch) * spatial; for i in 0..<spatial { s += Double(p[i]) } }
            let m = s / count
            var sq = 0.0
            for n in 0..<b { let p = xc.baseAddress + (n * c + ch) * spatial; for i in 0..<spatial { let d = Double(p[i]) - m; sq += d * d } }
            mean[ch] = Float(m)
            variance[ch] = Float(sq / count)
            inverseStd[ch] = Float(1 / (sq / count + Double(eps)).squareRoot())
        }
        let normalized = Tensor(uninitializedShape: x.shape), y = Tensor(uninitializedShape: x.shape)
        let w = weight?.scalars, bb = bias?.scalars
        for n in 0..<b { for ch in 0..<c {
            let off = (n * c + ch) * spatial
            let (m, r, gw, gb) = (mean[ch], inverseStd[ch], w?[ch] ?? 1, bb?[ch] ?? 0)
            for i in 0..<spatial {
                let v = (xc.baseAddress[off + i] - m) * r
                normalized.baseAddress[off + i] = v
                y.baseAddress[off + i] = v * gw + gb
            }
        } }
        return (y, BatchNormSaved(normalized: normalized, inverseStd: inverseStd, mean: mean, variance: variance))
    }

    /// Gradients of training-mode batch norm:
    /// ∂x = rstd/N · (N·∂x̂ − Σ∂x̂ − x̂·Σ(∂x̂·x̂)) with ∂x̂ = g·γ; ∂γ = Σ g·x̂; ∂β = Σ g.
    public static func batchNormTrainingBackward(saved: BatchNormSaved, weight: Tensor?, g: Tensor)
        -> (dx: Tensor, dWeight: Tensor?, dBias: Tensor?) {
        let xhat = saved.normalized
        let (b, c) = (xhat.shape[0], xhat.shape[1])
        let spatial = xhat.count / max(b * c, 1), count = Float(b * spatial)
        let gc = g.contiguous()
        let w = weight?.scalars
        var dW = [Float](repeating: 0, count: c), dB = dW
        let dx = Tensor(uninitializedShape: xhat.shape)
        for ch in 0..<c {
            var sumG = 0.0, sumGX = 0.0
            for n in 0..<b {
                let off = (n * c + ch) * spatial
                for i in 0..<spatial { sumG += Double(gc.baseAddress[off + i]); sumGX += Double(gc.baseAddress[off + i] * xhat.baseAddress[off + i]) }
            }
            dW[ch] = Float(sumGX)
            dB[ch] = Float(sumG)
            let gamma = w?[ch] ?? 1, r = saved.inverseStd[ch]
            let meanD = Float(sumG) * gamma / count, meanDX = Float(sumGX) * gamma / count
            for n in 0..<b {
                let off = (n * c + ch) * spatial
                for i in 0..<spatial {
                    dx.baseAddress[off + i] = r * (gc.baseAddress[off + i] * gamma - meanD - xhat.baseAddress[off + i] * meanDX)
                }
            }
        }
        return (dx, weight == nil ? nil : Tensor(shape: [c], scalars: dW), weight == nil ? nil : Tensor(shape: [c], scalars: dB))
    }

    /// ∂L/∂x of `l2Normalized` from input x and output y: (g − y·(g·y)) / max(‖x‖, eps).
    public static func l2NormalizedBackward(_ x: Tensor, _ y: Tensor, _ g: Tensor, eps: Float = 1e-12) -> Tensor {
        let n = x.size(-1), rows = x.count / max(n, 1)
        let xc = x.contiguous(), yc = y.contiguous(), gc = g.contiguous()
        let dx = Tensor(uninitializedShape: x.shape)
        for r in 0..<rows {
            let xr = xc.baseAddress + r * n, yr = yc.baseAddress + r * n, gr = gc.baseAddress + r * n, dr = dx.baseAddress + r * n
            var sq = 0.0, dot = 0.0
            for i in 0..<n { sq += Double(xr[i]) * Double(xr[i]); dot += Double(gr[i]) * Double(yr[i]) }
            let norm = max(Float(sq.squareRoot()), eps)
            for i in 0..<n { dr[i] = (gr[i] - yr[i] * Float(dot)) / norm }
        }
        return dx
    }
}
