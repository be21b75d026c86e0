import CBLAS
import Dispatch

// Matrix products through CBLAS. A transposed view is passed to BLAS as a transpose flag
// with its leading dimension, never materialised.
//   M, N, K: C(M, N) = A(M, K) · B(K, N)

/// How a 2-D view is handed to row-major sgemm: pointer, transpose flag, leading dimension.
struct GEMMOperand: @unchecked Sendable {
    var pointer: UnsafeMutablePointer<Float>
    var transposed: Bool
    var leadingDimension: Int
    /// Keeps a copy alive when the view had to be made contiguous.
    var keepAlive: Tensor?

    /// Describes the matrix view `m` (shape (rows, cols), strides (rs, cs)).
    init(_ m: Tensor) {
        precondition(m.rank == 2, "GEMM operand must be 2-D, got \(m.shape)")
        let rows = m.shape[0], cols = m.shape[1]
        let rs = m.strides[0], cs = m.strides[1]
        if (cs == 1 || cols == 1) && (rs >= max(cols, 1) || rows == 1) {
            self.init(
                pointer: m.baseAddress, transposed: false, leadingDimension: rows == 1 ? max(cols, 1) : rs,
                keepAlive: nil)
        } else if (rs == 1 || rows == 1) && (cs >= max(rows, 1) || cols == 1) {
            self.init(
                pointer: m.baseAddress, transposed: true, leadingDimension: cols == 1 ? max(rows, 1) : cs,
                keepAlive: nil)
        } else {
            let c = m.copy()
            self.init(pointer: c.baseAddress, transposed: false, leadingDimension: max(cols, 1), keepAlive: c)
        }
    }

    /// A raw row-major matrix at `pointer` with leading dimension `ld`.
    static func raw(_ pointer: UnsafeMutablePointer<Float>, _ ld: Int, transposed: Bool = false) -> GEMMOperand {
        GEMMOperand(pointer: pointer, transposed: transposed, leadingDimension: ld, keepAlive: nil)
    }

    init(pointer: UnsafeMutablePointer<Float>, transposed: Bool, leadingDimension: Int, keepAlive: Tensor?) {
        self.pointer = pointer
        self.transposed = transposed
        self.leadingDimension = leadingDimension
        self.keepAlive = keepAlive
    }
}

/// C = alpha · op(A) · op(B) + beta · C on row-major memory.
///
/// Large products are split into `Parallel.threadCount` blocks along the longer of M and N,
/// each a single-threaded BLAS call (`parallel: false` inside a parallel region).
func sgemm(
    _ a: GEMMOperand, _ b: GEMMOperand, m: Int, n: Int, k: Int,
    c: UnsafeMutablePointer<Float>, ldc: Int, alpha: Float = 1, beta: Float = 0, parallel: Bool = true
) {
    if m == 0 || n == 0 { return }
    if k == 0 {
        // BLAS leaves C untouched for k = 0 only when beta == 1; make the result explicit.
        if beta == 0 { for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) } }
        return
    }
    BLAS.pinned
    let threads = parallel ? Parallel.threadCount : 1
    // Below ~2^18 multiply-adds a split costs more than it gains.
    guard threads > 1 && m * n * k >= 1 << 18 && max(m, n) >= 2 * threads else {
        sgemmCall(a, b, m: m, n: n, k: k, c: c, ldc: ldc, alpha: alpha, beta: beta)
        return
    }
    let cp = SendablePointer(c)
    if m > n {
        // Row blocks: rows of op(A) and of C.
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            let r0 = m * t / threads, r1 = m * (t + 1) / threads
            guard r0 < r1 else { return }
            let aBlock = GEMMOperand.raw(
                a.pointer + (a.transposed ? r0 : r0 * a.leadingDimension), a.leadingDimension, transposed: a.transposed)
            sgemmCall(aBlock, b, m: r1 - r0, n: n, k: k, c: cp.pointer + r0 * ldc, ldc: ldc, alpha: alpha, beta: beta)
        }
    } else {
        // Column blocks: columns of op(B) and of C.
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            let c0 = n * t / threads, c1 = n * (t + 1) / threads
            guard c0 < c1 else { return }
            let bBlock = GEMMOperand.raw(
                b.pointer + (b.transposed ? c0 * b.leadingDimension : c0), b.leadingDimension, transposed: b.transposed)
            sgemmCall(a, bBlock, m: m, n: c1 - c0, k: k, c: cp.pointer + c0, ldc: ldc, alpha: alpha, beta: beta)
        }
    }
    withExtendedLifetime((a.keepAlive, b.keepAlive)) {}
}

