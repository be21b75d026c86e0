import CTensorKernels
import Dispatch

// Reductions and lookups.
//   V vocabulary, C width, B batch, T tokens

extension Tensor {
    /// Index of the largest element of each row (last dimension); the first on ties, as PyTorch's CPU argmax.
    public static func argmax(_ x: Tensor) -> [Int] {
        let n = x.size(-1)
        precondition(n > 0, "argmax over an empty dimension, shape \(x.shape)")
        let src = x.contiguous()
        let rows = x.count / n
        var result = [Int](repeating: 0, count: rows)
        for r in 0..<rows {
            let p = src.baseAddress + r * n
            var best = 0
            for i in 1..<n where p[i] > p[best] || (p[i].isNaN && !p[best].isNaN) { best = i }
            result[r] = best
        }
        return result
    }

    /// Mean over dimension `dim` (dropped from the shape).
    public static func mean(_ x: Tensor, dim: Int) -> Tensor {
        let d = dim < 0 ? dim + x.rank : dim
        if d == 0 && x.isContiguous && x.rank >= 1 { return meanOfLeadingDimension(x) }
        // Move `dim` last so each output element reduces one contiguous row.
        let order = (0..<x.rank).filter { $0 != d } + [d]
        let moved = x.permuted(order).contiguous()
        let n = moved.size(-1), rows = moved.count / max(n, 1)
        let out = Tensor(uninitializedShape: Array(moved.shape.dropLast()))
        let s = SendablePointer(moved.baseAddress), o = SendablePointer(out.baseAddress)
        Parallel.forEach(rows, grain: max(1, 8192 / max(n, 1))) { range in
            for r in range {
                var sum = 0.0
                let p = s.pointer + r * n
                for i in 0..<n { sum += Double(p[i]) }
                o.pointer[r] = Float(sum / Double(n))
            }
        }
        return out
    }

    /// Mean over dimension 0 of a contiguous tensor (broadcast reductions).
    static func meanOfLeadingDimension(_ x: Tensor) -> Tensor {
        let rows = x.shape[0]
        return leadingDimensionTotals(x, shape: Array(x.shape.dropFirst())) { Float($0 / Double(rows)) }
    }

    /// Sum over dimension 0 of a contiguous tensor (bias gradients).
    static func sumOfLeadingDimension(_ x: Tensor) -> Tensor {
        leadingDimensionTotals(x, shape: Array(x.shape.dropFirst())) { Float($0) }
    }

    /// Column totals of a contiguous (rows, …) tensor in Double, mapped by `finish` into a
    /// tensor of `shape`: each block of 64 rows is summed into its own partials (in parallel),
    /// then the blocks are added in order, so the result does not depend on the thread count.
    static func leadingDimensionTotals(_ x: Tensor, shape: [Int], finish: (Double) -> Float) -> Tensor {
        let rows = x.shape[0], width = x.count / max(rows, 1)
        let out = Tensor(uninitializedShape: shape)
        let blockRows = 64, blocks = max(1, (rows + blockRows - 1) / blockRows)
        let partial = UnsafeMutablePointer<Double>.allocate(capacity: max(1, blocks * width))
        partial.initialize(repeating: 0, count: max(1, blocks * width))
        defer { partial.deallocate() }
        let src = SendablePointer(x.baseAddress), acc = SendablePointer(partial)
        Parallel.forEach(blocks, grain: max(1, 16_384 / max(width * blockRows, 1))) { range in
            for block in range {
                let first = block * blockRows
                clip_add_column_sums_f64(
                    src.pointer + first * width, min(rows, first + blockRows) - first, width,
                    acc.pointer + block * width)
            }
        }
        for i in 0..<width {
            var s = 0.0
            for block in 0..<blocks { s += partial[block * width + i] }
            out.baseAddress[i] = finish(s)
        }
        return out
    }

    /// Embedding lookup: rows of `weight` (V, C) for `ids` laid out in `idsShape` → (idsShape…, C).
    /// A non-finite value among the copied rows is reported to the weight's storage
    /// (``TensorStorage/hasReadNonFinite``): a token embedding checked on use needs only the
    /// rows a prompt reads, not a scan of the whole table (ViT-B/32: 101 MB).
    public static func embedding(_ weight: Tensor, ids: [Int32], idsShape: [Int]) -> Tensor {
        precondition(weight.rank == 2, "embedding weight must be (V, C), got \(weight.shape)")
        precondition(Tensor.elementCount(idsShape) == ids.count, "ids shape \(idsShape) does not hold \(ids.count) ids")
        let v = weight.shape[0], c = weight.shape[1]
        let table = weight.contiguous()
        let out = Tensor(uninitializedShape: idsShape + [c])
        for (i, id) in ids.enumerated() {
            precondition(id >= 0 && Int(id) < v, "token id \(id) out of range for vocabulary \(v)")
            (out.baseAddress + i * c).update(from: table.baseAddress + Int(id) * c, count: c)
        }
        if !out.isAllFinite { weight.storage.noteNonFinite() }
        return out
    }
}

// MARK: - Backward

extension Tensor {
    /// ∂L/∂weight of `embedding`: each id's row of g added into row id of a (V, C) zero tensor.
    public static func embeddingBackward(ids: [Int32], g: Tensor, vocabularySize: Int) -> Tensor {
        let c = g.size(-1)
        let gc = g.contiguous()
        let dW = Tensor(zeros: [vocabularySize, c])
        for (i, id) in ids.enumerated() {
            let dst = dW.baseAddress + Int(id) * c, src = gc.baseAddress + i * c
            for j in 0..<c { dst[j] += src[j] }
        }
        return dW
    }
}

extension Tensor {
    /// Whether every element is finite (no NaN, +Inf or -Inf).
    ///
    /// A float is non-finite exactly when its exponent bits are all ones, so this ORs nothing
    /// and compares nothing per element: it takes the maximum of the masked exponent bits, an
    /// integer reduction the compiler vectorises. One pass, in parallel chunks; loaders call it once
    /// per tensor (the Checkpoint and weight loaders refuse NaN weights by name).
    ///
    /// ```swift
    /// Tensor(shape: [2], scalars: [1, .nan]).isAllFinite   // false
    /// ```
    public var isAllFinite: Bool {
        withUnsafeBufferPointer { values in
            values.withMemoryRebound(to: UInt32.self) { bits in
                guard let base = bits.baseAddress else { return true }
                // Chunks in parallel: a mapped token embedding (ViT-B/32: 101 MB of file pages)
                // is first touched here, on the path to a first text embedding.
                let p = SendablePointer(UnsafeMutablePointer(mutating: base))
                let chunksWithNonFinite = NonFiniteCounts()
                Parallel.forEachChunk(bits.count, chunk: Parallel.scanChunk) { range in
                    let exponent: UInt32 = 0x7F80_0000
                    var largest: UInt32 = 0
                    for i in range { largest = Swift.max(largest, p.pointer[i] & exponent) }
                    if largest == exponent { chunksWithNonFinite.add(1) }
                }
                return chunksWithNonFinite.total == 0
            }
        }
    }
}
