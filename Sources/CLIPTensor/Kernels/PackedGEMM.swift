import CTensorKernels

// Weight-stationary GEMM for linear layers and convolutions on x86-64 with AVX-512 or AVX2 +
// FMA (Sources/CTensorKernels/clip_gemm.c). The weights are read where they are (a memory-mapped
// checkpoint stays shared; nothing is packed at load), the activations are packed per call
// into panels of 32 columns, and bias (or folded batch norm), the activation and a residual are
// applied per tile. Elsewhere (macOS arm64, CPUs without FMA) the callers use BLAS.
//   N weight rows (output features or channels), K depth, M columns (tokens or output pixels)

/// An activation applied inside a fused linear layer (``Tensor/linear(_:weight:bias:activation:residual:)``).
public enum FusedActivation: Sendable {
    case none, quickGELU, gelu, relu

    var code: Int32 {
        switch self {
        case .none: Int32(CLIP_GEMM_NONE)
        case .quickGELU: Int32(CLIP_GEMM_QUICK_GELU)
        case .gelu: Int32(CLIP_GEMM_GELU)
        case .relu: Int32(CLIP_GEMM_RELU)
        }
    }
}

/// The packed GEMM's entry points; `nil`-free pointers, shapes checked by the callers.
enum PackedGEMM {
    /// True where the packed kernels run (x86-64 with AVX2 + FMA or AVX-512, unless
    /// `CLIP_GEMM=blas`). Not changed by ``withLevel(_:_:)``.
    static var isAvailable: Bool { clip_gemm_best_level() > 0 }

    /// The best kernel path: 2 AVX-512, 1 AVX2 + FMA, 0 none (BLAS). Not changed by
    /// ``withLevel(_:_:)``.
    static var level: Int { Int(clip_gemm_best_level()) }

    /// Runs `body` with the kernels' ISA capped at `level`, 0 being the portable loops (tests
    /// compare the paths on one machine). Every path gives the same bits and callers still
    /// choose the packed GEMM over BLAS by ``isAvailable``, so concurrent callers are unaffected.
    static func withLevel<T>(_ level: Int, _ body: () throws -> T) rethrows -> T {
        let previous = clip_gemm_limit_level(Int32(level))
        defer { clip_gemm_limit_level(previous) }
        return try body()
    }

    /// Computes with the portable path (fmaf loops) when `level` is 0; for tests only.
    static func portable(
        w: UnsafePointer<Float>, ldw: Int, n: Int, k: Int, x: UnsafePointer<Float>, ldx: Int, m: Int,
        out: UnsafeMutablePointer<Float>, ldo: Int
    ) {
        withLevel(0) {
            run(
                w: w, ldw: ldw, n: n, k: k, x: x, ldx: ldx, rowsAreColumns: true, m: m, out: out, ldo: ldo,
                transposed: true)
        }
    }

    /// Tasks that split `panelCount` panels: four per thread for dynamic balancing on a shared
    /// machine, or one when the product is small (under 2^18 multiply-adds) or must run serially.
    static func panelTaskCount(_ panelCount: Int, work: Int, parallel: Bool) -> Int {
        let threads = Parallel.threadCount
        return parallel && threads > 1 && work >= 1 << 18 ? max(1, min(threads * 4, panelCount)) : 1
    }

    /// Weight rows per task: enough tasks for dynamic balancing on a shared machine, each a few
    /// 12-row tiles.
    static func taskCount(rows: Int, work: Int) -> Int {
        let threads = Parallel.threadCount
        guard threads > 1 && work >= 1 << 18 else { return 1 }
        return max(1, min(threads * 4, rows / 24))
    }

