import CTensorKernels
import Foundation

// Packed weight panels: a linear layer's weight (N, K) packed once into ceil(N/32) panels of 32
// output features (each K × 32, clip_gemm_pack), kept with the weight's storage. With them the
// packed GEMM swaps roles: the input rows are the broadcast operand (tiles of ≤ 12 tokens,
// balanced, so no padding) and the output features run along the vectors, and nothing is
// packed per call. A ViT-B/32 image has 50 tokens: in-place weights pad them to 64 columns (2
// panels), 28 % more FMAs; the swapped product computes the 50 (−25 % GEMM time at batch 1,
// −4 % at batch 16, where no activations are packed per call any more). Each output is still
// one FMA chain over k in order from zero (fma(x, w, acc) = fma(w, x, acc)) and the epilogue
// does the same additions, so both orientations give the same bits.
//   M tokens (input rows), N output features, K depth

/// When and how linear layers use packed weight panels.
///
/// The panels are a copy taken when a weight is first used twice at inference, so they assume
/// the weight's storage is not written in place afterwards. Nothing in the engine does that
/// (optimisers write each step's weights into fresh storage, loading makes new tensors); code
/// that writes into a weight through `baseAddress` after inference must use a fresh tensor, or
/// run with `CLIP_PACKED_WEIGHTS_MB=0`.
enum PackedWeights {
    /// Packed panels by weight view, kept by the weight's ``TensorStorage``.
    final class Cache {
        struct Key: Hashable {
            let offset: Int, rowStride: Int, rows: Int, depth: Int
        }
        /// Calls seen per view before it is packed.
        var calls: [Key: Int] = [:]
        /// (ceil(N/32) · K · 32) panels per packed view.
        var panels: [Key: Tensor] = [:]
        /// Bytes held in `panels`, returned to the budget when the storage goes.
        var bytes = 0

        deinit {
            let held = bytes
            if held > 0 { PackedWeights.lock.withLock { PackedWeights.packedBytes -= held } }
        }
    }

    /// Guards every storage's ``TensorStorage/packedWeights`` and ``packedBytes``.
    static let lock = NSLock()
    /// Bytes of packed panels alive in the process.
    nonisolated(unsafe) static var packedBytes = 0

    /// Calls that use a weight in place before it is packed: a one-off embedding (the CLI's
    /// first query) keeps its memory and start-up time; repeated inference (a server, an
    /// embedding loop, the benchmark's warm-up) packs on the second call and keeps the panels,
    /// one more copy of the layer's weights, for as long as the weights live.
    static let callsBeforePacking = 1

    /// Most bytes of packed panels in the process (past it, weights are used in place):
    /// `CLIP_PACKED_WEIGHTS_MB` in the environment, default 2048 (ViT-L/14's image and text
    /// towers fit); 0 turns packing off.
    static let budget: Int = {
        if let v = ProcessInfo.processInfo.environment["CLIP_PACKED_WEIGHTS_MB"], let mb = Int(v), mb >= 0 {
            return mb << 20
        }
        return 2048 << 20
    }()

    /// The packed panels of `w` (N, K) with unit-stride rows: cached ones, or packed now when
    /// this is past the ``callsBeforePacking``-th call (`force`: on the first call) and the
    /// panels fit in `budget`; nil while the weight is used in place.
    static func panels(for w: Tensor, force: Bool = false, budget: Int = budget) -> Tensor? {
        let (n, k) = (w.shape[0], w.shape[1])
        let key = Cache.Key(offset: w.offset, rowStride: w.strides[0], rows: n, depth: k)
        let storage = w.storage
        let panelCount = (n + Int(CLIP_GEMM_PANEL) - 1) / Int(CLIP_GEMM_PANEL)
        let bytes = panelCount * k * Int(CLIP_GEMM_PANEL) * MemoryLayout<Float>.stride
        return lock.withLock {
            if let panels = storage.packedWeights?.panels[key] { return panels }
            guard packedBytes + bytes <= budget else { return nil }
            let cache = storage.packedWeights ?? Cache()
            storage.packedWeights = cache
            let calls = cache.calls[key, default: 0] + 1
            cache.calls[key] = calls
            guard force || calls > callsBeforePacking else { return nil }
            let panels = Tensor(uninitializedShape: [panelCount * k * Int(CLIP_GEMM_PANEL)])
            if let half = storage.halfValues {
                // fp16 weights not widened: packed from the fp16 values (the same panels).
                if clip_gemm_pack_half(half + w.offset, w.strides[0], n, k, 0, panelCount, panels.baseAddress) > 0 {
                    storage.noteNonFinite()
                }
            } else {
                clip_gemm_pack(w.baseAddress, w.strides[0], 1, n, k, 0, panelCount, panels.baseAddress)
            }
            cache.panels[key] = panels
            cache.calls[key] = nil
            cache.bytes += bytes
            packedBytes += bytes
            return panels
        }
    }
}

