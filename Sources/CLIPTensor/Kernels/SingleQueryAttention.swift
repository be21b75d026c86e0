import CTensorKernels

// Attention with one query per sequence (a ResNet's attention pool) without forming the keys
// or values: per head h, with x_t the N input rows,
//   score_t = q_h · (Wk_h x_t + bk_h) / √dh = (Wk_hᵀ q_h) · x_t / √dh + const
//   out_h   = Σ_t p_t (Wv_h x_t + bv_h)    = Wv_h (Σ_t p_t x_t) + bv_h
// (softmax ignores the constant q_h · bk_h, and Σ_t p_t = 1). Keys and values cost 2·N·D²
// multiply-adds per sequence; this costs 2·D² + 2·H·N·D. RN50 at 224 px: N = 50, D = 2048,
// 0.84 of 12 GFLOP per image become 0.02.
//   B sequences, N rows each, D width, H heads of dh = D / H

/// Single-query attention on the packed GEMM (inference; x86-64 with AVX2 + FMA or AVX-512).
public enum SingleQueryAttention {
    /// Whether ``attend(query:x:keysByHead:valueWeight:valueBias:heads:)`` runs on this CPU.
    public static var isAvailable: Bool { PackedGEMM.isAvailable }

    /// The key projection's weight Wk (D, D) (PyTorch (out, in)) regrouped per head and
    /// transposed: (H, D, dh), block h = Wk_hᵀ. Make it once (at load).
    public static func keysByHead(_ keyWeight: Tensor, heads: Int) -> Tensor {
        precondition(
            keyWeight.rank == 2 && keyWeight.shape[0] == keyWeight.shape[1] && heads > 0
                && keyWeight.shape[0] % heads == 0,
            "keysByHead needs a square (D, D) weight and heads dividing D, got \(keyWeight.shape), \(heads)")
        let d = keyWeight.shape[0], dh = d / heads
        guard let half = keyWeight.storage.halfValues, keyWeight.isContiguous else {
            // (D, D) = (H, dh, D) → (H, D, dh)
            return keyWeight.reshaped([heads, dh, d]).transposed(1, 2).contiguous()
        }
        // An fp16 checkpoint's Wk read in place: each row widened (exact, non-finite values
        // reported to the weight's storage) and scattered into its column, without a Float32
        // copy of the whole weight kept beside the file's pages (RN50: 16 MB).
        let out = Tensor(uninitializedShape: [heads, d, dh])
        let bits = half + keyWeight.offset
        var row = [Float](repeating: 0, count: d)
        var nonFinite = 0
        for h in 0..<heads {
            for r in 0..<dh {
                row.withUnsafeMutableBufferPointer {
                    nonFinite += clip_half_to_float(bits + (h * dh + r) * d, $0.baseAddress, d)
                }
                let block = out.baseAddress + h * d * dh + r
                for c in 0..<d { block[c * dh] = row[c] }
            }
        }
        if nonFinite > 0 { keyWeight.storage.noteNonFinite() }
        return out
    }

