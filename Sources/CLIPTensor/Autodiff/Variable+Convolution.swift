// Differentiable convolution, pooling and batch norm (kernels: Kernels/Convolution.swift,
// Kernels/Pooling.swift, Kernels/Normalization.swift).

extension Variable {
    /// 2-D convolution of x (B, Ci, H, W) with weight (Co, Ci, kh, kw) and optional bias.
    public static func conv2d(
        _ x: Variable, weight: Variable, bias: Variable? = nil,
        stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0)
    ) -> Variable {
        let (xv, wv) = (x.value, weight.value)
        let y = Tensor.conv2d(xv, weight: wv, bias: bias?.value, stride: stride, padding: padding)
        let parents = bias.map { [x, weight, $0] } ?? [x, weight]
        let needsInput = x.requiresGrad, needsBias = bias?.requiresGrad ?? false
        return record(y, parents) { g in
            let r = Tensor.conv2dBackward(
                x: xv, weight: wv, g: g, stride: stride, padding: padding,
                needsInput: needsInput, needsBias: needsBias)
            return bias == nil ? [r.dx, r.dWeight] : [r.dx, r.dWeight, r.dBias]
        }
    }

    /// Average pooling over non-overlapping (or strided) windows.
    public static func avgPool2d(_ x: Variable, kernel: (Int, Int), stride: (Int, Int)? = nil) -> Variable {
        let shape = x.shape
        return record(Tensor.avgPool2d(x.value, kernel: kernel, stride: stride), [x]) { g in
            [Tensor.avgPool2dBackward(inputShape: shape, g: g, kernel: kernel, stride: stride)]
        }
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
