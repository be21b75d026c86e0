// Differentiable normalisations (kernels: Kernels/Normalization.swift).

extension Variable {
    /// Layer norm over the last dimension.
    public static func layerNorm(_ x: Variable, weight: Variable, bias: Variable, eps: Float = 1e-5) -> Variable {
        let (xv, wv) = (x.value, weight.value)
        return record(Tensor.layerNorm(xv, weight: wv, bias: bias.value, eps: eps), [x, weight, bias]) { g in
            let r = Tensor.layerNormBackward(xv, weight: wv, g: g, eps: eps)
            return [r.dx, r.dWeight, r.dBias]
        }
    }

    /// Each row (last dimension) divided by its Euclidean norm.
    public static func l2Normalized(_ x: Variable) -> Variable {
        let xv = x.value
        let y = Tensor.l2Normalized(xv)
        return record(y, [x]) { g in [Tensor.l2NormalizedBackward(xv, y, g)] }
    }
}
