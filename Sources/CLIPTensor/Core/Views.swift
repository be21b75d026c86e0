// Views: new shapes and strides over the same storage. Copies happen only in `contiguous()`
// and in `reshaped` when the layout cannot be expressed with strides.

extension Tensor {
    /// A tensor with the same elements and a new shape. One dimension may be `-1` (inferred).
    /// A view when this tensor is contiguous; otherwise a contiguous copy is reshaped.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var resolved = newShape
        if let inferred = newShape.firstIndex(of: -1) {
            let known = newShape.enumerated().filter { $0.offset != inferred }.reduce(1) { $0 * $1.element }
            precondition(known > 0 && count % known == 0, "cannot reshape \(shape) to \(newShape)")
            resolved[inferred] = count / known
        }
        precondition(
            Tensor.elementCount(resolved) == count, "cannot reshape \(shape) (\(count) elements) to \(newShape)")
        let source = isContiguous ? self : contiguous()
        return Tensor(
            storage: source.storage, shape: resolved, strides: Tensor.contiguousStrides(resolved), offset: source.offset
        )
    }

    /// Reorders dimensions: result dimension `i` is this tensor's dimension `order[i]`. No copy.
    public func permuted(_ order: [Int]) -> Tensor {
        precondition(
            order.count == rank && Set(order) == Set(0..<rank), "permutation \(order) does not fit shape \(shape)")
        return Tensor(
            storage: storage, shape: order.map { shape[$0] }, strides: order.map { strides[$0] }, offset: offset)
    }

    /// Swaps two dimensions (negative indices count from the end). No copy.
    public func transposed(_ a: Int, _ b: Int) -> Tensor {
        let a = a < 0 ? a + rank : a, b = b < 0 ? b + rank : b
        var order = Array(0..<rank)
        order.swapAt(a, b)
        return permuted(order)
    }

    /// Keeps `range` of dimension `dim`. No copy.
    public func sliced(dim: Int, range: Range<Int>) -> Tensor {
        let d = dim < 0 ? dim + rank : dim
        precondition(d >= 0 && d < rank, "dimension \(dim) out of range for shape \(shape)")
        precondition(
            range.lowerBound >= 0 && range.upperBound <= shape[d],
            "slice \(range) out of bounds for dimension \(d) of shape \(shape)")
        var newShape = shape
        newShape[d] = range.count
        return Tensor(
            storage: storage, shape: newShape, strides: strides, offset: offset + range.lowerBound * strides[d])
    }

    /// Selects index `index` of dimension `dim` and drops that dimension. No copy.
    public func selecting(dim: Int, index: Int) -> Tensor {
        let d = dim < 0 ? dim + rank : dim
        precondition(
            index >= 0 && index < shape[d], "index \(index) out of bounds for dimension \(d) of shape \(shape)")
        var newShape = shape, newStrides = strides
        newShape.remove(at: d)
        newStrides.remove(at: d)
        return Tensor(storage: storage, shape: newShape, strides: newStrides, offset: offset + index * strides[d])
    }

    /// Inserts a dimension of size 1 at `dim`. No copy.
    public func unsqueezed(_ dim: Int) -> Tensor {
        let d = dim < 0 ? dim + rank + 1 : dim
        var newShape = shape, newStrides = strides
        newShape.insert(1, at: d)
        newStrides.insert(d < rank ? strides[d] * shape[d] : 1, at: d)
        return Tensor(storage: storage, shape: newShape, strides: newStrides, offset: offset)
    }

    /// Repeats size-1 dimensions to `newShape` with stride 0 (NumPy broadcasting). No copy.
    public func broadcast(to newShape: [Int]) -> Tensor {
        precondition(newShape.count >= rank, "cannot broadcast \(shape) to \(newShape)")
        let lead = newShape.count - rank
        var newStrides = [Int](repeating: 0, count: newShape.count)
        for d in 0..<rank {
            if shape[d] == newShape[lead + d] {
                newStrides[lead + d] = strides[d]
            } else {
                precondition(shape[d] == 1, "cannot broadcast \(shape) to \(newShape)")
            }
        }
        return Tensor(storage: storage, shape: newShape, strides: newStrides, offset: offset)
    }

    /// This tensor if contiguous, else a contiguous copy.
    public func contiguous() -> Tensor {
        if isContiguous { return self }
        let out = Tensor(uninitializedShape: shape)
        StridedCopy.copy(from: self, into: out.baseAddress)
        return out
    }

    /// A contiguous copy that shares nothing with this tensor.
    public func copy() -> Tensor {
        let out = Tensor(uninitializedShape: shape)
        StridedCopy.copy(from: self, into: out.baseAddress)
        return out
    }

    /// Concatenates tensors along `dim`; all other dimensions must match.
    public static func concatenate(_ parts: [Tensor], dim: Int) -> Tensor {
        precondition(!parts.isEmpty, "concatenate needs at least one tensor")
        let rank = parts[0].rank
        let d = dim < 0 ? dim + rank : dim
        var outShape = parts[0].shape
        outShape[d] = 0
        for p in parts {
            precondition(p.rank == rank, "concatenate: rank mismatch \(parts[0].shape) vs \(p.shape)")
            for i in 0..<rank where i != d {
                precondition(p.shape[i] == parts[0].shape[i], "concatenate along \(d): \(parts[0].shape) vs \(p.shape)")
            }
            outShape[d] += p.shape[d]
        }
        let out = Tensor(uninitializedShape: outShape)
        var start = 0
        for p in parts {
            let target = out.sliced(dim: d, range: start..<(start + p.shape[d]))
            StridedCopy.copy(from: p, intoView: target)
            start += p.shape[d]
        }
        return out
    }
}

