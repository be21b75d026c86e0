// 2-D convolution as im2col + GEMM (groups = 1, dilation = 1), PyTorch `F.conv2d` semantics.
//   B batch, Ci/Co input/output channels, H×W input, Ho×Wo output, kh×kw kernel,
//   K = Ci·kh·kw (GEMM depth), S = Ho·Wo (GEMM width)

extension Tensor {
    /// Output size of a convolution or pooling window along one axis.
    public static func convOutputSize(_ input: Int, kernel: Int, stride: Int, padding: Int) -> Int {
        (input + 2 * padding - kernel) / stride + 1
    }

    /// Convolution of x (B, Ci, H, W) with weight (Co, Ci, kh, kw) and optional bias (Co).
    public static func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor? = nil,
                              stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0)) -> Tensor {
        precondition(x.rank == 4 && weight.rank == 4, "conv2d needs x (B, C, H, W) and weight (Co, Ci, kh, kw), got \(x.shape) and \(weight.shape)")
        let (b, ci, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (co, kh, kw) = (weight.shape[0], weight.shape[2], weight.shape[3])
        precondition(weight.shape[1] == ci, "conv2d: input \(x.shape) has \(ci) channels, weight \(weight.shape) expects \(weight.shape[1])")
        if let bias { precondition(bias.shape == [co], "conv2d: bias \(bias.shape) for weight \(weight.shape)") }
        let ho = convOutputSize(h, kernel: kh, stride: stride.0, padding: padding.0)
        let wo = convOutputSize(w, kernel: kw, stride: stride.1, padding: padding.1)
        precondition(ho > 0 && wo > 0, "conv2d: input \(x.shape) too small for kernel \(kh)×\(kw), stride \(stride), padding \(padding)")
        let k = ci * kh * kw, s = ho * wo
        let input = x.contiguous()
        let weight2 = weight.contiguous().reshaped([co, k])                 // (Co, K)
        let out = Tensor(uninitializedShape: [b, co, ho, wo])
        let pointwise = kh == 1 && kw == 1 && stride == (1, 1) && padding == (0, 0)
        // Images per GEMM: small outputs (e.g. 7×7 maps, ViT patch grids) are grouped so the
        // GEMM is wide enough for BLAS to run near peak; large maps go one image at a time.
        let group = max(1, min(b, (512 + s - 1) / s, max(1, (1 << 24) / max(k * s, 1))))
        let columns = (pointwise && group == 1) ? nil : Tensor(uninitializedShape: [k, group * s])   // (K, G·S)
        let staging = group > 1 ? Tensor(uninitializedShape: [co, group * s]) : nil                   // (Co, G·S)
        let biasValues = bias?.scalars
        var first = 0
        while first < b {
            let g = min(group, b - first)
            let colView: Tensor
            if let columns {
                for i in 0..<g {
                    let image = input.baseAddress + (first + i) * ci * h * w   // (Ci, H, W)
                    im2col(image, channels: ci, height: h, width: w, kernel: (kh, kw), stride: stride, padding: padding,
                           outHeight: ho, outWidth: wo, into: columns.baseAddress + i * s, rowStride: group * s)
                }
                colView = Tensor(storage: columns.storage, shape: [k, g * s], strides: [group * s, 1])
            } else {
                colView = Tensor(storage: input.storage, shape: [k, s], strides: [s, 1], offset: input.offset + first * ci * h * w)
            }
            // GEMM target: straight into the output for one image, else a (Co, G·S) staging block.
            let target = staging?.baseAddress ?? (out.baseAddress + first * co * s)
            let ldc = staging == nil ? s : group * s
            var beta: Float = 0
            if let biasValues {
                for c in 0..<co { (target + c * ldc).update(repeating: biasValues[c], count: g * s) }
                beta = 1
            }
            sgemm(GEMMOperand(weight2), GEMMOperand(colView), m: co, n: g * s, k: k, c: target, ldc: ldc, beta: beta)
            if staging != nil {
                // (Co, G, S) → (G, Co, S)
                let src = SendablePointer(target), dst = SendablePointer(out.baseAddress + first * co * s)
                Parallel.forEach(g * co, grain: max(1, 8192 / max(s, 1))) { range in
                    for r in range {
                        let i = r / co, c = r % co
                        (dst.pointer + (i * co + c) * s).update(from: src.pointer + c * ldc + i * s, count: s)
                    }
                }
            }
            first += g
        }
        return out
    }

    /// Unfolds the windows of one image (Ci, H, W) into columns (Ci·kh·kw, Ho·Wo) whose rows
    /// are `rowStride` apart (so several images can sit side by side); zero padding.
    static func im2col(_ image: UnsafeMutablePointer<Float>, channels: Int, height: Int, width: Int,
                       kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int),
                       outHeight: Int, outWidth: Int, into columns: UnsafeMutablePointer<Float>, rowStride: Int) {
        let (kh, kw) = kernel
        let rows = channels * kh * kw
        let src = SendablePointer(image), dst = SendablePointer(columns)
        let s = outHeight * outWidth
        Parallel.forEach(rows, grain: max(1, 16_384 / max(s, 1))) { range in
            for row in range {
                let c = row / (kh * kw), i = (row / kw) % kh, j = row % kw
                let plane = src.pointer + c * height * width
                let out = dst.pointer + row * rowStride
                for oy in 0..<outHeight {
                    let y = oy * stride.0 - padding.0 + i
                    let line = out + oy * outWidth
                    if y < 0 || y >= height {
                        line.update(repeating: 0, count: outWidth)
                        continue
                    }
                    let srcLine = plane + y * width
                    for ox in 0..<outWidth {
                        let x = ox * stride.1 - padding.1 + j
                        line[ox] = (x >= 0 && x < width) ? srcLine[x] : 0
                    }
                }
            }
        }
    }
}