extension PackedGEMM {
    /// Packs all of x (M, K), rows with stride `ld`, into ceil(M/32) panels of K × 32 (tests).
    static func pack(rows x: UnsafePointer<Float>, ld: Int, m: Int, k: Int, into panels: UnsafeMutablePointer<Float>) {
        clip_gemm_pack(x, ld, 1, m, k, 0, (m + Int(CLIP_GEMM_PANEL) - 1) / Int(CLIP_GEMM_PANEL), panels)
    }

    /// Bytes of x's rows the tasks work on at a time (a share of L3) when x exceeds twice as
    /// much; `CLIP_ROW_CHUNK_KB` overrides it for comparisons (0: never split).
    static let rowChunkBytes =
        ProcessInfo.processInfo.environment["CLIP_ROW_CHUNK_KB"].flatMap { Int($0) }.map {
            $0 <= 0 ? Int.max / 4 : $0 << 10
        } ?? 4 << 20

    /// out (M, N) = act(x · Wᵀ + shift) + residual with W given as packed panels
    /// (``PackedWeights``): x's rows are the broadcast operand, the panels' 32 features the
    /// vectors. Tasks split the weight panels, so each thread streams its share of the weights,
    /// and, when x is large, its rows into chunks of about ``rowChunkBytes``: the tasks that run
    /// together share a chunk, which stays in L3 while every panel passes over it (ViT-B/16 at
    /// batch 16 has a 39 MB `c_proj` input, read once per panel from DRAM otherwise).
    ///
    /// - Parameters:
    ///   - x: (M, K) rows with stride `ldx`. - panels: ceil(N/32) panels of K × 32.
    ///   - out: (M, N) with row stride `ldo`. - shift: N values or nil.
    ///   - residual: (M, N) with row stride `ldr`, or nil.
    static func runPackedWeights(
        x: UnsafePointer<Float>, ldx: Int, m: Int, k: Int, panels: UnsafePointer<Float>, n: Int,
        out: UnsafeMutablePointer<Float>, ldo: Int, shift: UnsafePointer<Float>?, activation: FusedActivation,
        residual: UnsafePointer<Float>?, ldr: Int, parallel: Bool = true, rowChunkBytes: Int = rowChunkBytes
    ) {
        if m == 0 || n == 0 { return }
        let panelCount = (n + Int(CLIP_GEMM_PANEL) - 1) / Int(CLIP_GEMM_PANEL)
        let code = activation.code | Int32(CLIP_GEMM_COLUMN_SHIFT)
        let xp = SendableConstPointer(x), pp = SendableConstPointer(panels), op = SendablePointer(out)
        let (hp, rp) = (shift.map(SendableConstPointer.init), residual.map(SendableConstPointer.init))
        let panelTasks = panelTaskCount(panelCount, work: m * n * k, parallel: parallel)
        // x that fits in a share of L3 is not split: the weights then stream from memory once.
        let rowBytes = max(k * MemoryLayout<Float>.stride, 1)
        let chunkRows = max(48, rowChunkBytes / rowBytes)
        let rowChunks = m * rowBytes > 2 * rowChunkBytes ? (m + chunkRows - 1) / chunkRows : 1
        let tasks = panelTasks * rowChunks
        let compute: @Sendable (Int) -> Void = { t in
            // Consecutive tasks (those running together) share a row chunk.
            let (chunk, pt) = (t / panelTasks, t % panelTasks)
            let p0 = panelCount * pt / panelTasks, p1 = panelCount * (pt + 1) / panelTasks
            let m0 = m * chunk / rowChunks, m1 = m * (chunk + 1) / rowChunks
            guard p0 < p1 && m0 < m1 else { return }
            clip_gemm_compute(
                xp.pointer, ldx, m0, m1, pp.pointer, n, k, p0, p1, op.pointer, ldo, 0, nil, hp?.pointer, code,
                rp?.pointer, ldr)
        }
        if panelTasks > 1 {
            Parallel.forEachIndex(tasks, compute)
        } else {
            for t in 0..<tasks { compute(t) }
        }
    }