    /// out = act(scale · (W · X) + shift) + residual.
    ///
    /// - Parameters:
    ///   - w: (N, K) rows with stride `ldw`.
    ///   - x: the other operand; `rowsAreColumns`: x is (M, K) with row stride `ldx` (a linear
    ///     layer's input), else (K, M) with row stride `ldx` (im2col columns).
    ///   - out: `transposed`: (M, N) with row stride `ldo`, else (N, M) with row stride `ldo`.
    ///   - scale, shift: N values each, or nil. - residual: laid out like `out` (stride `ldr`).
    ///   - epilogue: the C activation code with flags (`CLIP_GEMM_RESIDUAL_FIRST`), overriding
    ///     `activation`.
    static func run(
        w: UnsafePointer<Float>, ldw: Int, n: Int, k: Int,
        x: UnsafePointer<Float>, ldx: Int, rowsAreColumns: Bool, m: Int,
        out: UnsafeMutablePointer<Float>, ldo: Int, transposed: Bool,
        scale: UnsafePointer<Float>? = nil, shift: UnsafePointer<Float>? = nil,
        activation: FusedActivation = .none, epilogue: Int32? = nil, residual: UnsafePointer<Float>? = nil,
        ldr: Int = 0, parallel: Bool = true
    ) {
        run(
            weights: .float(w), ldw: ldw, n: n, k: k, x: x, ldx: ldx, rowsAreColumns: rowsAreColumns, m: m, out: out,
            ldo: ldo, transposed: transposed, scale: scale, shift: shift, activation: activation, epilogue: epilogue,
            residual: residual, ldr: ldr, parallel: parallel)
    }

    /// Weight rows in memory: Float32, or fp16 bit patterns widened per row block (exact, so
    /// the same outputs) from the storage that learns of any non-finite value among them.
    enum Weights: @unchecked Sendable {
        case float(UnsafePointer<Float>)
        case half(UnsafePointer<UInt16>, TensorStorage?)
    }

    /// ``run(w:ldw:n:k:x:ldx:rowsAreColumns:m:out:ldo:transposed:scale:shift:activation:epilogue:residual:ldr:parallel:)``
    /// with the weights in either format.
    static func run(
        weights: Weights, ldw: Int, n: Int, k: Int,
        x: UnsafePointer<Float>, ldx: Int, rowsAreColumns: Bool, m: Int,
        out: UnsafeMutablePointer<Float>, ldo: Int, transposed: Bool,
        scale: UnsafePointer<Float>? = nil, shift: UnsafePointer<Float>? = nil,
        activation: FusedActivation = .none, epilogue: Int32? = nil, residual: UnsafePointer<Float>? = nil,
        ldr: Int = 0, parallel: Bool = true
    ) {
        let code = epilogue ?? activation.code
        if m == 0 || n == 0 { return }
        let panelCount = (m + Int(CLIP_GEMM_PANEL) - 1) / Int(CLIP_GEMM_PANEL)
        let panelFloats = max(k, 1) * Int(CLIP_GEMM_PANEL)
        // Tensor storage is 64-byte aligned and large buffers are pooled, so repeated calls
        // reuse the same pages instead of faulting in fresh ones.
        let buffer = Tensor(uninitializedShape: [panelCount * panelFloats])
        defer { withExtendedLifetime(buffer) {} }
        let panels = SendablePointer(buffer.baseAddress)
        let xp = SendableConstPointer(x), op = SendablePointer(out)
        let (sp, hp, rp) = (
            scale.map(SendableConstPointer.init), shift.map(SendableConstPointer.init),
            residual.map(SendableConstPointer.init)
        )
        let work = m * n * k
        let pack: @Sendable (Range<Int>) -> Void = { range in
            clip_gemm_pack(
                xp.pointer, ldx, rowsAreColumns ? 1 : 0, m, k, range.lowerBound, range.upperBound, panels.pointer)
        }
        // Tasks split the weight rows and, when there are few rows (a ResNet stem's 32 or 64
        // channels at batch 1), the panels too; every output is computed by one task, so the
        // split does not change any bits.
        let rowTasks = parallel ? taskCount(rows: n, work: work) : 1
        let wanted = Parallel.threadCount * 4
        let panelTasks =
            parallel && Parallel.threadCount > 1 && work >= 1 << 18 && rowTasks < wanted
            ? min(panelCount, (wanted + rowTasks - 1) / rowTasks) : 1
        let tasks = rowTasks * panelTasks
        if tasks > 1 && panelCount > 1 {
            Parallel.forEach(panelCount, pack)
        } else {
            pack(0..<panelCount)
        }
        let compute: @Sendable (Int) -> Void = { t in
            let (rt, pt) = (t / panelTasks, t % panelTasks)
            let n0 = n * rt / rowTasks, n1 = n * (rt + 1) / rowTasks
            let p0 = panelCount * pt / panelTasks, p1 = panelCount * (pt + 1) / panelTasks
            guard n0 < n1 && p0 < p1 else { return }
            switch weights {
            case .float(let w):
                clip_gemm_compute(
                    w, ldw, n0, n1, panels.pointer, m, k, p0, p1, op.pointer, ldo, transposed ? 1 : 0,
                    sp?.pointer, hp?.pointer, code, rp?.pointer, ldr)
            case .half(let w, let storage):
                let nonFinite = clip_gemm_compute_half(
                    w, ldw, n0, n1, panels.pointer, m, k, p0, p1, op.pointer, ldo, transposed ? 1 : 0,
                    sp?.pointer, hp?.pointer, code, rp?.pointer, ldr)
                if nonFinite > 0 { storage?.noteNonFinite() }
            }
        }
        if tasks > 1 {
            Parallel.forEachIndex(tasks, compute)
        } else {
            compute(0)
        }
    }
}

