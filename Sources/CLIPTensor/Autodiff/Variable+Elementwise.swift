import Foundation

// Differentiable pointwise ops. Forward and backward kernels live in Kernels/Elementwise.swift
// and Kernels/Activations.swift; these record the pullbacks.

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

    /// e^x elementwise.
    public static func exp(_ x: Variable) -> Variable {
        let y = Tensor.exp(x.value)
        return record(y, [x]) { g in [g * y] }
    }

    /// Exact-erf GELU.
    public static func gelu(_ x: Variable) -> Variable {
        let xv = x.value
        return record(Tensor.gelu(xv), [x]) { g in [Tensor.geluBackward(xv, g)] }
    }

    /// OpenAI's QuickGELU.
    public static func quickGELU(_ x: Variable) -> Variable {
        let xv = x.value
        return record(Tensor.quickGELU(xv), [x]) { g in [Tensor.quickGELUBackward(xv, g)] }
    }

    /// max(x, 0).
    public static func relu(_ x: Variable) -> Variable {
        let xv = x.value
        return record(Tensor.relu(xv), [x]) { g in [Tensor.reluBackward(xv, g)] }
    }

    /// Softmax over the last dimension.
    public static func softmax(_ x: Variable) -> Variable {
        let y = Tensor.softmax(x.value)
        return record(y, [x]) { g in [Tensor.softmaxBackward(y, g)] }
    }

    /// Sum of all elements (a scalar, shape []).
    public static func sum(_ x: Variable) -> Variable {
        let shape = x.shape
        return record(Tensor(scalar: Tensor.sumAll(x.value)), [x]) { g in [Tensor(repeating: g.item, shape: shape)] }
    }
}
