// Differentiable normalisations (kernels: Kernels/Normalization.swift).

extension Variable {
    /// Layer norm over the last dimension.
    public static func layerNorm(_ x: Variable, weight: Variable, bias: Variable, eps: Float = 1e-5) -> Variable {
        let (xv, wv) = (x.value, weight.value)
        let (y, mean, inverseStd) = Tensor.layerNormWithStatistics(xv, weight: wv, bias: bias.value, eps: eps)
        return record(y, [x, weight, bias]) { g in
            let r = Tensor.layerNormBackward(xv, weight: wv, g: g, mean: mean, inverseStd: inverseStd)
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