@inline(__always)
private func sgemmCall(
    _ a: GEMMOperand, _ b: GEMMOperand, m: Int, n: Int, k: Int,
    c: UnsafeMutablePointer<Float>, ldc: Int, alpha: Float, beta: Float
) {
    cblas_sgemm(
        CLIPCblasRowMajor,
        a.transposed ? CLIPCblasTrans : CLIPCblasNoTrans,
        b.transposed ? CLIPCblasTrans : CLIPCblasNoTrans,
        Int32(m), Int32(n), Int32(k), alpha,
        a.pointer, Int32(a.leadingDimension), b.pointer, Int32(b.leadingDimension),
        beta, c, Int32(ldc))
}

extension Tensor {
    /// Matrix product with NumPy semantics for the batch dimensions:
    /// (…, M, K) · (…, K, N) → (…, M, N). Batch dimensions broadcast.
    public static func matmul(_ a: Tensor, _ b: Tensor) -> Tensor {
        precondition(a.rank >= 2 && b.rank >= 2, "matmul needs rank ≥ 2, got \(a.shape) and \(b.shape)")
        let m = a.size(-2), k = a.size(-1), n = b.size(-1)
        precondition(b.size(-2) == k, "matmul inner dimensions differ: \(a.shape) · \(b.shape)")
        let aBatch = Array(a.shape.dropLast(2)), bBatch = Array(b.shape.dropLast(2))
        let batchShape = broadcastShapes(aBatch, bBatch)
        let out = Tensor(uninitializedShape: batchShape + [m, n])
        let batches = Tensor.elementCount(batchShape)
        if batches == 0 { return out }

        // B shared by every batch and A's rows collapsible: one tall GEMM (or one per batch entry,
        // batch-invariant).
        if bBatch.allSatisfy({ $0 == 1 }) && a.isContiguous && batchShape == aBatch {
            let a2 = a.reshaped([batches * m, k])
            let bView = Tensor(
                storage: b.storage, shape: [k, n], strides: Array(b.strides.suffix(2)), offset: b.offset)
            if Parallel.batchInvariant && a.rank >= 3 {
                let bOperand = GEMMOperand(bView)
                sequenceSGEMM(
                    a2.baseAddress, lda: k, sequences: batches, rows: m, bOperand, n: n, k: k, c: out.baseAddress,
                    ldc: n)
                withExtendedLifetime((a2, bOperand.keepAlive)) {}
                return out
            }
            sgemm(GEMMOperand(a2), GEMMOperand(bView), m: batches * m, n: n, k: k, c: out.baseAddress, ldc: n)
            return out
        }

        let aView = a.broadcast(to: batchShape + [m, k])
        let bView = b.broadcast(to: batchShape + [k, n])
        let aOffsets = batchOffsets(aView, batchRank: batchShape.count)
        let bOffsets = batchOffsets(bView, batchRank: batchShape.count)
        let aStrides = Array(aView.strides.suffix(2)), bStrides = Array(bView.strides.suffix(2))
        let outBase = SendablePointer(out.baseAddress)
        // Many small products: one per task. Few large ones: each split into blocks.
        let perTask = batches >= Parallel.threadCount && m * n * k < 1 << 21
        let run: @Sendable (Int) -> Void = { i in
            let am = Tensor(
                storage: aView.storage, shape: [m, k], strides: aStrides, offset: aView.offset + aOffsets[i])
            let bm = Tensor(
                storage: bView.storage, shape: [k, n], strides: bStrides, offset: bView.offset + bOffsets[i])
            sgemm(
                GEMMOperand(am), GEMMOperand(bm), m: m, n: n, k: k, c: outBase.pointer + i * m * n, ldc: n,
                parallel: !perTask)
        }
        if perTask {
            Parallel.forEachIndex(batches, run)
        } else {
            for i in 0..<batches { run(i) }
        }
        return out
    }

