// Spatial pooling on (B, C, H, W).
//   B batch, C channels, H×W input, Ho×Wo output

extension Tensor {
    /// Average pooling with a square-or-rectangular window, no padding, floor mode
    /// (PyTorch `nn.AvgPool2d(kernel, stride)`).
    public static func avgPool2d(_ x: Tensor, kernel: (Int, Int), stride: (Int, Int)? = nil) -> Tensor {
        precondition(x.rank == 4, "avgPool2d needs (B, C, H, W), got \(x.shape)")
        let stride = stride ?? kernel
        let (b, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let ho = convOutputSize(h, kernel: kernel.0, stride: stride.0, padding: 0)
        let wo = convOutputSize(w, kernel: kernel.1, stride: stride.1, padding: 0)
        precondition(ho > 0 && wo > 0, "avgPool2d: input \(x.shape) smaller than window \(kernel)")
        let src = x.contiguous()
        let out = Tensor(uninitializedShape: [b, c, ho, wo])
        let s = SendablePointer(src.baseAddress), d = SendablePointer(out.baseAddress)
        let inv = 1 / Float(kernel.0 * kernel.1)
        let halving = kernel == (2, 2) && stride == (2, 2)
        Parallel.forEach(b * c, grain: max(1, 4096 / max(h * w, 1))) { range in
            for p in range {
                let plane = s.pointer + p * h * w, o = d.pointer + p * ho * wo
                if halving {
                    // ModifiedResNet's 2 × 2 pools: the general loop's additions in its order,
                    // unrolled so that the compiler vectorises across ox.
                    for oy in 0..<ho {
                        let r0 = plane + 2 * oy * w, r1 = r0 + w, line = o + oy * wo
                        for ox in 0..<wo {
                            var sum: Float = 0
                            sum += r0[2 * ox]
                            sum += r0[2 * ox + 1]
                            sum += r1[2 * ox]
                            sum += r1[2 * ox + 1]
                            line[ox] = sum * inv
                        }
                    }
                    continue
                }
                for oy in 0..<ho {
                    for ox in 0..<wo {
                        var sum: Float = 0
                        for i in 0..<kernel.0 {
                            let row = plane + (oy * stride.0 + i) * w + ox * stride.1
                            for j in 0..<kernel.1 { sum += row[j] }
                        }
                        o[oy * wo + ox] = sum * inv
                    }
                }
            }
        }
        return out
    }

    /// Adaptive average pooling to (outHeight, outWidth) with PyTorch's window bounds
    /// start = ⌊i·H/Ho⌋, end = ⌈(i+1)·H/Ho⌉.
    public static func adaptiveAvgPool2d(_ x: Tensor, outputSize: (Int, Int)) -> Tensor {
        precondition(x.rank == 4, "adaptiveAvgPool2d needs (B, C, H, W), got \(x.shape)")
        let (b, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (ho, wo) = outputSize
        precondition(ho > 0 && wo > 0, "adaptiveAvgPool2d: output size \(outputSize) must be positive")
        let src = x.contiguous()
        let out = Tensor(uninitializedShape: [b, c, ho, wo])
        let s = SendablePointer(src.baseAddress), d = SendablePointer(out.baseAddress)
        Parallel.forEach(b * c, grain: max(1, 4096 / max(h * w, 1))) { range in
            for p in range {
                let plane = s.pointer + p * h * w, o = d.pointer + p * ho * wo
                for oy in 0..<ho {
                    let y0 = oy * h / ho, y1 = ((oy + 1) * h + ho - 1) / ho
                    for ox in 0..<wo {
                        let x0 = ox * w / wo, x1 = ((ox + 1) * w + wo - 1) / wo
                        var sum: Float = 0
                        for y in y0..<y1 { for xx in x0..<x1 { sum += plane[y * w + xx] } }
                        o[oy * wo + ox] = sum / Float((y1 - y0) * (x1 - x0))
                    }
                }
            }
        }
        return out
    }
}

// MARK: - Backward (g = ∂L/∂y)

extension Tensor {
    /// ∂L/∂x of `avgPool2d`: each output's gradient spread evenly over its window.
    public static func avgPool2dBackward(inputShape: [Int], g: Tensor, kernel: (Int, Int), stride: (Int, Int)? = nil)
        -> Tensor
    {
        let stride = stride ?? kernel
        let (b, c, h, w) = (inputShape[0], inputShape[1], inputShape[2], inputShape[3])
        let (ho, wo) = (g.shape[2], g.shape[3])
        let grad = g.contiguous()
        let dx = Tensor(zeros: inputShape)
        let gp = SendablePointer(grad.baseAddress), d = SendablePointer(dx.baseAddress)
        let inv = 1 / Float(kernel.0 * kernel.1)
        Parallel.forEach(b * c, grain: max(1, 4096 / max(h * w, 1))) { range in
            for p in range {
                let plane = d.pointer + p * h * w, gPlane = gp.pointer + p * ho * wo
                for oy in 0..<ho {
                    for ox in 0..<wo {
                        let v = gPlane[oy * wo + ox] * inv
                        for i in 0..<kernel.0 {
                            for j in 0..<kernel.1 { plane[(oy * stride.0 + i) * w + ox * stride.1 + j] += v }
                        }
                    }
                }
            }
        }
        return dx
    }
}
