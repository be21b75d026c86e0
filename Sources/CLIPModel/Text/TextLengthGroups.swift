import CLIPTensor

// Text that stops at the EOT. The text transformer's mask is causal (OpenAI clip/model.py
// build_attention_mask), so the state at position i depends on positions 0 ... i only, and the
// pooled feature is the state at the EOT: positions after it cannot change it. A row therefore
// needs its first EOT + 1 positions, and a batch the longest of its rows'.
// Symbols: N rows, T context length, L positions run, E embedding width.

/// How many positions of each token row a pooled text feature needs, and the sub-batches of
/// similar length that compute a mixed batch with the least work.
///
/// Mathematically the result equals the T-position forward. Where the packed GEMM runs (x86-64
/// with AVX2 or AVX-512, ``Parallel/inferenceRowsAreIndependent``) it is equal bit for bit:
/// every linear output is one FMA chain whatever the number of rows, and causal attention
/// computes each position from the positions before it only. On the BLAS path it agrees to the
/// last bits: OpenBLAS (0.3.21, Haswell kernels) computes the rows of a product in blocks of 12
/// with another kernel for the remainder, so a row's rounding depends on how many rows the
/// product has — equally true of a prompt embedded alone or in a batch of 77-position rows.
/// Measured there: at most 3e-6 absolute, below 1e-6 of the feature's norm
/// (`TextStopsAtEOTTests` prints it per case).
///
/// ```swift
/// TextLengthGroups.positions(eot: 8, contextLength: 77)    // 9: "a photo of a tabby cat."
/// ```
public enum TextLengthGroups {
    /// Per-call cost of a forward pass, in rows of T = 1 work: each call streams every weight
    /// once, which costs about as much as computing a few dozen token rows (ViT-B/32's text
    /// tower reads 151 MB of weights per call, ~15 ms here, the time of ~30 rows).
    static let callCost = 32

    /// Positions to run for a row whose pooled position is `eot` (0-based): eot + 1, at most
    /// `contextLength`.
    public static func positions(eot: Int, contextLength t: Int) -> Int { min(eot + 1, t) }

    /// Consecutive groups of rows (indices into `lengths`, shortest first) and the positions
    /// each group runs: the partition of the length-sorted rows that minimises
    /// Σ (callCost + rows · positions), with at most `maxBatch` rows per group.
    ///
    /// With `exact` every row runs exactly its own positions (groups hold equal lengths only):
    /// a row's result then depends on the row alone. Batch-invariant inference
    /// (``Parallel/batchInvariant``) needs that where a row's rounding depends on how many
    /// positions run (the BLAS path); where rows are computed independently
    /// (``Parallel/inferenceRowsAreIndependent``) any grouping gives the same bits.
    public static func groups(lengths: [Int], maxBatch: Int, exact: Bool = false) -> [(rows: [Int], positions: Int)] {
        precondition(maxBatch > 0, "maxBatch must be positive")
        let order = lengths.indices.sorted { (lengths[$0], $0) < (lengths[$1], $1) }
        if exact {
            var result: [(rows: [Int], positions: Int)] = []
            for row in order {
                if let last = result.last, last.positions == lengths[row], last.rows.count < maxBatch {
                    result[result.count - 1].rows.append(row)
                } else {
                    result.append(([row], lengths[row]))
                }
            }
            return result
        }
        let n = order.count
        // best[j]: least cost of the first j sorted rows; cut[j]: where its last group starts.
        var best = [Int](repeating: .max, count: n + 1), cut = [Int](repeating: 0, count: n + 1)
        best[0] = 0
        for j in stride(from: 1, through: n, by: 1) {
            let l = lengths[order[j - 1]]  // the group's longest row (sorted order)
            for i in max(0, j - maxBatch)..<j {
                let cost = best[i] + callCost + (j - i) * l
                if cost < best[j] { (best[j], cut[j]) = (cost, i) }
            }
        }
        var result: [(rows: [Int], positions: Int)] = []
        var j = n
        while j > 0 {
            let i = cut[j]
            result.append((Array(order[i..<j]), lengths[order[j - 1]]))
            j = i
        }
        return result.reversed()
    }

    /// Runs `body` on each group and puts its (rows, W) result rows back in input order → (N, W).
    public static func run(
        lengths: [Int], maxBatch: Int, exact: Bool = Parallel.batchInvariant && !Parallel.inferenceRowsAreIndependent,
        width: Int,
        _ body: (_ rows: [Int], _ positions: Int) throws -> Tensor
    ) rethrows -> Tensor {
        let out = Tensor(zeros: [lengths.count, width])  // (N, W)
        for group in groups(lengths: lengths, maxBatch: maxBatch, exact: exact) {
            let part = try body(group.rows, group.positions).contiguous()  // (rows, W)
            precondition(
                part.shape == [group.rows.count, width], "group result \(part.shape), expected rows × \(width)")
            for (k, row) in group.rows.enumerated() {
                (out.baseAddress + row * width).update(from: part.baseAddress + k * width, count: width)
            }
        }
        return out
    }
}
