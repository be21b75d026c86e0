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

    /// x (…, I) · weightᵀ (O, I) + bias (O). Without gradients (inference) this is the fused
    /// kernel of ``linear(_:weight:bias:activation:residual:)``, batch-invariant (see
    /// ``Parallel/batchInvariant``).
    public static func linear(_ x: Variable, weight: Variable, bias: Variable?) -> Variable {
        if !(x.requiresGrad || weight.requiresGrad || (bias?.requiresGrad ?? false)) {
            return Variable(
                Tensor.linear(x.value, weight: weight.value, bias: bias?.value, activation: .none, residual: nil))
        }
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

    /// act(x · weightᵀ + bias) + residual: one fused pass over the output when nothing needs a
    /// gradient (inference), else the separate differentiable ops (linear, activation, add).
    public static func linear(
        _ x: Variable, weight: Variable, bias: Variable?, activation: FusedActivation, residual: Variable?
    ) -> Variable {
        let needsGradient =
            x.requiresGrad || weight.requiresGrad || (bias?.requiresGrad ?? false)
            || (residual?.requiresGrad ?? false)
        guard needsGradient else {
            return Variable(
                Tensor.linear(
                    x.value, weight: weight.value, bias: bias?.value, activation: activation, residual: residual?.value)
            )
        }
        var y = linear(x, weight: weight, bias: bias)  // records: something needs a gradient
        switch activation {
        case .none: break
        case .quickGELU: y = quickGELU(y)
        case .gelu: y = gelu(y)
        case .relu: y = relu(y)
        }
        return residual.map { $0 + y } ?? y
    }
}
