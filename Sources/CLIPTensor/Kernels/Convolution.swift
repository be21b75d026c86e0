import CTensorKernels

// 2-D convolution as im2col + GEMM (groups = 1, dilation = 1), PyTorch `F.conv2d` semantics.
//   B batch, Ci/Co input/output channels, H×W input, Ho×Wo output, kh×kw kernel,
//   K = Ci·kh·kw (GEMM depth), S = Ho·Wo (GEMM width)

extension Tensor {
    /// Output size of a convolution or pooling window along one axis.
    public static func convOutputSize(_ input: Int, kernel: Int, stride: Int, padding: Int) -> Int {
        (input + 2 * padding - kernel) / stride + 1
    }

    /// Convolution of x (B, Ci, H, W) with weight (Co, Ci, kh, kw) and optional bias (Co),
    /// then, when given, `+ residual` (B, Co, Ho, Wo) and the activation: act(conv + bias +
    /// residual), fused into the GEMM's epilogue where the packed GEMM runs (a ResNet
    /// bottleneck's conv → folded batch norm → (+ identity) → ReLU in one pass).
    public static func conv2d(
        _ x: Tensor, weight: Tensor, bias: Tensor? = nil,
        stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0),
        activation: FusedActivation = .none, residual: Tensor? = nil, batchInvariant: Bool = Parallel.batchInvariant
    ) -> Tensor {
        precondition(
            x.rank == 4 && weight.rank == 4,
            "conv2d needs x (B, C, H, W) and weight (Co, Ci, kh, kw), got \(x.shape) and \(weight.shape)")
        let (b, ci, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (co, kh, kw) = (weight.shape[0], weight.shape[2], weight.shape[3])
        precondition(
            weight.shape[1] == ci,
            "conv2d: input \(x.shape) has \(ci) channels, weight \(weight.shape) expects \(weight.shape[1])")
        if let bias { precondition(bias.shape == [co], "conv2d: bias \(bias.shape) for weight \(weight.shape)") }
        let ho = convOutputSize(h, kernel: kh, stride: stride.0, padding: padding.0)
        let wo = convOutputSize(w, kernel: kw, stride: stride.1, padding: padding.1)
        precondition(
            ho > 0 && wo > 0,
            "conv2d: input \(x.shape) too small for kernel \(kh)×\(kw), stride \(stride), padding \(padding)")
        let k = ci * kh * kw, s = ho * wo
        let input = x.contiguous()
        let weight2 = weight.contiguous().reshaped([co, k])  // (Co, K)
        let out = Tensor(uninitializedShape: [b, co, ho, wo])
        let pointwise = kh == 1 && kw == 1 && stride == (1, 1) && padding == (0, 0)
        // Images per GEMM: small outputs (e.g. 7×7 maps, ViT patch grids) are grouped so the
        // GEMM is wide enough for BLAS to run near peak; large maps go one image at a time.
        // Batch-invariant: a non-overlapping patchify (ViT) runs one
        // single-threaded GEMM per image whatever the batch, so an image's result never depends on
        // the images beside it.
        // The packed GEMM gives every output the same bits however the images are grouped or
        // the work is split: one image per GEMM there (written in place, residual fused), the
        // images in parallel when there are enough, else each GEMM split across the threads.
        let packed = PackedGEMM.isAvailable && k > 0
        let perImage = batchInvariant && !packed && stride == (kh, kw) && padding == (0, 0)
        let group =
            packed || perImage ? 1 : max(1, min(b, (512 + s - 1) / s, max(1, (1 << 24) / max(k * s, 1))))
        let groups = (b + group - 1) / group
        let biasValues = bias?.scalars
        let biasTensor = bias?.contiguous()
        if let residual {
            precondition(
                residual.shape == [b, co, ho, wo], "conv2d: residual \(residual.shape) for output \([b, co, ho, wo])")
        }
        // The epilogue adds the residual only where the output is written in place (one image
        // per GEMM); grouped images and the BLAS path add it (and the activation) afterwards.
        let fuseResidual = packed && group == 1
        let fuseActivation = packed && (residual == nil || fuseResidual)
        let residualTensor = fuseResidual ? residual?.contiguous() : nil
        let residualPointer = residualTensor.map { SendablePointer($0.baseAddress) }
        let epilogueCode =
            (fuseActivation ? activation.code : 0) | (residualTensor != nil ? Int32(CLIP_GEMM_RESIDUAL_FIRST) : 0)
        let inputPointer = SendablePointer(input.baseAddress), outPointer = SendablePointer(out.baseAddress)
        // Weights of an fp16 checkpoint not widened yet are read as fp16 by the packed GEMM: a
        // Float32 copy of ViT-B/32's patch weights cost a first image embedding ~15 ms of fresh pages.
        let weightRows = packed ? weight2.gemmWeights : nil
        // Float32 weights on the packed path (a ResNet's folded convolutions) with a window to
        // unfold: each task packs its panels straight from the image, a group at a time in L2,
        // and computes them at once — no im2col matrix (RN50's stem writes and reads 14 MB of
        // it per image). Tasks split the panels, so this pays where there are many (large maps)
        // or few weight rows; 14×14 and 7×7 maps with hundreds of rows keep im2col and split
        // the rows. The same panels, so the same bits (RN50 batch 1: −10 %).
        var fusedWeights: UnsafePointer<Float>?
        if case .float(let w) = weightRows, !pointwise, co <= 64 || s >= 16 * Int(CLIP_GEMM_PANEL) {
            fusedWeights = w
        }
        let fused = fusedWeights.map(SendableConstPointer.init)
        let geometry = clip_conv_geometry(
            channels: ci, height: h, width: w, kernel_h: kh, kernel_w: kw, stride_h: stride.0, stride_w: stride.1,
            pad_h: padding.0, pad_w: padding.1, out_h: ho, out_w: wo)
        // One group of images [first, first + g): im2col into `columns` (K, G·S) unless the
        // input can be read directly, one GEMM into `staging` (Co, G·S) or the output itself.
        let run: @Sendable (Int, UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Float>?, Bool) -> Void = {
            first, columns, staging, parallel in
            if let fused {
                PackedGEMM.runConvolution(
                    w: fused.pointer, n: co, image: inputPointer.pointer + first * ci * h * w, geometry: geometry,
                    out: outPointer.pointer + first * co * s, shift: biasTensor.map { UnsafePointer($0.baseAddress) },
                    epilogue: epilogueCode,
                    residual: residualPointer.map { UnsafePointer($0.pointer + first * co * s) },
                    parallel: parallel)
                return
            }
            let g = min(group, b - first)
            let colView: GEMMOperand
            if let columns {
                for i in 0..<g {
                    im2col(
                        inputPointer.pointer + (first + i) * ci * h * w, channels: ci, height: h, width: w,
                        kernel: (kh, kw),
                        stride: stride, padding: padding, outHeight: ho, outWidth: wo, into: columns + i * s,
                        rowStride: group * s,
                        parallel: parallel)
                }
                colView = .raw(columns, group * s)
            } else {
                colView = .raw(inputPointer.pointer + first * ci * h * w, s)
            }
            let target = staging ?? (outPointer.pointer + first * co * s)
            let ldc = staging == nil ? s : group * s
            if let weightRows {
                // out (Co, G·S) = W (Co, K) · columns (K, G·S) + bias, weights read in place.
                PackedGEMM.run(
                    weights: weightRows, ldw: k, n: co, k: k, x: colView.pointer, ldx: colView.leadingDimension,
                    rowsAreColumns: false, m: g * s, out: target, ldo: ldc, transposed: false,
                    shift: biasTensor.map { UnsafePointer($0.baseAddress) }, epilogue: epilogueCode,
                    residual: residualPointer.map { UnsafePointer($0.pointer + first * co * s) }, ldr: s,
                    parallel: parallel)
            } else {
                var beta: Float = 0
                if let biasValues {
                    for c in 0..<co { (target + c * ldc).update(repeating: biasValues[c], count: g * s) }
                    beta = 1
                }
                sgemm(
                    GEMMOperand(weight2), colView, m: co, n: g * s, k: k, c: target, ldc: ldc, beta: beta,
                    parallel: parallel)
            }
            if let staging {
                // (Co, G, S) → (G, Co, S)
                for i in 0..<g {
                    for c in 0..<co {
                        (outPointer.pointer + ((first + i) * co + c) * s).update(
                            from: staging + c * ldc + i * s, count: s)
                    }
                }
            }
        }
        let needsColumns = !(pointwise && group == 1) && fused == nil
        if groups >= 4 || perImage {
            // Enough groups to keep every thread busy: one group per task, single-threaded.
            // Buffers from the storage pool: a fresh allocation of this size is a fresh mapping,
            // whose pages the kernel faults in and zeroes on every call.
            Parallel.forEachIndex(groups) { index in
                let columns = needsColumns ? Tensor(uninitializedShape: [k * group * s]) : nil  // (K, G·S)
                let staging = group > 1 ? Tensor(uninitializedShape: [co * group * s]) : nil  // (Co, G·S)
                run(index * group, columns?.baseAddress, staging?.baseAddress, false)
                withExtendedLifetime((columns, staging)) {}
            }
        } else {
            let columns = needsColumns ? Tensor(uninitializedShape: [k, group * s]) : nil
            let staging = group > 1 ? Tensor(uninitializedShape: [co, group * s]) : nil
            for index in 0..<groups { run(index * group, columns?.baseAddress, staging?.baseAddress, true) }
            withExtendedLifetime((columns, staging)) {}
        }
        withExtendedLifetime((input, weight2, biasTensor, residualTensor)) {}
        var result = out
        if let residual, !fuseResidual { result = result + residual }
        if !fuseActivation {
            switch activation {
            case .none: break
            case .quickGELU: result = quickGELU(result)
            case .gelu: result = gelu(result)
            case .relu: result = relu(result)
            }
        }
        return result
    }

    /// Unfolds the windows of one image (Ci, H, W) into columns (Ci·kh·kw, Ho·Wo) whose rows
    /// are `rowStride` apart (so several images can sit side by side); zero padding.
    static func im2col(
        _ image: UnsafeMutablePointer<Float>, channels: Int, height: Int, width: Int,
        kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int),
        outHeight: Int, outWidth: Int, into columns: UnsafeMutablePointer<Float>, rowStride: Int,
        parallel: Bool = true
    ) {
        let (kh, kw) = kernel
        let rows = channels * kh * kw
        let src = SendablePointer(image), dst = SendablePointer(columns)
        let s = outHeight * outWidth
        let body: @Sendable (Range<Int>) -> Void = { range in
            for row in range {
                let c = row / (kh * kw), i = (row / kw) % kh, j = row % kw
                let plane = src.pointer + c * height * width
                let out = dst.pointer + row * rowStride
                // Output columns whose input column x = ox·stride − padding + j is inside the image.
                let (ox0, ox1) = validRange(outWidth, stride: stride.1, offset: j - padding.1, limit: width)
                for oy in 0..<outHeight {
                    let y = oy * stride.0 - padding.0 + i
                    let line = out + oy * outWidth
                    if y < 0 || y >= height || ox0 >= ox1 {
                        line.update(repeating: 0, count: outWidth)
                        continue
                    }
                    let srcLine = plane + y * width + j - padding.1
                    for ox in 0..<ox0 { line[ox] = 0 }
                    if stride.1 == 1 {
                        (line + ox0).update(from: srcLine + ox0, count: ox1 - ox0)
                    } else {
                        for ox in ox0..<ox1 { line[ox] = srcLine[ox * stride.1] }
                    }
                    for ox in ox1..<outWidth { line[ox] = 0 }
                }
            }
        }
        if parallel {
            Parallel.forEach(rows, grain: max(1, 16_384 / max(s, 1)), body)
        } else {
            body(0..<rows)
        }
    }

    /// The outputs o in 0..<count with 0 ≤ o·stride + offset < limit, as a half-open range.
    @inline(__always)
    static func validRange(_ count: Int, stride: Int, offset: Int, limit: Int) -> (Int, Int) {
        // o ≥ ceil(−offset / stride) and o ≤ floor((limit − 1 − offset) / stride).
        let lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride
        let last = limit - 1 - offset
        let hi = last < 0 ? 0 : min(count, last / stride + 1)
        return (min(lo, hi), hi)
    }
}

