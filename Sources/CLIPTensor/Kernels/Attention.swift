import CTensorKernels
import Foundation

// Scaled dot-product attention, one (batch, head) pair per task.
//   B batch, Tq query tokens, Tk key tokens, H heads, D head width, C = H·D
// Each task holds one (Tq, Tk) score block; at most one task runs per thread, so memory is
// bounded by threads × Tq × Tk floats however large B·H is.

extension Tensor {
    /// softmax(Q Kᵀ / √D + mask) V for each head.
    ///
    /// - Parameters:
    ///   - q: (B, Tq, C) queries; rows may be strided (e.g. a slice of a fused QKV projection)
    ///     but the last dimension must have stride 1 (otherwise a copy is made).
    ///   - k: (B, Tk, C) keys. - v: (B, Tk, C) values.
    ///   - heads: H; C must be divisible by H.
    ///   - causal: mask keys after the query position (query i sees keys j ≤ i + Tk − Tq).
    /// - Returns: (B, Tq, C), heads concatenated in order.
    public static func scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, heads: Int, causal: Bool = false)
        -> Tensor
    {
        scaledDotProductAttention(q: q, k: k, v: v, heads: heads, causal: causal, keepProbabilities: false).out
    }

    /// Largest P (B, H, Tq, Tk), in elements, that the forward pass keeps for the backward
    /// pass (32 MB); larger ones are recomputed per head (the same bits either way).
    static let keptProbabilitiesLimit = 1 << 23

    /// The forward kernel; with `keepProbabilities` (and P no larger than
    /// ``keptProbabilitiesLimit``) it also returns P (B, H, Tq, Tk) for the backward pass.
    static func scaledDotProductAttention(
        q: Tensor, k: Tensor, v: Tensor, heads: Int, causal: Bool, keepProbabilities: Bool
    )
        -> (out: Tensor, probabilities: Tensor?)
    {
        precondition(
            q.rank == 3 && k.rank == 3 && v.rank == 3,
            "attention needs (B, T, C) tensors, got \(q.shape), \(k.shape), \(v.shape)")
        let (b, tq, c) = (q.shape[0], q.shape[1], q.shape[2])
        let tk = k.shape[1]
        precondition(
            k.shape == [b, tk, c] && v.shape == [b, tk, c],
            "attention: q \(q.shape), k \(k.shape), v \(v.shape) do not fit")
        precondition(heads > 0 && c % heads == 0, "attention: width \(c) not divisible by \(heads) heads")
        let d = c / heads
        let q = rowMajorRows(q), k = rowMajorRows(k), v = rowMajorRows(v)
        let out = Tensor(uninitializedShape: [b, tq, c])
        let kept =
            keepProbabilities && b * heads * tq * tk <= keptProbabilitiesLimit
            ? Tensor(uninitializedShape: [b, heads, tq, tk]) : nil  // (B, H, Tq, Tk)
        let scale = 1 / Float(d).squareRoot()
        let qp = SendablePointer(q.baseAddress), kp = SendablePointer(k.baseAddress),
            vp = SendablePointer(v.baseAddress)
        let op = SendablePointer(out.baseAddress), pp = kept.map { SendablePointer($0.baseAddress) }
        let (qs, ks, vs) = ((q.strides[0], q.strides[1]), (k.strides[0], k.strides[1]), (v.strides[0], v.strides[1]))
        // Causal self-attention at inference: each query row from the rows before it only, so a
        // text's bits do not depend on how many positions run (text stops at the EOT) nor on the
        // batch. Training keeps the BLAS path whose probabilities the backward pass reuses.
        let rowwiseCausal = causal && tq == tk && !keepProbabilities
        // Full attention at inference (image tokens) on the packed GEMM, one head per task:
        // OpenBLAS's AVX2 kernels ran these small products at a quarter of the AVX-512 peak,
        // 8–11 % of a ViT-B/16 or ViT-L/14 image forward. Each head of each image is its own
        // single-threaded product, so an image's bits do not depend on its batch.
        let packedFull = PackedGEMM.isAvailable && !causal && !keepProbabilities
        let scales = packedFull ? Tensor(repeating: scale, shape: [tq]) : nil  // (Tq)
        let scalesPointer = scales.map { SendableConstPointer($0.baseAddress) }
        Parallel.forEachIndex(b * heads) { task in
            let n = task / heads, h = task % heads
            let qh = qp.pointer + n * qs.0 + h * d  // (Tq, D), row stride qs.1
            let kh = kp.pointer + n * ks.0 + h * d  // (Tk, D), row stride ks.1
            let vh = vp.pointer + n * vs.0 + h * d  // (Tk, D), row stride vs.1
            let oh = op.pointer + n * tq * c + h * d  // (Tq, D), row stride C
            if rowwiseCausal {
                let scratch = UnsafeMutablePointer<Float>.allocate(capacity: d * tk + tk)  // Kᵀ (D, T) + scores (T)
                defer { scratch.deallocate() }
                clip_causal_attention_head(qh, qs.1, kh, ks.1, vh, vs.1, tq, d, scale, oh, c, scratch)
                return
            }
            let scores = pp.map { $0.pointer + task * tq * tk } ?? .allocate(capacity: tq * tk)  // (Tq, Tk)
            defer { if pp == nil { scores.deallocate() } }
            if let scalesPointer {
                // S = scale · Q Kᵀ: the query rows are the weight rows, the key rows packed as columns.
                PackedGEMM.run(
                    w: qh, ldw: qs.1, n: tq, k: d, x: kh, ldx: ks.1, rowsAreColumns: true, m: tk, out: scores, ldo: tk,
                    transposed: false, scale: scalesPointer.pointer, parallel: false)
                for i in 0..<tq { softmaxRow(scores + i * tk, scores + i * tk, tk) }
                // O = P V: the probability rows are the weight rows, V (Tk, D) packed as columns.
                PackedGEMM.run(
                    w: scores, ldw: tk, n: tq, k: tk, x: vh, ldx: vs.1, rowsAreColumns: false, m: d, out: oh, ldo: c,
                    transposed: false, parallel: false)
                return
            }
            attentionProbabilities(
                q: qh, qStride: qs.1, k: kh, kStride: ks.1, tq: tq, tk: tk, d: d,
                scale: scale, causal: causal, into: scores)
            sgemm(
                GEMMOperand(pointer: scores, transposed: false, leadingDimension: tk, keepAlive: nil),
                GEMMOperand(pointer: vh, transposed: false, leadingDimension: vs.1, keepAlive: nil),
                m: tq, n: d, k: tk, c: oh, ldc: c, parallel: false)
        }
        withExtendedLifetime((q, k, v, scales)) {}
        return (out, kept)
    }

    /// Causal self-attention over packed sequences (inference): the rows of qkv (1, N, 3C) =
    /// [q | k | v] hold several sequences back to back, `segments` their row ranges (in order,
    /// disjoint, covering 0..<N), and each row attends to the rows of its own segment up to
    /// itself → (1, N, C). A row's bits are those of its sequence run alone
    /// (`clip_causal_attention_head` computes row i from rows 0 … i only), so texts of different
    /// lengths share one pass through the linear layers without padding.
    public static func causalSelfAttention(packed qkv: Tensor, heads: Int, segments: [Range<Int>]) -> Tensor {
        precondition(
            qkv.rank == 3 && qkv.shape[0] == 1 && qkv.shape[2] % 3 == 0,
            "packed attention needs (1, N, 3C), got \(qkv.shape)")
        let (n, c) = (qkv.shape[1], qkv.shape[2] / 3)
        precondition(heads > 0 && c % heads == 0, "attention: width \(c) not divisible by \(heads) heads")
        var next = 0
        for segment in segments {
            precondition(
                segment.lowerBound == next && !segment.isEmpty,
                "packed attention: segments \(segments) do not tile 0..<\(n)")
            next = segment.upperBound
        }
        precondition(next == n, "packed attention: segments \(segments) do not tile 0..<\(n)")
        let d = c / heads
        let rows = rowMajorRows(qkv)  // (1, N, 3C), unit-stride rows
        let ld = rows.strides[1]
        let out = Tensor(uninitializedShape: [1, n, c])
        let scale = 1 / Float(d).squareRoot()
        let xp = SendablePointer(rows.baseAddress), op = SendablePointer(out.baseAddress)
        let longest = segments.map(\.count).max() ?? 0
        Parallel.forEachIndex(segments.count * heads) { task in
            let segment = segments[task / heads], h = task % heads
            let q = xp.pointer + segment.lowerBound * ld + h * d  // (L, D), row stride ld
            // Kᵀ (D, L) + scores (L)
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: d * longest + longest)
            defer { scratch.deallocate() }
            clip_causal_attention_head(
                q, ld, q + c, ld, q + 2 * c, ld, segment.count, d, scale,
                op.pointer + segment.lowerBound * c + h * d, c, scratch)
        }
        withExtendedLifetime(rows) {}
        return out
    }

    /// P = softmax(scale · Q Kᵀ + causal mask) for one head, into `p` (Tq, Tk): the forward
    /// pass and the backward pass's recomputation share it.
    static func attentionProbabilities(
        q: UnsafeMutablePointer<Float>, qStride: Int, k: UnsafeMutablePointer<Float>, kStride: Int,
        tq: Int, tk: Int, d: Int, scale: Float, causal: Bool, into p: UnsafeMutablePointer<Float>
    ) {
        sgemm(
            GEMMOperand.raw(q, qStride), GEMMOperand.raw(k, kStride, transposed: true), m: tq, n: tk, k: d,
            c: p, ldc: tk, alpha: scale, parallel: false)
        for i in 0..<tq {
            let row = p + i * tk
            if causal {
                // Query i sees keys j ≤ i + Tk − Tq.
                let visible = max(0, min(tk, i + tk - tq + 1))
                for j in visible..<tk { row[j] = -.infinity }
            }
            softmaxRow(row, row, tk)
        }
    }

    /// `t` if its last dimension is unit-stride (rows may be strided), else a contiguous copy.
    /// A single row's stride is arbitrary (size-1 dimensions may carry any stride); it is set
    /// to the row width so it can serve as a BLAS leading dimension.
    static func rowMajorRows(_ t: Tensor) -> Tensor {
        if t.shape[1] == 1 && (t.strides[2] == 1 || t.shape[2] == 1) {
            return Tensor(
                storage: t.storage, shape: t.shape, strides: [t.strides[0], max(t.shape[2], 1), 1], offset: t.offset)
        }
        return (t.strides[2] == 1 || t.shape[2] == 1) && t.strides[1] >= t.shape[2] ? t : t.contiguous()
    }
}

