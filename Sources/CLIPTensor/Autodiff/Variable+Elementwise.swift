// Differentiable broadcasting arithmetic and sums (kernels: Kernels/Elementwise.swift).

extension Variable {
    /// a + b with broadcasting.
    public static func + (a: Variable, b: Variable) -> Variable {
        let y = a.value + b.value
        let (sa, sb) = (a.shape, b.shape)
        return record(y, [a, b]) { g in [Tensor.sumToShape(g, sa), Tensor.sumToShape(g, sb)] }
    }

    /// a − b with broadcasting.
    public static func - (a: Variable, b: Variable) -> Variable {
        let y = a.value - b.value
        let (sa, sb) = (a.shape, b.shape)
        return record(y, [a, b]) { g in [Tensor.sumToShape(g, sa), Tensor.sumToShape(g * Float(-1), sb)] }
    }

    /// a ∘ b with broadcasting.
    public static func * (a: Variable, b: Variable) -> Variable {
        let (av, bv) = (a.value, b.value)
        return record(av * bv, [a, b]) { g in
            [Tensor.sumToShape(g * bv, av.shape), Tensor.sumToShape(g * av, bv.shape)]
        }
    }

    /// x · s for a constant s.
    public static func * (x: Variable, s: Float) -> Variable {
        record(x.value * s, [x]) { g in [g * s] }
    }

    /// Sum of all elements (a scalar, shape []).
    public static func sum(_ x: Variable) -> Variable {
        let shape = x.shape
        return record(Tensor(scalar: Tensor.sumAll(x.value)), [x]) { g in [Tensor(repeating: g.item, shape: shape)] }
    }
}
