// Differentiable mean, embedding lookup and row gathers (kernels, forward and backward:
// Kernels/Reductions.swift; the EOT row gather is small enough to live here).

extension Variable {
    /// Mean over `dim` (dropped).
    public static func mean(_ x: Variable, dim: Int) -> Variable {
        let shape = x.shape
        let d = dim < 0 ? dim + shape.count : dim
        return record(Tensor.mean(x.value, dim: d), [x]) { g in
            [(g.unsqueezed(d).broadcast(to: shape).contiguous()) * (1 / Float(shape[d]))]
        }
    }

    /// Rows of `weight` (V, C) for `ids` laid out as `idsShape` → (idsShape…, C).
    public static func embedding(_ weight: Variable, ids: [Int32], idsShape: [Int]) -> Variable {
        let v = weight.shape[0]
        return record(Tensor.embedding(weight.value, ids: ids, idsShape: idsShape), [weight]) { g in
            [Tensor.embeddingBackward(ids: ids, g: g, vocabularySize: v)]
        }
    }

    /// Row `indices[b]` of each batch entry of x (B, T, C) → (B, C) (EOT pooling).
    public static func gatherRows(_ x: Variable, indices: [Int]) -> Variable {
        let (b, t, c) = (x.shape[0], x.shape[1], x.shape[2])
        precondition(indices.count == b, "gatherRows: \(indices.count) indices for batch \(b)")
        let xv = x.value.contiguous()
        let out = Tensor(uninitializedShape: [b, c])
        for (i, row) in indices.enumerated() {
            precondition(row >= 0 && row < t, "gatherRows: index \(row) outside \(t) rows")
            (out.baseAddress + i * c).update(from: xv.baseAddress + (i * t + row) * c, count: c)
        }
        return record(out, [x]) { g in
            let full = Tensor(zeros: [b, t, c]), gc = g.contiguous()
            for (i, row) in indices.enumerated() {
                (full.baseAddress + (i * t + row) * c).update(from: gc.baseAddress + i * c, count: c)
            }
            return [full]
        }
    }
}