    /// out (M, N) = act(x · Wᵀ + shift) + residual with W's rows packed per call, one panel of
    /// 32 features at a time, and x's rows broadcast (`clip_gemm_linear_packing`): the first
    /// call of a layer on few tokens, where the in-place product would pad M to its 32-column
    /// panels (50 image tokens cost 64 columns, 9 text tokens 16). The same bits as the
    /// in-place product; tasks split the panels. fp16 weights are widened as they are packed,
    /// and a non-finite one is reported to their storage.
    static func runPackingWeights(
        weights: Weights, ldw: Int, n: Int, k: Int, x: UnsafePointer<Float>, ldx: Int, m: Int,
        out: UnsafeMutablePointer<Float>, ldo: Int, shift: UnsafePointer<Float>?, activation: FusedActivation,
        residual: UnsafePointer<Float>?, ldr: Int, parallel: Bool = true
    ) {
        if m == 0 || n == 0 { return }
        let panelCount = (n + Int(CLIP_GEMM_PANEL) - 1) / Int(CLIP_GEMM_PANEL)
        let xp = SendableConstPointer(x), op = SendablePointer(out)
        let (hp, rp) = (shift.map(SendableConstPointer.init), residual.map(SendableConstPointer.init))
        let tasks = panelTaskCount(panelCount, work: m * n * k, parallel: parallel)
        let code = activation.code
        let compute: @Sendable (Int) -> Void = { t in
            let p0 = panelCount * t / tasks, p1 = panelCount * (t + 1) / tasks
            guard p0 < p1 else { return }
            switch weights {
            case .float(let w):
                _ = clip_gemm_linear_packing(
                    w, 0, ldw, n, k, p0, p1, xp.pointer, ldx, m, op.pointer, ldo, hp?.pointer, code, rp?.pointer, ldr)
            case .half(let w, let storage):
                let nonFinite = clip_gemm_linear_packing(
                    w, 1, ldw, n, k, p0, p1, xp.pointer, ldx, m, op.pointer, ldo, hp?.pointer, code, rp?.pointer, ldr)
                if nonFinite > 0 { storage?.noteNonFinite() }
            }
        }
        if tasks > 1 {
            Parallel.forEachIndex(tasks, compute)
        } else {
            compute(0)
        }
    }

    /// Whether ``runPackingWeights(weights:ldw:n:k:x:ldx:m:out:ldo:shift:activation:residual:ldr:parallel:)``
    /// computes at least 10 % fewer outputs than the in-place product for M tokens and N
    /// features: each pads its column operand to panels of 32 (16 for a last panel of ≤ 16).
    static func prefersPackingWeights(m: Int, n: Int) -> Bool {
        func padded(_ columns: Int) -> Int {
            let tail = columns % Int(CLIP_GEMM_PANEL)
            return columns - tail + (tail == 0 ? 0 : tail <= Int(CLIP_GEMM_PANEL) / 2 ? 16 : Int(CLIP_GEMM_PANEL))
        }
        return m * padded(n) * 10 <= padded(m) * n * 9
    }
}
