// Elementwise kernels with NumPy broadcasting. Fast paths: equal contiguous shapes, and a
// contiguous right operand repeated over leading dimensions (bias or scale per channel row).

/// Binary elementwise operations.
public enum BinaryOp: Sendable {
    case add, subtract, multiply, divide

    @inline(__always)
    func apply(_ a: Float, _ b: Float) -> Float {
        switch self {
        case .add: return a + b
        case .subtract: return a - b
        case .multiply: return a * b
        case .divide: return a / b
        }
    }
}

extension Tensor {
    /// `a op b` with broadcasting.
    public static func binary(_ a: Tensor, _ b: Tensor, _ op: BinaryOp) -> Tensor {
        let shape = broadcastShapes(a.shape, b.shape)
        let out = Tensor(uninitializedShape: shape)
        let n = out.count
        if n == 0 { return out }
        let dst = SendablePointer(out.baseAddress)
        if a.shape == shape && b.shape == shape && a.isContiguous && b.isContiguous {
            let pa = SendablePointer(a.baseAddress), pb = SendablePointer(b.baseAddress)
            Parallel.forEach(n, grain: 32_768) { range in
                switch op {
                case .add: for i in range { dst.pointer[i] = pa.pointer[i] + pb.pointer[i] }
                case .subtract: for i in range { dst.pointer[i] = pa.pointer[i] - pb.pointer[i] }
                case .multiply: for i in range { dst.pointer[i] = pa.pointer[i] * pb.pointer[i] }
                case .divide: for i in range { dst.pointer[i] = pa.pointer[i] / pb.pointer[i] }
                }
            }
            return out
        }
        if a.shape == shape && a.isContiguous && b.isContiguous && b.count > 0 && n % b.count == 0
            && Array(shape.suffix(b.rank)) == b.shape
        {
            // b repeats over the leading dimensions of a.
            let inner = b.count, rows = n / inner
            let pa = SendablePointer(a.baseAddress), pb = SendablePointer(b.baseAddress)
            Parallel.forEach(rows, grain: max(1, 32_768 / inner)) { range in
                for r in range {
                    let x = pa.pointer + r * inner, y = dst.pointer + r * inner
                    switch op {
                    case .add: for i in 0..<inner { y[i] = x[i] + pb.pointer[i] }
                    case .subtract: for i in 0..<inner { y[i] = x[i] - pb.pointer[i] }
                    case .multiply: for i in 0..<inner { y[i] = x[i] * pb.pointer[i] }
                    case .divide: for i in 0..<inner { y[i] = x[i] / pb.pointer[i] }
                    }
                }
            }
            return out
        }
        // General case: iterate rows of the broadcast views.
        let av = a.broadcast(to: shape), bv = b.broadcast(to: shape)
        let inner = shape.last ?? 1
        let rows = n / max(inner, 1)
        let outer = Array(shape.dropLast())
        let pa = SendablePointer(av.baseAddress), pb = SendablePointer(bv.baseAddress)
        let aStrides = av.strides, bStrides = bv.strides
        let aInner = aStrides.last ?? 0, bInner = bStrides.last ?? 0
        Parallel.forEach(rows, grain: max(1, 16_384 / max(inner, 1))) { range in
            for r in range {
                var rem = r, aOff = 0, bOff = 0
                for d in stride(from: outer.count - 1, through: 0, by: -1) {
                    let i = rem % outer[d]
                    rem /= outer[d]
                    aOff += i * aStrides[d]
                    bOff += i * bStrides[d]
                }
                let x = pa.pointer + aOff, y = pb.pointer + bOff, z = dst.pointer + r * inner
                for i in 0..<inner { z[i] = op.apply(x[i * aInner], y[i * bInner]) }
            }
        }
        return out
    }

    public static func + (a: Tensor, b: Tensor) -> Tensor { binary(a, b, .add) }
    public static func - (a: Tensor, b: Tensor) -> Tensor { binary(a, b, .subtract) }
    public static func * (a: Tensor, b: Tensor) -> Tensor { binary(a, b, .multiply) }
    public static func / (a: Tensor, b: Tensor) -> Tensor { binary(a, b, .divide) }
    public static func * (a: Tensor, s: Float) -> Tensor { a.map { $0 * s } }
    public static func + (a: Tensor, s: Float) -> Tensor { a.map { $0 + s } }

    /// Applies `f` to every element (parallel over chunks). `f` must be pure.
    @inlinable
    public func map(_ f: @escaping @Sendable (Float) -> Float) -> Tensor {
        let src = contiguous()
        let out = Tensor(uninitializedShape: shape)
        let s = SendablePointer(src.baseAddress), d = SendablePointer(out.baseAddress)
        Parallel.forEach(count, grain: 16_384) { range in
            for i in range { d.pointer[i] = f(s.pointer[i]) }
        }
        return out
    }
}

// MARK: - Backward

extension Tensor {
    /// Sums `g` over the dimensions that broadcasting expanded, giving a tensor of `shape`
    /// (the gradient of a broadcast input).
    public static func sumToShape(_ g: Tensor, _ shape: [Int]) -> Tensor {
        if g.shape == shape { return g }
        let lead = g.rank - shape.count
        precondition(lead >= 0, "sumToShape: \(g.shape) cannot reduce to \(shape)")
        // Dimensions to reduce: the leading extra ones and those where shape has 1.
        var reduced = g.contiguous()
        var d = g.rank - 1
        while d >= 0 {
            let target = d >= lead ? shape[d - lead] : 1
            if reduced.shape[d] != target {
                precondition(target == 1, "sumToShape: \(g.shape) cannot reduce to \(shape)")
                reduced = sum(reduced, dim: d, keepDim: true)
            }
            d -= 1
        }
        return reduced.reshaped(shape)
    }

    /// total += g for tensors of one shape: in place when total's memory is contiguous and
    /// referenced by nothing else, else into a new tensor (the same additions either way).
    static func accumulate(_ total: inout Tensor, adding g: Tensor) {
        precondition(total.shape == g.shape, "accumulate: \(g.shape) into \(total.shape)")
        guard g.isContiguous && total.isUniquelyOwnedAndContiguous() else {
            total = total + g
            return
        }
        let d = SendablePointer(total.baseAddress), s = SendablePointer(g.baseAddress)
        Parallel.forEach(total.count, grain: 32_768) { range in
            for i in range { d.pointer[i] += s.pointer[i] }
        }
        withExtendedLifetime(g) {}
    }

    /// Sum over dimension `dim`.
    public static func sum(_ x: Tensor, dim: Int, keepDim: Bool = false) -> Tensor {
        let d = dim < 0 ? dim + x.rank : dim
        let n = x.shape[d]
        if d == 0 && x.isContiguous {
            let total = sumOfLeadingDimension(x)
            return keepDim ? total.unsqueezed(0) : total
        }
        var m = mean(x, dim: d) * Float(n)
        if keepDim { m = m.unsqueezed(d).contiguous() }
        return m
    }

    /// Sum of every element (Double accumulation).
    public static func sumAll(_ x: Tensor) -> Float {
        x.withUnsafeBufferPointer { b in Float(b.reduce(0.0) { $0 + Double($1) }) }
    }
}