// MARK: - Backward (g = ∂L/∂out, (B, Tq, C))
// Per (batch, head), with P recomputed: ∂V = Pᵀ·g, ∂P = g·Vᵀ, ∂S = P ∘ (∂P − rowsum(∂P ∘ P)),
// ∂Q = ∂S·K / √D, ∂K = ∂Sᵀ·Q / √D.

extension Tensor {
    /// Gradients of `scaledDotProductAttention` with respect to q, k and v (each contiguous,
    /// shaped like its input).
    public static func scaledDotProductAttentionBackward(
        q: Tensor, k: Tensor, v: Tensor, g: Tensor, heads: Int, causal: Bool
    )
        -> (dq: Tensor, dk: Tensor, dv: Tensor)
    {
        let (b, tq, c) = (q.shape[0], q.shape[1], q.shape[2])
        let tk = k.shape[1]
        let dq = Tensor(uninitializedShape: [b, tq, c]), dk = Tensor(uninitializedShape: [b, tk, c]),
            dv = Tensor(uninitializedShape: [b, tk, c])
        scaledDotProductAttentionBackward(
            q: q, k: k, v: v, g: g, heads: heads, causal: causal, probabilities: nil, dq: dq, dk: dk, dv: dv)
        return (dq, dk, dv)
    }

