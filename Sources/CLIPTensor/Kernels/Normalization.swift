import CTensorKernels
import Foundation

// Normalisation layers (inference).
//   B batch, C channels, S spatial positions (H·W), N normalised width (last dimension)

extension Tensor {
    /// Layer normalisation over the last dimension: (x − mean) / √(var + eps) · weight + bias,
    /// with the biased variance, as PyTorch's `nn.LayerNorm`.
    public static func layerNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Float = 1e-5) -> Tensor {
        layerNormWithStatistics(x, weight: weight, bias: bias, eps: eps).y
    }

    /// ``layerNorm(_:weight:bias:eps:)`` that also returns each row's mean and 1/√(var + eps),
    /// (rows) each, which the backward pass reuses. Row statistics are summed in Double
    /// (Sources/CTensorKernels/clip_kernels.c).
    public static func layerNormWithStatistics(_ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Float = 1e-5)
        -> (y: Tensor, mean: Tensor, inverseStd: Tensor)
    {
        let n = x.size(-1)
        if let weight { precondition(weight.shape == [n], "layerNorm: weight \(weight.shape) for input \(x.shape)") }
        if let bias { precondition(bias.shape == [n], "layerNorm: bias \(bias.shape) for input \(x.shape)") }
        let src = x.contiguous()
        let out = Tensor(uninitializedShape: x.shape)
        let rows = x.count / max(n, 1)
        let mean = Tensor(uninitializedShape: [rows]), inverseStd = Tensor(uninitializedShape: [rows])
        let w = weight?.contiguous(), b = bias?.contiguous()
        let s = SendablePointer(src.baseAddress), d = SendablePointer(out.baseAddress)
        let mp = SendablePointer(mean.baseAddress), rp = SendablePointer(inverseStd.baseAddress)
        let wp = w.map { SendablePointer($0.baseAddress) }, bp = b.map { SendablePointer($0.baseAddress) }
        Parallel.forEach(rows, grain: max(1, 16_384 / max(n, 1))) { range in
            let r = range.lowerBound
            clip_layer_norm_rows(
                s.pointer + r * n, wp?.pointer, bp?.pointer, d.pointer + r * n, mp.pointer + r, rp.pointer + r,
                range.count, n, eps)
        }
        withExtendedLifetime((src, w, b)) {}
        return (out, mean, inverseStd)
    }

    /// Batch normalisation with running statistics (inference) on (B, C, …):
    /// (x − runningMean) / √(runningVar + eps) · weight + bias per channel.
    public static func batchNormInference(
        _ x: Tensor, runningMean: Tensor, runningVar: Tensor,
        weight: Tensor?, bias: Tensor?, eps: Float = 1e-5
    ) -> Tensor {
        precondition(x.rank >= 2, "batchNorm needs (B, C, …), got \(x.shape)")
        let c = x.shape[1]
        precondition(
            runningMean.shape == [c] && runningVar.shape == [c],
            "batchNorm: statistics \(runningMean.shape)/\(runningVar.shape) for input \(x.shape)")
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
    /// ∂L/∂x, ∂L/∂weight, ∂L/∂bias of `layerNorm` from the forward row statistics:
    /// ∂x = rstd · (∂x̂ − mean(∂x̂) − x̂ · mean(∂x̂ · x̂)) with ∂x̂ = g · weight;
    /// ∂weight = Σ_rows g · x̂, ∂bias = Σ_rows g (Double partials per block of 64 rows, added in
    /// block order, so the result does not depend on the thread count).
    public static func layerNormBackward(_ x: Tensor, weight: Tensor?, g: Tensor, mean: Tensor, inverseStd: Tensor)
        -> (dx: Tensor, dWeight: Tensor?, dBias: Tensor?)
    {
        let n = x.size(-1), rows = x.count / max(n, 1)
        precondition(
            mean.count == rows && inverseStd.count == rows,
            "layerNormBackward: statistics for \(mean.count) rows, input \(x.shape)")
        let xc = x.contiguous(), gc = g.contiguous()
        let dx = Tensor(uninitializedShape: x.shape)
        let w = weight?.contiguous()
        let blockRows = 64, blocks = (rows + blockRows - 1) / blockRows
        // Per block: n partial sums for ∂weight, then n for ∂bias.
        let partials = weight == nil ? nil : UnsafeMutablePointer<Double>.allocate(capacity: max(1, blocks * 2 * n))
        partials?.initialize(repeating: 0, count: max(1, blocks * 2 * n))
        defer { partials?.deallocate() }
        let xp = SendablePointer(xc.baseAddress), gp = SendablePointer(gc.baseAddress),
            dp = SendablePointer(dx.baseAddress)
        let mp = SendablePointer(mean.contiguous().baseAddress),
            rp = SendablePointer(inverseStd.contiguous().baseAddress)
        let wp = w.map { SendablePointer($0.baseAddress) }, pp = partials.map { SendablePointer($0) }
        Parallel.forEach(blocks, grain: max(1, 16_384 / max(n * blockRows, 1))) { range in
            for block in range {
                let r0 = block * blockRows, r1 = min(rows, r0 + blockRows)
                let dW = pp.map { $0.pointer + block * 2 * n }
                clip_layer_norm_backward_rows(
                    xp.pointer + r0 * n, wp?.pointer, gp.pointer + r0 * n, mp.pointer + r0, rp.pointer + r0,
                    dp.pointer + r0 * n, dW, dW.map { $0 + n }, r1 - r0, n)
            }
        }
        withExtendedLifetime((xc, gc, w, mean, inverseStd)) {}
        guard let partials else { return (dx, nil, nil) }
        let dWeight = Tensor(uninitializedShape: [n]), dBias = Tensor(uninitializedShape: [n])
        for i in 0..<n {
            var a = 0.0, b = 0.0
            for block in 0..<blocks {
                a += partials[block * 2 * n + i]
                b += partials[block * 2 * n + n + i]
            }
            dWeight.baseAddress[i] = Float(a)
            dBias.baseAddress[i] = Float(b)
        }
        return (dx, dWeight, dBias)
    }

    /// Batch norm with batch statistics over (B, …) per channel, as PyTorch's `BatchNorm2d`
    /// in training mode. Returns y and what the backward pass and the running-statistics
    /// update need. Channels run in parallel; each channel's sums are Doubles in a fixed order.
    public static func batchNormTraining(_ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Float = 1e-5)
        -> (y: Tensor, saved: BatchNormSaved)
    {
        let (b, c) = (x.shape[0], x.shape[1])
        let spatial = x.count / max(b * c, 1), count = Double(b * spatial)
        let xc = x.contiguous()
        let statistics = UnsafeMutablePointer<Float>.allocate(capacity: 3 * c)  // mean, variance, 1/std
        defer { statistics.deallocate() }
        let normalized = Tensor(uninitializedShape: x.shape), y = Tensor(uninitializedShape: x.shape)
        let w = weight?.scalars, bb = bias?.scalars
        let xp = SendablePointer(xc.baseAddress), np = SendablePointer(normalized.baseAddress),
            yp = SendablePointer(y.baseAddress)
        let sp = SendablePointer(statistics)
        Parallel.forEach(c, grain: max(1, 16_384 / max(b * spatial, 1))) { range in
            for ch in range {
                var sum = 0.0
                for n in 0..<b { sum += clip_sum_f64(xp.pointer + (n * c + ch) * spatial, spatial) }
                let mean = sum / count
                var sq = 0.0
                for n in 0..<b { sq += clip_squared_deviation_f64(xp.pointer + (n * c + ch) * spatial, spatial, mean) }
                let m = Float(mean), r = Float(1 / (sq / count + Double(eps)).squareRoot())
                sp.pointer[ch] = m
                sp.pointer[c + ch] = Float(sq / count)
                sp.pointer[2 * c + ch] = r
                let (gw, gb) = (w?[ch] ?? 1, bb?[ch] ?? 0)
                for n in 0..<b {
                    let off = (n * c + ch) * spatial
                    for i in 0..<spatial {
                        let v = (xp.pointer[off + i] - m) * r
                        np.pointer[off + i] = v
                        yp.pointer[off + i] = v * gw + gb
                    }
                }
            }
        }
        withExtendedLifetime(xc) {}
        let mean = Array(UnsafeBufferPointer(start: statistics, count: c))
        let variance = Array(UnsafeBufferPointer(start: statistics + c, count: c))
        let inverseStd = Array(UnsafeBufferPointer(start: statistics + 2 * c, count: c))
        return (y, BatchNormSaved(normalized: normalized, inverseStd: inverseStd, mean: mean, variance: variance))
    }

    /// Gradients of training-mode batch norm:
    /// ∂x = rstd/N · (N·∂x̂ − Σ∂x̂ − x̂·Σ(∂x̂·x̂)) with ∂x̂ = g·γ; ∂γ = Σ g·x̂; ∂β = Σ g.
    /// Channels run in parallel; each channel's sums are Doubles in a fixed order.
    public static func batchNormTrainingBackward(saved: BatchNormSaved, weight: Tensor?, g: Tensor)
        -> (dx: Tensor, dWeight: Tensor?, dBias: Tensor?)
    {
        let xhat = saved.normalized
        let (b, c) = (xhat.shape[0], xhat.shape[1])
        let spatial = xhat.count / max(b * c, 1), count = Float(b * spatial)
        let gc = g.contiguous()
        let w = weight?.scalars
        let dW = Tensor(uninitializedShape: [c]), dB = Tensor(uninitializedShape: [c])
        let dx = Tensor(uninitializedShape: xhat.shape)
        let gp = SendablePointer(gc.baseAddress), xp = SendablePointer(xhat.baseAddress),
            dp = SendablePointer(dx.baseAddress)
        let dWp = SendablePointer(dW.baseAddress), dBp = SendablePointer(dB.baseAddress)
        let inverseStd = saved.inverseStd
        Parallel.forEach(c, grain: max(1, 16_384 / max(b * spatial, 1))) { range in
            for ch in range {
                var sumG = 0.0, sumGX = 0.0
                for n in 0..<b {
                    let off = (n * c + ch) * spatial
                    sumG += clip_sum_f64(gp.pointer + off, spatial)
                    sumGX += clip_dot_f64(gp.pointer + off, xp.pointer + off, spatial)
                }
                dWp.pointer[ch] = Float(sumGX)
                dBp.pointer[ch] = Float(sumG)
                let gamma = w?[ch] ?? 1, r = inverseStd[ch]
                let meanD = Float(sumG) * gamma / count, meanDX = Float(sumGX) * gamma / count
                for n in 0..<b {
                    let off = (n * c + ch) * spatial
                    for i in 0..<spatial {
                        dp.pointer[off + i] = r * (gp.pointer[off + i] * gamma - meanD - xp.pointer[off + i] * meanDX)
                    }
                }
            }
        }
        withExtendedLifetime(gc) {}
        return (dx, weight == nil ? nil : dW, weight == nil ? nil : dB)
    }

    /// ∂L/∂x of `l2Normalized` from input x and output y: (g − y·(g·y)) / max(‖x‖, eps).
    public static func l2NormalizedBackward(_ x: Tensor, _ y: Tensor, _ g: Tensor, eps: Float = 1e-12) -> Tensor {
        let n = x.size(-1), rows = x.count / max(n, 1)
        let xc = x.contiguous(), yc = y.contiguous(), gc = g.contiguous()
        let dx = Tensor(uninitializedShape: x.shape)
        for r in 0..<rows {
            let xr = xc.baseAddress + r * n, yr = yc.baseAddress + r * n, gr = gc.baseAddress + r * n,
                dr = dx.baseAddress + r * n
            var sq = 0.0, dot = 0.0
            for i in 0..<n {
                sq += Double(xr[i]) * Double(xr[i])
                dot += Double(gr[i]) * Double(yr[i])
            }
            let norm = max(Float(sq.squareRoot()), eps)
            for i in 0..<n { dr[i] = (gr[i] - yr[i] * Float(dot)) / norm }
        }
        return dx
    }
}