    /// softmax((query_h · (x Wk_hᵀ + bk_h)ᵀ) / √dh) · (x Wv_hᵀ + bv_h) per head: what
    /// ``Tensor/scaledDotProductAttention(q:k:v:heads:causal:)`` gives for one query row with
    /// keys and values projected from `x`, rounded differently (not bit-equal). Each sequence's
    /// bits do not depend on the others in the batch.
    ///
    /// - Parameters:
    ///   - query: (B, D), already projected. - x: (B, N, D).
    ///   - keysByHead: ``keysByHead(_:heads:)`` of Wk. - valueWeight: Wv (D, D). - valueBias: (D) or nil.
    /// - Returns: (B, D), heads side by side.
    public static func attend(
        query: Tensor, x: Tensor, keysByHead: Tensor, valueWeight: Tensor, valueBias: Tensor?, heads: Int
    ) -> Tensor {
        precondition(isAvailable, "SingleQueryAttention needs the packed GEMM (SingleQueryAttention.isAvailable)")
        let (b, n, d) = (x.shape[0], x.shape[1], x.shape[2])
        let dh = d / heads
        precondition(
            query.shape == [b, d] && keysByHead.shape == [heads, d, dh] && valueWeight.shape == [d, d]
                && (valueBias?.shape ?? [d]) == [d],
            "SingleQueryAttention: query \(query.shape), x \(x.shape), keys \(keysByHead.shape), values \(valueWeight.shape)"
        )
        let q = query.contiguous(), xs = x.contiguous(), keys = keysByHead.contiguous()
        let wv = valueWeight.contiguous(), bias = valueBias?.contiguous()
        let folded = Tensor(uninitializedShape: [b, heads, d])  // Wk_hᵀ q_h
        let scores = Tensor(uninitializedShape: [b, heads, n])  // then the probabilities
        let pooled = Tensor(uninitializedShape: [b, heads, d])  // Σ_t p_t x_t
        let out = Tensor(uninitializedShape: [b, d])
        let (qp, xp, kp) = (
            SendableConstPointer(q.baseAddress), SendableConstPointer(xs.baseAddress),
            SendableConstPointer(keys.baseAddress)
        )
        let (fp, sp, pp, op) = (
            SendablePointer(folded.baseAddress), SendablePointer(scores.baseAddress),
            SendablePointer(pooled.baseAddress), SendablePointer(out.baseAddress)
        )
        let values = wv.gemmWeights
        let bp = bias.map { SendableConstPointer($0.baseAddress) }
        let scale = 1 / Float(dh).squareRoot()
        // Per head, every sequence in one product (the weights stream once): folded[·, h] (B, D)
        // = q_h (B, dh) · Wk_h, as rows × keysByHead[h] (D, dh).
        Parallel.forEachIndex(heads) { h in
            PackedGEMM.run(
                w: kp.pointer + h * d * dh, ldw: dh, n: d, k: dh, x: qp.pointer + h * dh, ldx: d,
                rowsAreColumns: true, m: b, out: fp.pointer + h * d, ldo: heads * d, transposed: true,
                parallel: false)
        }
        // Per sequence: scores (H, N) = folded (H, D) · xᵀ, softmax rows, pooled (H, D) = p · x.
        Parallel.forEachIndex(b) { i in
            let xi = xp.pointer + i * n * d, si = sp.pointer + i * heads * n
            PackedGEMM.run(
                w: UnsafePointer(fp.pointer + i * heads * d), ldw: d, n: heads, k: d, x: xi, ldx: d,
                rowsAreColumns: true, m: n, out: si, ldo: n, transposed: false, parallel: false)
            for h in 0..<heads {
                let row = si + h * n
                for t in 0..<n { row[t] = row[t] * scale }
                Tensor.softmaxRow(row, row, n)
            }
            PackedGEMM.run(
                w: UnsafePointer(si), ldw: n, n: heads, k: n, x: xi, ldx: d, rowsAreColumns: false, m: d,
                out: pp.pointer + i * heads * d, ldo: d, transposed: false, parallel: false)
        }
        // Per head, every sequence: out[·, h] (B, dh) = pooled[·, h] (B, D) · Wv_hᵀ + bv_h.
        Parallel.forEachIndex(heads) { h in
            let rows: PackedGEMM.Weights
            switch values {
            case .float(let w): rows = .float(w + h * dh * d)
            case .half(let w, let storage): rows = .half(w + h * dh * d, storage)
            }
            PackedGEMM.run(
                weights: rows, ldw: d, n: dh, k: d, x: UnsafePointer(pp.pointer + h * d), ldx: heads * d,
                rowsAreColumns: true, m: b, out: op.pointer + h * dh, ldo: d, transposed: true,
                shift: bp.map { $0.pointer + h * dh }, parallel: false)
        }
        withExtendedLifetime((q, xs, keys, wv, bias, folded, scores, pooled)) {}
        return out
    }
}
