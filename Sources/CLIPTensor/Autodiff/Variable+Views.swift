// Differentiable views and concatenation (Core/Views.swift). Views pass gradients back through
// the inverse layout change.

extension Variable {
    /// Same elements, new shape.
    public static func reshape(_ x: Variable, _ shape: [Int]) -> Variable {
        let original = x.shape
        return record(x.value.reshaped(shape), [x]) { g in [g.reshaped(original)] }
    }

    /// Swaps two dimensions (a view; the gradient is swapped back).
    public static func transpose(_ x: Variable, _ a: Int, _ b: Int) -> Variable {
        record(x.value.transposed(a, b), [x]) { g in [g.transposed(a, b).contiguous()] }
    }

    /// A range of one dimension (a view; the gradient is zero outside it).
    public static func slice(_ x: Variable, dim: Int, range: Range<Int>) -> Variable {
        let shape = x.shape
        return record(x.value.sliced(dim: dim, range: range), [x]) { g in
            let full = Tensor(zeros: shape)
            StridedCopy.copy(from: g, intoView: full.sliced(dim: dim, range: range))
            return [full]
        }
    }

    /// Index `index` of dimension `dim`, which is dropped.
    public static func select(_ x: Variable, dim: Int, index: Int) -> Variable {
        let shape = x.shape
        return record(x.value.selecting(dim: dim, index: index), [x]) { g in
            let full = Tensor(zeros: shape)
            StridedCopy.copy(from: g, intoView: full.selecting(dim: dim, index: index))
            return [full]
        }
    }

    /// Concatenation along `dim`.
    public static func concatenate(_ parts: [Variable], dim: Int) -> Variable {
        let sizes = parts.map { $0.shape[dim < 0 ? dim + $0.shape.count : dim] }
        return record(Tensor.concatenate(parts.map(\.value), dim: dim), parts) { g in
            var start = 0
            return sizes.map { n in
                defer { start += n }
                return g.sliced(dim: dim, range: start..<(start + n)).contiguous()
            }
        }
    }

    /// Repeats size-1 dimensions to `shape`; the gradient sums them back.
    public static func broadcast(_ x: Variable, to shape: [Int]) -> Variable {
        let original = x.shape
        return record(x.value.broadcast(to: shape).contiguous(), [x]) { g in [Tensor.sumToShape(g, original)] }
    }
}