/// Copies between arbitrary strided layouts, innermost dimension in a tight loop.
enum StridedCopy {
    /// Copies `source` (any strides) into contiguous memory at `destination`.
    static func copy(from source: Tensor, into destination: UnsafeMutablePointer<Float>) {
        let target = Tensor(
            storage: TensorStorage(borrowing: destination, count: source.count, owner: source.storage),
            shape: source.shape, strides: Tensor.contiguousStrides(source.shape))
        copy(from: source, intoView: target)
    }

    /// Copies `source` into the (possibly strided) view `target` of the same shape.
    static func copy(from source: Tensor, intoView target: Tensor) {
        precondition(source.shape == target.shape, "copy: shape \(source.shape) into \(target.shape)")
        let count = source.count
        if count == 0 { return }
        if source.rank == 0 {
            target.baseAddress.pointee = source.baseAddress.pointee
            return
        }
        let rank = source.rank
        let inner = source.shape[rank - 1]
        let sInner = source.strides[rank - 1], tInner = target.strides[rank - 1]
        let outerShape = Array(source.shape.dropLast())
        let rows = outerShape.reduce(1, *)
        let src = SendablePointer(source.baseAddress), dst = SendablePointer(target.baseAddress)
        let sStrides = source.strides, tStrides = target.strides
        Parallel.forEach(rows, grain: max(1, 16_384 / max(inner, 1))) { range in
            var index = [Int](repeating: 0, count: outerShape.count)
            for row in range {
                // Decompose the row number into outer indices.
                var r = row, sOff = 0, tOff = 0
                for d in stride(from: outerShape.count - 1, through: 0, by: -1) {
                    index[d] = r % outerShape[d]
                    r /= outerShape[d]
                    sOff += index[d] * sStrides[d]
                    tOff += index[d] * tStrides[d]
                }
                let s = src.pointer + sOff, t = dst.pointer + tOff
                if sInner == 1 && tInner == 1 {
                    t.update(from: s, count: inner)
                } else {
                    for i in 0..<inner { t[i * tInner] = s[i * sInner] }
                }
            }
        }
    }
}
