// Differentiable activations, exp and softmax (kernels, forward and backward: Kernels/Activations.swift).

extension Variable {
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
}