extension PackedGEMM {
    /// One image's convolution, out (N, Ho·Wo) = act(W · im2col(image) + shift) with the
    /// residual fused as `epilogue` says, where each task takes a share of the panels, packs
    /// them from the image and computes every weight row on them (`clip_conv_compute`): no
    /// im2col matrix and no full set of panels is written.
    ///
    /// - Parameters:
    ///   - w: (N, K) weight rows, contiguous. - image: (Ci, H, W). - out, residual: (N, Ho·Wo).
    static func runConvolution(
        w: UnsafePointer<Float>, n: Int, image: UnsafePointer<Float>, geometry: clip_conv_geometry,
        out: UnsafeMutablePointer<Float>, shift: UnsafePointer<Float>?, epilogue: Int32,
        residual: UnsafePointer<Float>?, parallel: Bool
    ) {
        let k = geometry.channels * geometry.kernel_h * geometry.kernel_w
        let m = geometry.out_h * geometry.out_w
        if m == 0 || n == 0 { return }
        let panelCount = (m + Int(CLIP_GEMM_PANEL) - 1) / Int(CLIP_GEMM_PANEL)
        let tasks = panelTaskCount(panelCount, work: m * n * k, parallel: parallel)
        let (wp, ip, op) = (SendableConstPointer(w), SendableConstPointer(image), SendablePointer(out))
        let (hp, rp) = (shift.map(SendableConstPointer.init), residual.map(SendableConstPointer.init))
        let scratchFloats = clip_conv_scratch_floats(k)
        let task: @Sendable (Int) -> Void = { t in
            let p0 = panelCount * t / tasks, p1 = panelCount * (t + 1) / tasks
            guard p0 < p1 else { return }
            let scratch = Tensor(uninitializedShape: [scratchFloats])  // one group of panels (K, 32) each
            withUnsafePointer(to: geometry) { g in
                clip_conv_compute(
                    wp.pointer, k, 0, n, ip.pointer, g, p0, p1, scratch.baseAddress, op.pointer, m, nil, hp?.pointer,
                    epilogue, rp?.pointer, m)
            }
            withExtendedLifetime(scratch) {}
        }
        if tasks > 1 {
            Parallel.forEachIndex(tasks, task)
        } else {
            task(0)
        }
    }
}

extension Parallel {
    /// Whether inference computes every token row independently of the rows it shares a batch
    /// and a product with, so that grouping rows differently cannot change their bits: true
    /// where the packed GEMM runs (each output one FMA chain over K, whatever M), together with
    /// the row-wise causal attention and per-row norms; false on the BLAS path, whose rounding
    /// depends on how many rows a product has. Batch-invariant text inference uses it to group
    /// prompts of different lengths (``Parallel/batchInvariant``).
    public static var inferenceRowsAreIndependent: Bool { PackedGEMM.isAvailable }
}

/// A read-only pointer that may cross into concurrently running closures.
struct SendableConstPointer: @unchecked Sendable {
    let pointer: UnsafePointer<Float>
    init(_ pointer: UnsafePointer<Float>) { self.pointer = pointer }
}