    /// Gradients of self-attention on a fused projection qkv (B, T, 3C) = [q | k | v]: one
    /// (B, T, 3C) tensor whose column blocks the kernel writes directly (no slice gradients to
    /// zero-fill and add).
    public static func selfAttentionBackward(qkv: Tensor, g: Tensor, heads: Int, causal: Bool) -> Tensor {
        selfAttentionBackward(qkv: qkv, g: g, heads: heads, causal: causal, probabilities: nil)
    }

    /// ``selfAttentionBackward(qkv:g:heads:causal:)`` reusing the forward pass's P when kept.
    static func selfAttentionBackward(qkv: Tensor, g: Tensor, heads: Int, causal: Bool, probabilities: Tensor?)
        -> Tensor
    {
        let c = qkv.shape[2] / 3
        let dqkv = Tensor(uninitializedShape: qkv.shape)  // (B, T, 3C)
        scaledDotProductAttentionBackward(
            q: qkv.sliced(dim: 2, range: 0..<c), k: qkv.sliced(dim: 2, range: c..<(2 * c)),
            v: qkv.sliced(dim: 2, range: (2 * c)..<(3 * c)), g: g, heads: heads, causal: causal,
            probabilities: probabilities, dq: dqkv.sliced(dim: 2, range: 0..<c),
            dk: dqkv.sliced(dim: 2, range: c..<(2 * c)),
            dv: dqkv.sliced(dim: 2, range: (2 * c)..<(3 * c)))
        return dqkv
    }

