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

    /// a (N, K) · b (K, M) → (N, M) like ``matmul(_:_:)``, each row its own product when
    /// ``Parallel/batchInvariant`` and nothing needs gradients (a model's output projection at
    /// inference: a row's result does not depend on the other rows); gradients as ``matmul(_:_:)``.
    public static func rowwiseMatmul(_ a: Variable, _ b: Variable) -> Variable {
        let (av, bv) = (a.value, b.value)
        let y = Tensor.rowwiseMatmul(av, bv, batchInvariant: inferenceInvariant([a, b]))
        return record(y, [a, b]) { g in
            let (da, db) = Tensor.matmulBackward(a: av, b: bv, g: g)
            return [da, db]
        }
    }

    /// x (…, I) · weightᵀ (O, I) + bias (O); batch-invariant at inference (see
    /// ``Parallel/batchInvariant``).
    public static func linear(_ x: Variable, weight: Variable, bias: Variable?) -> Variable {
        let (xv, wv) = (x.value, weight.value)
        let parents = bias.map { [x, weight, $0] } ?? [x, weight]
        let y = Tensor.linear(xv, weight: wv, bias: bias?.value, batchInvariant: inferenceInvariant(parents))
        let needsBias = bias?.requiresGrad ?? false
        return record(y, parents) { g in
            let r = Tensor.linearBackward(x: xv, weight: wv, g: g, needsBias: needsBias)
            return bias == nil ? [r.dx, r.dWeight] : [r.dx, r.dWeight, r.dBias]
        }
    }

    /// Whether a product runs batch-invariant: ``Parallel/batchInvariant`` and no operand needs
    /// gradients (training keeps one product over all rows, the faster way for large batches).
    static func inferenceInvariant(_ operands: [Variable]) -> Bool {
        Parallel.batchInvariant && !operands.contains(where: \.requiresGrad)
    }
}
