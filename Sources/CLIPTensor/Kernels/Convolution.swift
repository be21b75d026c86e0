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
        let columns = pointwise ? nil : Tensor(uninitializedShape: [k, s])   // (K, S), reused per image
        for n in 0..<b {
            let image = input.baseAddress + n * ci * h * w                   // (Ci, H, W)
            let colView: Tensor
            if let columns {
                im2col(image, channels: ci, height: h, width: w, kernel: (kh, kw), stride: stride,
                       padding: padding, outHeight: ho, outWidth: wo, into: columns.baseAddress)
                colView = columns
            } else {
                colView = Tensor(storage: input.storage, shape: [k, s], strides: [s, 1], offset: input.offset + n * ci * h * w)
            }
            let outImage = out.baseAddress + n * co * s                         // (Co, S)
            var beta: Float = 0
            if let bias {
                let bv = bias.scalars
                for c in 0..<co { (outImage + c * s).update(repeating: bv[c], count: s) }
                beta = 1
            }
            sgemm(GEMMOperand(weight2), GEMMOperand(colView), m: co, n: s, k: k, c: outImage, ldc: s, beta: beta)
        }
        return out
    }

    /// Unfolds the windows of one image (Ci, H, W) into columns (Ci·kh·kw, Ho·Wo); zero padding.
    static func im2col(_ image: UnsafeMutablePointer<Float>, channels: Int, height: Int, width: Int,
                       kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int),
                       outHeight: Int, outWidth: Int, into columns: UnsafeMutablePointer<Float>) {
        let (kh, kw) = kernel
        let rows = channels * kh * kw
        let src = SendablePointer(image), dst = SendablePointer(columns)
        let s = outHeight * outWidth
        Parallel.forEach(rows, grain: max(1, 16_384 / max(s, 1))) { range in
            for row in range {
                let c = row / (kh * kw), i = (row / kw) % kh, j = row % kw
                let plane = src.pointer + c * height * width
                let out = dst.pointer + row * s
                for oy in 0..<outHeight {
                    let y = oy * stride.0 - padding.0 + i
                    let line = out + oy * outWidth
                    if y < 0 || y >= height {
                        line.update(repeating: 0, count: outWidth)
                        continue
                    }
                    let srcLine = plane + y * width
                    if stride.1 == 1 {
                        // Contiguous run: copy the in-bounds part, zero the padding.
                        let x0 = j - padding.1
                        for ox in 0..<outWidth {
                            let x = x0 + ox
                            line[ox] = (x >= 0 && x < width) ? srcLine[x] : 0
                        }
                    } else {
                        for ox in 0..<outWidth {
                            let x = ox * stride.1 - padding.1 + j
                            line[ox] = (x >= 0 && x < width) ? srcLine[x] : 0
                        }
                    }
                }
            }
        }
    }
}