    /// A fully connected layer: x (…, I) · weightᵀ + bias → (…, O), with `weight` (O, I)
    /// as stored by PyTorch's `nn.Linear`.
    ///
    /// With `batchInvariant` a (S, T, I) input runs one product per sequence (see
    /// `sequenceSGEMM`): a sequence's rows do not depend on the other sequences in the batch.
    public static func linear(
        _ x: Tensor, weight: Tensor, bias: Tensor? = nil, batchInvariant: Bool = Parallel.batchInvariant
    ) -> Tensor {
        let (inFeatures, outFeatures) = checkLinearShapes(x, weight: weight, bias: bias)
        let rows = x.count / max(inFeatures, 1)
        let out = Tensor(uninitializedShape: Array(x.shape.dropLast()) + [outFeatures])
        let x2 = x.rank == 2 ? x : x.reshaped([rows, inFeatures])
        var beta: Float = 0
        if let bias {
            bias.withUnsafeBufferPointer { b in
                let src = SendablePointer(UnsafeMutablePointer(mutating: b.baseAddress!)),
                    dst = SendablePointer(out.baseAddress)
                Parallel.forEach(rows, grain: max(1, 8192 / max(outFeatures, 1))) { range in
                    for r in range { (dst.pointer + r * outFeatures).update(from: src.pointer, count: outFeatures) }
                }
            }
            beta = 1
        }
        if batchInvariant && x.rank >= 3 && x.isContiguous && rows > 0 {
            // (S, T, I): one product per sequence, so its rows do not depend on the batch.
            let t = x.size(-2)
            let w = GEMMOperand(weight.transposed(0, 1))
            sequenceSGEMM(
                x.baseAddress, lda: inFeatures, sequences: rows / max(t, 1), rows: t, w, n: outFeatures,
                k: inFeatures, c: out.baseAddress, ldc: outFeatures, beta: beta)
            withExtendedLifetime((x, w.keepAlive)) {}
            return out
        }
        sgemm(
            GEMMOperand(x2), GEMMOperand(weight.transposed(0, 1)), m: rows, n: outFeatures, k: inFeatures,
            c: out.baseAddress, ldc: outFeatures, beta: beta)
        return out
    }

    /// Checks a linear layer's operands, x (…, I), weight (O, I) and bias (O), and returns (I, O).
    static func checkLinearShapes(_ x: Tensor, weight: Tensor, bias: Tensor?) -> (inFeatures: Int, outFeatures: Int) {
        precondition(weight.rank == 2, "linear weight must be (out, in), got \(weight.shape)")
        let inFeatures = x.size(-1), outFeatures = weight.shape[0]
        precondition(weight.shape[1] == inFeatures, "linear: input \(x.shape) does not match weight \(weight.shape)")
        if let bias {
            precondition(
                bias.shape == [outFeatures], "linear: bias \(bias.shape) does not match weight \(weight.shape)")
        }
        return (inFeatures, outFeatures)
    }

    /// Element offsets of each batch entry (row-major over the leading `batchRank` dimensions).
    static func batchOffsets(_ t: Tensor, batchRank: Int) -> [Int] {
        let batchShape = Array(t.shape.prefix(batchRank))
        let count = Tensor.elementCount(batchShape)
        var offsets = [Int](repeating: 0, count: count)
        var index = [Int](repeating: 0, count: batchRank)
        for i in 0..<count {
            var off = 0
            for d in 0..<batchRank { off += index[d] * t.strides[d] }
            offsets[i] = off
            var d = batchRank - 1
            while d >= 0 {
                index[d] += 1
                if index[d] < batchShape[d] { break }
                index[d] = 0
                d -= 1
            }
        }
        return offsets
    }

    /// NumPy broadcasting of two shapes.
    public static func broadcastShapes(_ a: [Int], _ b: [Int]) -> [Int] {
        let rank = max(a.count, b.count)
        var out = [Int](repeating: 1, count: rank)
        for i in 0..<rank {
            let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            precondition(da == db || da == 1 || db == 1, "shapes \(a) and \(b) do not broadcast")
            out[i] = da == 1 ? db : da
        }
        return out
    }
}

// MARK: - Backward (g = ∂L/∂y)

extension Tensor {
    /// Gradients of `linear(x, weight, bias)`: ∂x = g · W, ∂W = Σ_rows gᵀ · x, ∂b = Σ_rows g.
    public static func linearBackward(x: Tensor, weight: Tensor, g: Tensor, needsBias: Bool)
        -> (dx: Tensor, dWeight: Tensor, dBias: Tensor?)
    {
        let inFeatures = weight.shape[1], outFeatures = weight.shape[0]
        let rows = x.count / max(inFeatures, 1)
        let x2 = x.contiguous().reshaped([rows, inFeatures])  // (R, I)
        let g2 = g.contiguous().reshaped([rows, outFeatures])  // (R, O)
        let dx = matmul(g2, weight).reshaped(x.shape)  // (R, I)
        let dW = matmul(g2.transposed(0, 1), x2)  // (O, I)
        let dB = needsBias ? sum(g2, dim: 0) : nil  // (O)
        return (dx, dW, dB)
    }

    /// Gradients of `matmul(a, b)` with broadcast batch dimensions reduced back:
    /// ∂a = g · bᵀ, ∂b = aᵀ · g.
    public static func matmulBackward(a: Tensor, b: Tensor, g: Tensor) -> (da: Tensor, db: Tensor) {
        let da = matmul(g, b.transposed(-1, -2))
        let db = matmul(a.transposed(-1, -2), g)
        return (sumToShape(da, a.shape), sumToShape(db, b.shape))
    }
}
