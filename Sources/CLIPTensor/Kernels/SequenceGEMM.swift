import Dispatch

// Batch-invariant products for sequence models: one BLAS call per (sequence, column chunk), so
// a sequence's result never depends on which other sequences share its batch.
//   S sequences of T rows each; C(S·T, N) = A(S·T, K) · op(B)(K, N).
//
// Why: a BLAS kernel rounds a row differently depending on where the row falls in its register
// tiles (OpenBLAS 0.3.21's Haswell sgemm: 24-row tiles, 8-row and smaller edge kernels) and on
// the product's shape, so the same text embedded alone, in `clip embed`'s batch or in a server
// batch differed by ~1e-7. Calling BLAS with the same shapes on the same rows gives the same
// bits, whatever the batch: T rows of one sequence, and column chunks fixed by N alone.

/// Column chunk width of per-sequence products: fixed, never derived from the batch or the thread
/// count, so each (sequence, chunk) is always the same BLAS call.
let sequenceGEMMColumns = 256

/// C[s] = A[s] · op(B) + beta · C[s] for each sequence s of `rows` consecutive rows of A (leading
/// dimension `lda`) and C (leading dimension `ldc`), one single-threaded BLAS call per sequence
/// and column chunk, spread over ``Parallel``'s threads.
func sequenceSGEMM(
    _ a: UnsafeMutablePointer<Float>, lda: Int, sequences: Int, rows: Int, _ b: GEMMOperand, n: Int, k: Int,
    c: UnsafeMutablePointer<Float>, ldc: Int, beta: Float = 0
) {
    if sequences == 0 || rows == 0 || n == 0 { return }
    let chunks = (n + sequenceGEMMColumns - 1) / sequenceGEMMColumns
    let ap = SendablePointer(a), cp = SendablePointer(c)
    let body: @Sendable (Int) -> Void = { unit in
        let s = unit / chunks, c0 = (unit % chunks) * sequenceGEMMColumns
        let c1 = min(n, c0 + sequenceGEMMColumns)
        let bBlock = GEMMOperand.raw(
            b.pointer + (b.transposed ? c0 * b.leadingDimension : c0), b.leadingDimension, transposed: b.transposed)
        sgemm(
            .raw(ap.pointer + s * rows * lda, lda), bBlock, m: rows, n: c1 - c0, k: k,
            c: cp.pointer + s * rows * ldc + c0, ldc: ldc, beta: beta, parallel: false)
    }
    if sequences * chunks == 1 {
        body(0)
    } else {
        Parallel.forEachIndex(sequences * chunks, body)
    }
    withExtendedLifetime(b.keepAlive) {}
}

extension Tensor {
    /// a (N, K) · b (K, M) → (N, M), each row its own product when `batchInvariant` (so a row's
    /// result does not depend on the other rows), else ``matmul(_:_:)``.
    ///
    /// ```swift
    /// let features = Tensor.rowwiseMatmul(pooled, projection)   // (B, C) · (C, E) → (B, E)
    /// ```
    public static func rowwiseMatmul(_ a: Tensor, _ b: Tensor, batchInvariant: Bool = Parallel.batchInvariant) -> Tensor
    {
        precondition(a.rank == 2 && b.rank == 2, "rowwiseMatmul needs 2-D operands, got \(a.shape) and \(b.shape)")
        guard batchInvariant else { return matmul(a, b) }
        let (n, k, m) = (a.shape[0], a.shape[1], b.shape[1])
        precondition(b.shape[0] == k, "rowwiseMatmul inner dimensions differ: \(a.shape) · \(b.shape)")
        let out = Tensor(uninitializedShape: [n, m])
        if n == 0 || m == 0 { return out }
        if k == 0 {
            out.baseAddress.update(repeating: 0, count: n * m)
            return out
        }
        let rows = a.contiguous()
        let operand = GEMMOperand(b)
        sequenceSGEMM(rows.baseAddress, lda: k, sequences: n, rows: 1, operand, n: m, k: k, c: out.baseAddress, ldc: m)
        withExtendedLifetime((rows, operand.keepAlive)) {}
        return out
    }
}
