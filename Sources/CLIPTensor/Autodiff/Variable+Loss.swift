// Differentiable losses (kernel: Kernels/Loss.swift).

extension Variable {
    /// Mean cross-entropy of `logits` (N, K) against integer `targets`; a scalar.
    public static func crossEntropy(_ logits: Variable, targets: [Int]) -> Variable {
        let (loss, gradient) = Tensor.crossEntropy(logits.value, targets: targets)
        return record(Tensor(scalar: loss), [logits]) { g in [gradient * g.item] }
    }
}
