import CTensorKernels

// Winograd F(2×2, 3×3) convolution at inference (Sources/CTensorKernels/clip_winograd.c): a
// 3×3, stride 1, padding 1 convolution as 16 products on the packed GEMM over 4×4 input tiles,
// 2.25× fewer multiply-adds than im2col + GEMM. A ResNet spends about half its time in these
// convolutions.
//   B batch, Ci/Co input/output channels, H×W map, T = ⌈H/2⌉·⌈W/2⌉ tiles, P = ⌈T/32⌉ panels,
//   ξ = 0…15 the position in a transformed tile

/// The 3×3 weights (Co, Ci, 3, 3) transformed for ``Tensor/winogradConvolution(_:weights:bias:activation:residual:)``:
/// U = G g Gᵀ, (16, Co, Ci). Transform once (at load) and reuse.
public struct WinogradWeights: Sendable {
    /// (16, Co, Ci)
    public let transformed: Tensor
    public let outputChannels: Int
    public let inputChannels: Int

    /// Whether the Winograd convolution runs on this CPU (it needs the packed GEMM: x86-64
    /// with AVX2 + FMA or AVX-512); elsewhere use ``Tensor/conv2d(_:weight:bias:stride:padding:activation:residual:batchInvariant:)``.
    public static var isAvailable: Bool { PackedGEMM.isAvailable }

    /// - Parameter weight: (Co, Ci, 3, 3).
    public init(_ weight: Tensor) {
        precondition(
            weight.rank == 4 && weight.shape[2] == 3 && weight.shape[3] == 3,
            "WinogradWeights needs a (Co, Ci, 3, 3) weight, got \(weight.shape)")
        let (co, ci) = (weight.shape[0], weight.shape[1])
        let g = weight.contiguous()
        let u = Tensor(uninitializedShape: [16, co, ci])
        let (gp, up) = (SendableConstPointer(g.baseAddress), SendablePointer(u.baseAddress))
        Parallel.forEach(co) { range in
            clip_winograd_weights(gp.pointer, co, ci, range.lowerBound, range.upperBound, up.pointer)
        }
        withExtendedLifetime(g) {}
        transformed = u
        (outputChannels, inputChannels) = (co, ci)
    }
}