extension Tensor {
    /// The values as weight rows of the packed GEMM: the fp16 bits of an fp16 checkpoint's
    /// tensor not widened yet (read in place, no Float32 copy), else Float32.
    var gemmWeights: PackedGEMM.Weights {
        storage.halfValues.map { .half($0 + offset, storage) } ?? .float(UnsafePointer(baseAddress))
    }

    /// act(x · weightᵀ + bias) + residual: a linear layer with its activation and residual
    /// connection in one pass over the output (inference; ``Variable`` composes the separate
    /// differentiable ops when gradients are needed).
    ///
    /// - Parameters:
    ///   - x: (…, I). - weight: (O, I). - bias: (O) or nil.
    ///   - residual: shaped like the result, (…, O), or nil.
    /// - Returns: (…, O).
    public static func linear(
        _ x: Tensor, weight: Tensor, bias: Tensor?, activation: FusedActivation, residual: Tensor?
    ) -> Tensor {
        let outFeatures = weight.shape[0]
        let outShape = Array(x.shape.dropLast()) + [outFeatures]
        if let residual {
            precondition(
                residual.shape == outShape, "linear: residual \(residual.shape) does not match output \(outShape)")
        }
        guard PackedGEMM.isAvailable && weight.rank == 2 && weight.shape[1] == x.size(-1) && x.size(-1) > 0 else {
            var y = linear(x, weight: weight, bias: bias)
            switch activation {
            case .none: break
            case .quickGELU: y = quickGELU(y)
            case .gelu: y = gelu(y)
            case .relu: y = relu(y)
            }
            return residual.map { y + $0 } ?? y
        }
        return packedLinear(x, weight: weight, bias: bias, activation: activation, residual: residual)
    }

    /// The packed-GEMM linear layer (``PackedGEMM/isAvailable``; K > 0).
    static func packedLinear(
        _ x: Tensor, weight: Tensor, bias: Tensor?, activation: FusedActivation, residual: Tensor?
    ) -> Tensor {
        let (inFeatures, outFeatures) = checkLinearShapes(x, weight: weight, bias: bias)
        let rows = x.count / max(inFeatures, 1)
        let out = Tensor(uninitializedShape: Array(x.shape.dropLast()) + [outFeatures])
        // Rows of x and of the weight need unit stride; row strides may be anything.
        let x2 = x.rank == 2 && x.strides[1] == 1 ? x : x.contiguous().reshaped([rows, inFeatures])
        let w = weight.strides[1] == 1 && weight.strides[0] >= inFeatures ? weight : weight.contiguous()
        let b = bias?.contiguous()
        let r = residual?.contiguous()
        let ldx = rows == 1 ? inFeatures : x2.strides[0]
        if let panels = PackedWeights.panels(for: w) {
            PackedGEMM.runPackedWeights(
                x: x2.baseAddress, ldx: ldx, m: rows, k: inFeatures, panels: panels.baseAddress, n: outFeatures,
                out: out.baseAddress, ldo: outFeatures, shift: b.map { UnsafePointer($0.baseAddress) },
                activation: activation, residual: r.map { UnsafePointer($0.baseAddress) }, ldr: outFeatures)
            withExtendedLifetime((x2, w, b, r, panels)) {}
            return out
        }
        if PackedGEMM.prefersPackingWeights(m: rows, n: outFeatures) {
            PackedGEMM.runPackingWeights(
                weights: w.gemmWeights, ldw: w.strides[0], n: outFeatures, k: inFeatures, x: x2.baseAddress, ldx: ldx,
                m: rows, out: out.baseAddress, ldo: outFeatures, shift: b.map { UnsafePointer($0.baseAddress) },
                activation: activation, residual: r.map { UnsafePointer($0.baseAddress) }, ldr: outFeatures)
        } else {
            PackedGEMM.run(
                weights: w.gemmWeights, ldw: w.strides[0], n: outFeatures, k: inFeatures,
                x: x2.baseAddress, ldx: ldx, rowsAreColumns: true, m: rows,
                out: out.baseAddress, ldo: outFeatures, transposed: true,
                shift: b.map { UnsafePointer($0.baseAddress) }, activation: activation,
                residual: r.map { UnsafePointer($0.baseAddress) }, ldr: outFeatures)
        }
        withExtendedLifetime((x2, w, b, r)) {}
        return out
    }
}
