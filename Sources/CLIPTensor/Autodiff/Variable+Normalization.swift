// Differentiable layer norm, batch norm and L2 normalisation (kernels, forward and backward:
// Kernels/Normalization.swift).

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

    /// Batch norm with batch statistics; `update` receives the batch mean and biased variance so
    /// the caller can update its running statistics.
    public static func batchNormTraining(
        _ x: Variable, weight: Variable, bias: Variable, eps: Float = 1e-5,
        update: (_ mean: [Float], _ variance: [Float]) -> Void
    ) -> Variable {
        let (y, saved) = Tensor.batchNormTraining(x.value, weight: weight.value, bias: bias.value, eps: eps)
        update(saved.mean, saved.variance)
        let wv = weight.value
        return record(y, [x, weight, bias]) { g in
            let r = Tensor.batchNormTrainingBackward(saved: saved, weight: wv, g: g)
            return [r.dx, r.dWeight, r.dBias]
        }
    }

    /// Batch norm with fixed running statistics (evaluation mode); differentiable in x,
    /// weight and bias.
    public static func batchNormInference(
        _ x: Variable, runningMean: Tensor, runningVar: Tensor,
        weight: Variable, bias: Variable, eps: Float = 1e-5
    ) -> Variable {
        let c = runningMean.count
        let invStd = Tensor(shape: [c], scalars: runningVar.scalars.map { 1 / ($0 + eps).squareRoot() })
        let shape = [1, c] + [Int](repeating: 1, count: x.value.rank - 2)
        // y = (x − μ)·rstd·γ + β as broadcast Variable ops, so each piece has its own gradient.
        let centred = x - Variable(runningMean.reshaped(shape))
        return centred * Variable(invStd.reshaped(shape)) * reshape(weight, shape) + reshape(bias, shape)
    }
}
