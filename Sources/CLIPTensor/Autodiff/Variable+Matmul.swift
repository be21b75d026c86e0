// Differentiable matrix products (kernels: Kernels/Matmul.swift).

extension Variable {
    /// (…, M, K) · (…, K, N) with broadcast batch dimensions.
    public static func matmul(_ a: Variable, _ b: Variable) -> Variable {
        let (av, bv) = (a.value, b.value)
        return record(Tensor.matmul(av, bv), [a, b]) { g in
            let (da, db) = Tensor.matmulBackward(a: av, b: bv, g: g)
            return [da, db]
        }
    }

    /// x (…, I) · weightᵀ (O, I) + bias (O).
    public static func linear(_ x: Variable, weight: Variable, bias: Variable?) -> Variable {
        let (xv, wv) = (x.value, weight.value)
        let y = Tensor.linear(xv, weight: wv, bias: bias?.value)
        let parents = bias.map { [x, weight, $0] } ?? [x, weight]
        let needsBias = bias?.requiresGrad ?? false
        return record(y, parents) { g in
            let r = Tensor.linearBackward(x: xv, weight: wv, g: g, needsBias: needsBias)
            return bias == nil ? [r.dx, r.dWeight] : [r.dx, r.dWeight, r.dBias]
        }
    }
}