extension Tensor {
    /// act(conv3×3(x) + bias + residual) with stride 1 and zero padding 1, by Winograd
    /// F(2×2, 3×3): the same function as ``conv2d(_:weight:bias:stride:padding:activation:residual:batchInvariant:)``
    /// with `padding: (1, 1)`, rounded differently (within a few ulps of the output's scale). Each
    /// image's result depends only on that image, however the batch is split.
    ///
    /// - Parameters:
    ///   - x: (B, Ci, H, W). - bias: (Co) or nil. - residual: (B, Co, H, W) or nil.
    /// - Returns: (B, Co, H, W).
    public static func winogradConvolution(
        _ x: Tensor, weights: WinogradWeights, bias: Tensor? = nil, activation: FusedActivation = .none,
        residual: Tensor? = nil
    ) -> Tensor {
        precondition(
            WinogradWeights.isAvailable, "winogradConvolution needs the packed GEMM (WinogradWeights.isAvailable)")
        precondition(
            x.rank == 4 && x.shape[1] == weights.inputChannels,
            "winogradConvolution: input \(x.shape) for weights of \(weights.inputChannels) input channels")
        let (b, ci, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let co = weights.outputChannels
        if let bias { precondition(bias.shape == [co], "winogradConvolution: bias \(bias.shape) for \(co) channels") }
        if let residual {
            precondition(
                residual.shape == [b, co, h, w], "winogradConvolution: residual \(residual.shape) for \([b, co, h, w])")
        }
        let tiles = ((h + 1) / 2) * ((w + 1) / 2)
        let panels = (tiles + Int(CLIP_GEMM_PANEL) - 1) / Int(CLIP_GEMM_PANEL)
        let vStride = clip_winograd_v_stride(ci, tiles), mStride = clip_winograd_m_stride(co, tiles)
        let input = x.contiguous(), out = Tensor(uninitializedShape: [b, co, h, w])
        let biasTensor = bias?.contiguous(), residualTensor = residual?.contiguous()
        let (ip, op, up) = (
            SendableConstPointer(input.baseAddress), SendablePointer(out.baseAddress),
            SendableConstPointer(weights.transformed.baseAddress)
        )
        let sp = biasTensor.map { SendableConstPointer($0.baseAddress) }
        let rp = residualTensor.map { SendableConstPointer($0.baseAddress) }
        let code = activation.code
        // One image: V (16, P, Ci, 32) packed input tiles, M (16, Co, T) products.
        let image: @Sendable (Int, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, Bool) -> Void = {
            i, v, m, parallel in
            let src = SendableConstPointer(ip.pointer + i * ci * h * w)
            let dst = SendablePointer(op.pointer + i * co * h * w)
            let res = rp.map { SendableConstPointer($0.pointer + i * co * h * w) }
            let (vp, mp) = (SendablePointer(v), SendablePointer(m))
            // Channels [c0, c1) or output channels [o0, o1) of the tiles in panels [p0, p1).
            let transformIn: @Sendable (Range<Int>, Range<Int>) -> Void = { c, p in
                clip_winograd_input(
                    src.pointer, ci, h, w, c.lowerBound, c.upperBound, p.lowerBound, p.upperBound, vp.pointer)
            }
            let products: @Sendable (Range<Int>, Range<Int>, Range<Int>) -> Void = { xis, o, p in
                for xi in xis {
                    clip_gemm_compute(
                        up.pointer + xi * co * ci, ci, o.lowerBound, o.upperBound, vp.pointer + xi * vStride,
                        tiles, ci, p.lowerBound, p.upperBound, mp.pointer + xi * mStride, tiles, 0, nil, nil, 0,
                        nil, 0)
                }
            }
            let transformOut: @Sendable (Range<Int>, Range<Int>) -> Void = { o, p in
                clip_winograd_output(
                    mp.pointer, co, h, w, o.lowerBound, o.upperBound, p.lowerBound, p.upperBound, sp?.pointer,
                    res?.pointer, code, dst.pointer)
            }
            let threads = Parallel.threadCount
            if parallel && threads > 1 && panels >= threads {
                // Tasks take whole panels of tiles through all three steps: a tile's V and M
                // stay in the cache of the core that made them.
                let tasks = min(panels, 2 * threads)
                Parallel.forEachIndex(tasks) { t in
                    let p = (panels * t / tasks)..<(panels * (t + 1) / tasks)
                    transformIn(0..<ci, p)
                    products(0..<16, 0..<co, p)
                    transformOut(0..<co, p)
                }
            } else if parallel && threads > 1 {
                // Few tiles (a 7×7 map): split channels, then the 16 products, then output channels.
                Parallel.forEach(ci) { transformIn($0, 0..<panels) }
                Parallel.forEachIndex(16) { products($0..<($0 + 1), 0..<co, 0..<panels) }
                Parallel.forEach(co) { transformOut($0, 0..<panels) }
            } else {
                transformIn(0..<ci, 0..<panels)
                products(0..<16, 0..<co, 0..<panels)
                transformOut(0..<co, 0..<panels)
            }
        }
        let scratchFloats = 16 * vStride + 16 * mStride
        if b >= 4 {
            // One image per task, single-threaded, each with its own scratch.
            Parallel.forEachIndex(b) { i in
                let scratch = Tensor(uninitializedShape: [scratchFloats])
                image(i, scratch.baseAddress, scratch.baseAddress + 16 * vStride, false)
                withExtendedLifetime(scratch) {}
            }
        } else {
            let scratch = Tensor(uninitializedShape: [scratchFloats])
            for i in 0..<b { image(i, scratch.baseAddress, scratch.baseAddress + 16 * vStride, true) }
            withExtendedLifetime(scratch) {}
        }
        withExtendedLifetime((input, biasTensor, residualTensor, weights.transformed)) {}
        return out
    }
}
