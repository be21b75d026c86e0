// Differentiable pooling (kernels, forward and backward: Kernels/Pooling.swift).

extension Variable {
    /// Average pooling over non-overlapping (or strided) windows.
    public static func avgPool2d(_ x: Variable, kernel: (Int, Int), stride: (Int, Int)? = nil) -> Variable {
        let shape = x.shape
        return record(Tensor.avgPool2d(x.value, kernel: kernel, stride: stride), [x]) { g in
            [Tensor.avgPool2dBackward(inputShape: shape, g: g, kernel: kernel, stride: stride)]
        }
    }
}
