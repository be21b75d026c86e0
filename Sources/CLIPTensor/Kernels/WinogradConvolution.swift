import CTensorKernels

// Winograd convolution at inference: a 3×3, stride 1, padding 1 convolution as products on the
// packed GEMM over transformed input tiles. F(2×2, 3×3) (Sources/CTensorKernels/clip_winograd.c)
// takes 16 products over 4×4 tiles, 2.25× fewer multiply-adds than im2col + GEMM; F(4×4, 3×3)
// (clip_winograd4.c) 36 over 6×6 tiles, 4× fewer, where its tiles fill the GEMM's columns. A
// ResNet spends about half its time in these convolutions.
//   B batch, Ci/Co input/output channels, H×W map, m×m outputs per tile (m = 2 or 4),
//   T = ⌈H/m⌉·⌈W/m⌉ tiles, P = ⌈T/32⌉ panels, ξ = 0…(m + 2)² − 1 the position in a
//   transformed tile

/// The output block of one Winograd tile: F(2×2, 3×3) or F(4×4, 3×3).
public enum WinogradTile: Int, Sendable, CaseIterable {
    /// F(2×2, 3×3): 4×4 input tiles, 16 products.
    case two = 2
    /// F(4×4, 3×3): 6×6 input tiles, 36 products.
    case four = 4

    /// Products per tile, (m + 2)².
    public var blocks: Int { (rawValue + 2) * (rawValue + 2) }

    /// Tiles of one H×W map.
    public func tiles(height: Int, width: Int) -> Int {
        ((height + rawValue - 1) / rawValue) * ((width + rawValue - 1) / rawValue)
    }

    /// The tile with the fewer GEMM columns computed for one image's H×W map: the products'
    /// columns are tiles, padded to panels of 32 (16 for a last panel of ≤ 16). F(4×4, 3×3)
    /// needs 36/16 = 2.25 multiplications per output against 4, but a small map leaves its
    /// panels mostly padding: RN50's 7×7 maps are 4 tiles (16 columns × 36) against 16 (16 × 16),
    /// its 14×14 maps 16 (16 × 36) against 49 (64 × 16). F(4×4, 3×3) is taken when it computes
    /// at least 10 % less (its transforms cost a little more per output).
    public static func preferred(height: Int, width: Int) -> WinogradTile {
        func columns(_ t: WinogradTile) -> Int {
            let tiles = t.tiles(height: height, width: width), panel = Int(CLIP_GEMM_PANEL)
            let tail = tiles % panel
            return t.blocks * (tiles - tail + (tail == 0 ? 0 : tail <= panel / 2 ? panel / 2 : panel))
        }
        return columns(.four) * 10 <= columns(.two) * 9 ? .four : .two
    }
}

/// The 3×3 weights (Co, Ci, 3, 3) transformed for ``Tensor/winogradConvolution(_:weights:bias:activation:residual:)``:
/// U = G g Gᵀ, ((m + 2)², Co, Ci) for the tile's m. Transform once (at load) and reuse.
public struct WinogradWeights: Sendable {
    /// ((m + 2)², Co, Ci): (16, Co, Ci) for F(2×2, 3×3), (36, Co, Ci) for F(4×4, 3×3).
    public let transformed: Tensor
    public let outputChannels: Int
    public let inputChannels: Int
    /// The tile the weights are transformed for.
    public let tile: WinogradTile

    /// Whether the Winograd convolution runs on this CPU (it needs the packed GEMM: x86-64
    /// with AVX2 + FMA or AVX-512); elsewhere use ``Tensor/conv2d(_:weight:bias:stride:padding:activation:residual:batchInvariant:)``.
    public static var isAvailable: Bool { PackedGEMM.isAvailable }

    /// - Parameters:
    ///   - weight: (Co, Ci, 3, 3).
    ///   - tile: F(2×2, 3×3) or F(4×4, 3×3); ``WinogradTile/preferred(height:width:)`` chooses
    ///     one for the map the layer sees.
    public init(_ weight: Tensor, tile: WinogradTile = .two) {
        precondition(
            weight.rank == 4 && weight.shape[2] == 3 && weight.shape[3] == 3,
            "WinogradWeights needs a (Co, Ci, 3, 3) weight, got \(weight.shape)")
        let (co, ci) = (weight.shape[0], weight.shape[1])
        let g = weight.contiguous()
        let u = Tensor(uninitializedShape: [tile.blocks, co, ci])
        let (gp, up) = (SendableConstPointer(g.baseAddress), SendablePointer(u.baseAddress))
        Parallel.forEach(co) { range in
            switch tile {
            case .two: clip_winograd_weights(gp.pointer, co, ci, range.lowerBound, range.upperBound, up.pointer)
            case .four: clip_winograd4_weights(gp.pointer, co, ci, range.lowerBound, range.upperBound, up.pointer)
            }
        }
        withExtendedLifetime(g) {}
        transformed = u
        (outputChannels, inputChannels, self.tile) = (co, ci, tile)
    }
}

