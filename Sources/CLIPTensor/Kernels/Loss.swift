import Foundation

// Cross-entropy over the last dimension with integer targets, mean over rows
// (PyTorch `F.cross_entropy(logits, targets)`).
//   N rows, K classes

extension Tensor {
    /// Mean over rows of −log softmax(logits)[row, target] (log-sum-exp with the row maximum
    /// subtracted), and ∂loss/∂logits = (softmax − onehot) / N.
    public static func crossEntropy(_ logits: Tensor, targets: [Int]) -> (loss: Float, gradient: Tensor) {
        precondition(
            logits.rank == 2 && logits.shape[0] == targets.count,
            "crossEntropy: logits \(logits.shape) for \(targets.count) targets")
        let (n, k) = (logits.shape[0], logits.shape[1])
        let probabilities = softmax(logits)
        let l = logits.contiguous()
        var total = 0.0
        let grad = probabilities.copy()
        for r in 0..<n {
            let t = targets[r]
            precondition(t >= 0 && t < k, "crossEntropy: target \(t) outside \(k) classes")
            let row = l.baseAddress + r * k
            var m = -Float.infinity
            for j in 0..<k { m = max(m, row[j]) }
            var s = 0.0
            for j in 0..<k { s += Foundation.exp(Double(row[j] - m)) }
            total += Double(m) + Foundation.log(s) - Double(row[t])
            grad.baseAddress[r * k + t] -= 1
        }
        let scaled = grad * (1 / Float(n))
        return (Float(total / Double(n)), scaled)
    }
}