    /// The backward kernel, writing every element of dq (B, Tq, C), dk and dv (B, Tk, C):
    /// views whose rows may be strided (unit-stride last dimension). P (B, H, Tq, Tk) is the
    /// forward pass's when given, else recomputed per head.
    static func scaledDotProductAttentionBackward(
        q: Tensor, k: Tensor, v: Tensor, g: Tensor, heads: Int, causal: Bool,
        probabilities: Tensor?, dq: Tensor, dk: Tensor, dv: Tensor
    ) {
        let (b, tq, c) = (q.shape[0], q.shape[1], q.shape[2])
        let tk = k.shape[1], d = c / heads
        let q = rowMajorRows(q), k = rowMajorRows(k), v = rowMajorRows(v), g = rowMajorRows(g)
        precondition(
            [dq, dk, dv].allSatisfy { $0.strides[2] == 1 && $0.strides[1] >= c },
            "attention backward: gradient views need unit-stride rows")
        let scale = 1 / Float(d).squareRoot()
        let qp = SendablePointer(q.baseAddress), kp = SendablePointer(k.baseAddress),
            vp = SendablePointer(v.baseAddress)
        let gp = SendablePointer(g.baseAddress)
        let dqp = SendablePointer(dq.baseAddress), dkp = SendablePointer(dk.baseAddress),
            dvp = SendablePointer(dv.baseAddress)
        if let probabilities {
            precondition(
                probabilities.shape == [b, heads, tq, tk] && probabilities.isContiguous,
                "attention backward: P \(probabilities.shape)")
        }
        let pp = probabilities.map { SendablePointer($0.baseAddress) }
        let (qs, ks, vs, gs) = (
            (q.strides[0], q.strides[1]), (k.strides[0], k.strides[1]), (v.strides[0], v.strides[1]),
            (g.strides[0], g.strides[1])
        )
        let (dqs, dks, dvs) = (
            (dq.strides[0], dq.strides[1]), (dk.strides[0], dk.strides[1]), (dv.strides[0], dv.strides[1])
        )
        Parallel.forEachIndex(b * heads) { task in
            let n = task / heads, h = task % heads
            let qh = qp.pointer + n * qs.0 + h * d, kh = kp.pointer + n * ks.0 + h * d,
                vh = vp.pointer + n * vs.0 + h * d
            let gh = gp.pointer + n * gs.0 + h * d
            let dqh = dqp.pointer + n * dqs.0 + h * d, dkh = dkp.pointer + n * dks.0 + h * d,
                dvh = dvp.pointer + n * dvs.0 + h * d
            let dScores = UnsafeMutablePointer<Float>.allocate(capacity: tq * tk)  // ∂P, then ∂S
            let probabilities = pp.map { $0.pointer + task * tq * tk } ?? .allocate(capacity: tq * tk)  // P (Tq, Tk)
            defer {
                dScores.deallocate()
                if pp == nil { probabilities.deallocate() }
            }
            if pp == nil {
                attentionProbabilities(
                    q: qh, qStride: qs.1, k: kh, kStride: ks.1, tq: tq, tk: tk, d: d,
                    scale: scale, causal: causal, into: probabilities)
            }
            sgemm(
                GEMMOperand.raw(probabilities, tk, transposed: true), GEMMOperand.raw(gh, gs.1), m: tk, n: d, k: tq,
                c: dvh, ldc: dvs.1, parallel: false)  // ∂V
            sgemm(
                GEMMOperand.raw(gh, gs.1), GEMMOperand.raw(vh, vs.1, transposed: true), m: tq, n: tk, k: d, c: dScores,
                ldc: tk, parallel: false)  // ∂P
            // ∂S
            for i in 0..<tq { softmaxRowBackward(probabilities + i * tk, dScores + i * tk, dScores + i * tk, tk) }
            sgemm(
                GEMMOperand.raw(dScores, tk), GEMMOperand.raw(kh, ks.1), m: tq, n: d, k: tk, c: dqh, ldc: dqs.1,
                alpha: scale, parallel: false)  // ∂Q
            sgemm(
                GEMMOperand.raw(dScores, tk, transposed: true), GEMMOperand.raw(qh, qs.1), m: tk, n: d, k: tq, c: dkh,
                ldc: dks.1, alpha: scale, parallel: false)  // ∂K
        }
        withExtendedLifetime((q, k, v, g, dq, dk, dv, probabilities)) {}
    }
}