extension Tensor {
    /// act(conv3×3(x) + bias + residual) with stride 1 and zero padding 1, by Winograd
    /// F(2×2, 3×3) or F(4×4, 3×3) (the weights' tile): the same function as ``conv2d(_:weight:bias:stride:padding:activation:residual:batchInvariant:)``
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
        let tile = weights.tile, blocks = tile.blocks
        let tiles = tile.tiles(height: h, width: w)
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
        // One image: V (ξ, P, Ci, 32) packed input tiles, M (ξ, Co, T) products.
        let image: @Sendable (Int, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, Bool) -> Void = {
            i, v, m, parallel in
            let src = SendableConstPointer(ip.pointer + i * ci * h * w)
            let dst = SendablePointer(op.pointer + i * co * h * w)
            let res = rp.map { SendableConstPointer($0.pointer + i * co * h * w) }
            let (vp, mp) = (SendablePointer(v), SendablePointer(m))
            // Channels [c0, c1) or output channels [o0, o1) of the tiles in panels [p0, p1).
            let transformIn: @Sendable (Range<Int>, Range<Int>) -> Void = { c, p in
                switch tile {
                case .two:
                    clip_winograd_input(
                        src.pointer, ci, h, w, c.lowerBound, c.upperBound, p.lowerBound, p.upperBound, vp.pointer)
                case .four:
                    clip_winograd4_input(
                        src.pointer, ci, h, w, c.lowerBound, c.upperBound, p.lowerBound, p.upperBound, vp.pointer)
                }
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
                switch tile {
                case .two:
                    clip_winograd_output(
                        mp.pointer, co, h, w, o.lowerBound, o.upperBound, p.lowerBound, p.upperBound, sp?.pointer,
                        res?.pointer, code, dst.pointer)
                case .four:
                    clip_winograd4_output(
                        mp.pointer, co, h, w, o.lowerBound, o.upperBound, p.lowerBound, p.upperBound, sp?.pointer,
                        res?.pointer, code, dst.pointer)
                }
            }
            let threads = Parallel.threadCount
            // Whole panels per task when they share out evenly: RN50's 56×56 maps in F(4×4, 3×3)
            // are 7 panels, which two threads split 4 : 3 (the three steps below measured ~3 %
            // faster for its batch 1).
            let panelTasks = panels >= threads && (panels % threads == 0 || panels >= 8 * threads)
            if parallel && threads > 1 && panelTasks {
                // Tasks take whole panels of tiles through all three steps: a tile's V and M
                // stay in the cache of the core that made them.
                let tasks = min(panels, 2 * threads)
                Parallel.forEachIndex(tasks) { t in
                    let p = (panels * t / tasks)..<(panels * (t + 1) / tasks)
                    transformIn(0..<ci, p)
                    products(0..<blocks, 0..<co, p)
                    transformOut(0..<co, p)
                }
            } else if parallel && threads > 1 {
                // Few tiles (a 7×7 map) or uneven panels: split channels, then the products, then
                // output channels.
                Parallel.forEach(ci) { transformIn($0, 0..<panels) }
                Parallel.forEachIndex(blocks) { products($0..<($0 + 1), 0..<co, 0..<panels) }
                Parallel.forEach(co) { transformOut($0, 0..<panels) }
            } else {
                transformIn(0..<ci, 0..<panels)
                products(0..<blocks, 0..<co, 0..<panels)
                transformOut(0..<co, 0..<panels)
            }
        }
        let scratchFloats = blocks * vStride + blocks * mStride
        if b >= 4 {
            // One image per task, single-threaded, each with its own scratch.
            Parallel.forEachIndex(b) { i in
                let scratch = Tensor(uninitializedShape: [scratchFloats])
                image(i, scratch.baseAddress, scratch.baseAddress + blocks * vStride, false)
                withExtendedLifetime(scratch) {}
            }
        } else {
            let scratch = Tensor(uninitializedShape: [scratchFloats])
            for i in 0..<b { image(i, scratch.baseAddress, scratch.baseAddress + blocks * vStride, true) }
            withExtendedLifetime(scratch) {}
        }
        withExtendedLifetime((input, biasTensor, residualTensor, weights.transformed)) {}
        return out
    }
}