// MARK: - Backward (g = ∂L/∂y, (B, Co, Ho, Wo))

extension Tensor {
    /// Gradients of `conv2d`: ∂W = Σ_images g · colᵀ, ∂x = col2im(Wᵀ · g), ∂b = Σ g.
    public static func conv2dBackward(x: Tensor, weight: Tensor, g: Tensor, stride: (Int, Int), padding: (Int, Int),
                                      needsInput: Bool = true, needsBias: Bool = false)
        -> (dx: Tensor?, dWeight: Tensor, dBias: Tensor?) {
        let (b, ci, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (co, kh, kw) = (weight.shape[0], weight.shape[2], weight.shape[3])
        let (ho, wo) = (g.shape[2], g.shape[3])
        let k = ci * kh * kw, s = ho * wo
        let input = x.contiguous(), grad = g.contiguous()
        let weight2 = weight.contiguous().reshaped([co, k])                        // (Co, K)
        let dW = Tensor(zeros: [co, k])
        let dx = needsInput ? Tensor(zeros: x.shape) : nil
        let columns = Tensor(uninitializedShape: [k, s])                           // (K, S)
        let dColumns = needsInput ? Tensor(uninitializedShape: [k, s]) : nil
        for n in 0..<b {
            im2col(input.baseAddress + n * ci * h * w, channels: ci, height: h, width: w, kernel: (kh, kw), stride: stride,
                   padding: padding, outHeight: ho, outWidth: wo, into: columns.baseAddress, rowStride: s)
            let gImage = Tensor(storage: grad.storage, shape: [co, s], strides: [s, 1], offset: grad.offset + n * co * s)   // (Co, S)
            sgemm(GEMMOperand(gImage), GEMMOperand(columns.transposed(0, 1)), m: co, n: k, k: s, c: dW.baseAddress, ldc: k, beta: 1)
            if let dx, let dColumns {
                sgemm(GEMMOperand(weight2.transposed(0, 1)), GEMMOperand(gImage), m: k, n: s, k: co, c: dColumns.baseAddress, ldc: s)
                col2im(dColumns.baseAddress, channels: ci, height: h, width: w, kernel: (kh, kw), stride: stride, padding: padding,
                       outHeight: ho, outWidth: wo, into: dx.baseAddress + n * ci * h * w)
            }
        }
        let dB = needsBias ? sum(sum(grad.reshaped([b, co, s]), dim: 2), dim: 0) : nil
        return (dx, dW.reshaped(weight.shape), dB)
    }

    /// Adds columns (Ci·kh·kw, Ho·Wo) back into an image (Ci, H, W): the adjoint of `im2col`.
    /// Parallel over channels, so no two threads write the same pixel.
    static func col2im(_ columns: UnsafeMutablePointer<Float>, channels: Int, height: Int, width: Int,
                       kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int),
                       outHeight: Int, outWidth: Int, into image: UnsafeMutablePointer<Float>) {
        let (kh, kw) = kernel
        let s = outHeight * outWidth
        let src = SendablePointer(columns), dst = SendablePointer(image)
        Parallel.forEach(channels, grain: max(1, 4096 / max(s * kh * kw, 1))) { range in
            for c in range {
                let plane = dst.pointer + c * height * width
                for i in 0..<kh { for j in 0..<kw {
                    let row = src.pointer + ((c * kh + i) * kw + j) * s
                    for oy in 0..<outHeight {
                        let y = oy * stride.0 - padding.0 + i
                        if y < 0 || y >= height { continue }
                        for ox in 0..<outWidth {
                            let xx = ox * stride.1 - padding.1 + j
                            if xx >= 0 && xx < width { plane[y * width + xx] += row[oy * outWidth + ox] }
                        }
                    }
                } }
            }
        }
    }
}
