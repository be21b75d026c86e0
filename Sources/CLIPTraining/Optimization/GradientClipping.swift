import CLIPTensor

/// Global gradient-norm clipping (`torch.nn.utils.clip_grad_norm_`): if the L2 norm of all
/// gradients exceeds `maxNorm`, every gradient is scaled by maxNorm / (norm + 1e-6).
public enum GradientClipping {
    /// The total L2 norm of the parameters' gradients (Double accumulation).
    public static func globalNorm(_ parameters: [(key: String, variable: Variable)]) -> Float {
        var sq = 0.0
        for (_, p) in parameters {
            guard let g = p.grad else { continue }
            g.withUnsafeBufferPointer { b in for v in b { sq += Double(v) * Double(v) } }
        }
        return Float(sq.squareRoot())
    }

    /// Clips in place and returns the norm before clipping.
    @discardableResult
    public static func clip(_ parameters: [(key: String, variable: Variable)], maxNorm: Float) -> Float {
        let norm = globalNorm(parameters)
        guard norm > maxNorm else { return norm }
        let scale = maxNorm / (norm + 1e-6)
        for (_, p) in parameters { if let g = p.grad { p.grad = g * scale } }
        return norm
    }
}
