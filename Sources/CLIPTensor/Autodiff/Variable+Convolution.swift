// Differentiable 2-D convolution (kernels, forward and backward: Kernels/Convolution.swift).

extension Variable {
    /// 2-D convolution of x (B, Ci, H, W) with weight (Co, Ci, kh, kw) and optional bias.
    public static func conv2d(
        _ x: Variable, weight: Variable, bias: Variable? = nil,
        stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0)
    ) -> Variable {
        let (xv, wv) = (x.value, weight.value)
        let parents = bias.map { [x, weight, $0] } ?? [x, weight]
        let y = Tensor.conv2d(
            xv, weight: wv, bias: bias?.value, stride: stride, padding: padding,
            batchInvariant: inferenceInvariant(parents))
        let needsInput = x.requiresGrad, needsBias = bias?.requiresGrad ?? false
        return record(y, parents) { g in
            let r = Tensor.conv2dBackward(
                x: xv, weight: wv, g: g, stride: stride, padding: padding,
                needsInput: needsInput, needsBias: needsBias)
            return bias == nil ? [r.dx, r.dWeight] : [r.dx, r.dWeight, r.dBias]
        }
    }
}