// MARK: - Backward (g = ∂L/∂y, (B, Co, Ho, Wo))

extension Tensor {
    /// Gradients of `conv2d`: ∂W = Σ_images g · colᵀ, ∂x = col2im(Wᵀ · g), ∂b = Σ g.
    ///
    /// Images are processed in groups (G images side by side, so small maps still make wide
    /// GEMMs); groups run in parallel, each single-threaded with its own ∂W partial, and the
    /// partials are added in group order: the result depends only on the shapes.
    public static func conv2dBackward(
        x: Tensor, weight: Tensor, g: Tensor, stride: (Int, Int), padding: (Int, Int),
        needsInput: Bool = true, needsBias: Bool = false
    )
        -> (dx: Tensor?, dWeight: Tensor, dBias: Tensor?)
    {
        let (b, ci, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (co, kh, kw) = (weight.shape[0], weight.shape[2], weight.shape[3])
        let (ho, wo) = (g.shape[2], g.shape[3])
        let k = ci * kh * kw, s = ho * wo
        let input = x.contiguous(), grad = g.contiguous()
        let weight2 = weight.contiguous().reshaped([co, k])  // (Co, K)
        let dx = needsInput ? Tensor(zeros: x.shape) : nil
        let pointwise = kh == 1 && kw == 1 && stride == (1, 1) && padding == (0, 0)
        let group = max(1, min(b, (1024 + s - 1) / s, max(1, (1 << 22) / max(k * s, 1))))
        let groups = (b + group - 1) / group
        let partials = Tensor(uninitializedShape: [groups, co, k])  // ∂W per group
        let ip = SendablePointer(input.baseAddress), gp = SendablePointer(grad.baseAddress)
        let dxp = dx.map { SendablePointer($0.baseAddress) }, pp = SendablePointer(partials.baseAddress)
        let wp = SendablePointer(weight2.baseAddress)
        Parallel.forEachIndex(groups) { index in
            let first = index * group, n = min(group, b - first), width = n * s
            // Columns (K, G·S) and the gradient block (Co, G·S); a single 1×1 image is read in place.
            let direct = pointwise && n == 1
            let columns = direct ? ip.pointer + first * ci * h * w : .allocate(capacity: k * width)
            let gBlock = n == 1 ? gp.pointer + first * co * s : .allocate(capacity: co * width)
            defer {
                if !direct { columns.deallocate() }
                if n > 1 { gBlock.deallocate() }
            }
            if !direct {
                for i in 0..<n {
                    im2col(
                        ip.pointer + (first + i) * ci * h * w, channels: ci, height: h, width: w, kernel: (kh, kw),
                        stride: stride,
                        padding: padding, outHeight: ho, outWidth: wo, into: columns + i * s, rowStride: width,
                        parallel: false)
                }
            }
            if n > 1 {
                // (G, Co, S) → (Co, G·S)
                for i in 0..<n {
                    for c in 0..<co {
                        (gBlock + c * width + i * s).update(from: gp.pointer + ((first + i) * co + c) * s, count: s)
                    }
                }
            }
            sgemm(
                .raw(gBlock, width), .raw(columns, width, transposed: true), m: co, n: k, k: width,
                c: pp.pointer + index * co * k, ldc: k, parallel: false)  // ∂W (Co, K)
            guard let dxp else { return }
            if pointwise && n == 1 {
                sgemm(
                    .raw(wp.pointer, k, transposed: true), .raw(gBlock, width), m: k, n: width, k: co,
                    c: dxp.pointer + first * ci * h * w, ldc: width, parallel: false)  // ∂x (Ci, S)
                return
            }
            let dColumns = UnsafeMutablePointer<Float>.allocate(capacity: k * width)  // (K, G·S)
            defer { dColumns.deallocate() }
            sgemm(
                .raw(wp.pointer, k, transposed: true), .raw(gBlock, width), m: k, n: width, k: co, c: dColumns,
                ldc: width, parallel: false)
            for i in 0..<n {
                col2im(
                    dColumns + i * s, rowStride: width, channels: ci, height: h, width: w, kernel: (kh, kw),
                    stride: stride,
                    padding: padding, outHeight: ho, outWidth: wo, into: dxp.pointer + (first + i) * ci * h * w)
            }
        }
        // ∂W = Σ_groups partials, in group order.
        let dW = Tensor(uninitializedShape: [co, k])
        let dWp = SendablePointer(dW.baseAddress)
        Parallel.forEach(co * k, grain: 4096) { range in
            // Group by group over a contiguous range (each element: p0 + p1 + p2 + …).
            let out = dWp.pointer + range.lowerBound
            out.update(from: pp.pointer + range.lowerBound, count: range.count)
            for index in 1..<max(groups, 1) {
                let partial = pp.pointer + index * co * k + range.lowerBound
                for e in 0..<range.count { out[e] += partial[e] }
            }
        }
        withExtendedLifetime((input, grad, weight2, partials, dx)) {}
        let dB = needsBias ? sum(sum(grad.reshaped([b, co, s]), dim: 2), dim: 0) : nil
        return (dx, dW.reshaped(weight.shape), dB)
    }

    /// Adds columns (Ci·kh·kw, Ho·Wo), rows `rowStride` apart, back into an image (Ci, H, W):
    /// the adjoint of `im2col` (single-threaded; callers run images in parallel).
    static func col2im(
        _ columns: UnsafeMutablePointer<Float>, rowStride: Int, channels: Int, height: Int, width: Int,
        kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int),
        outHeight: Int, outWidth: Int, into image: UnsafeMutablePointer<Float>
    ) {
        let (kh, kw) = kernel
        for c in 0..<channels {
            let plane = image + c * height * width
            for i in 0..<kh {
                for j in 0..<kw {
                    let row = columns + ((c * kh + i) * kw + j) * rowStride
                    let (ox0, ox1) = validRange(outWidth, stride: stride.1, offset: j - padding.1, limit: width)
                    if ox0 >= ox1 { continue }
                    for oy in 0..<outHeight {
                        let y = oy * stride.0 - padding.0 + i
                        if y < 0 || y >= height { continue }
                        let dst = plane + y * width + j - padding.1, src = row + oy * outWidth
                        if stride.1 == 1 {
                            for ox in ox0..<ox1 { dst[ox] += src[ox] }
                        } else {
                            for ox in ox0..<ox1 { dst[ox * stride.1] += src[ox] }
                        }
                    }
                }
            }
        }
    }
}
