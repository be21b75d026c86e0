import CLIPTestSupport
import Testing

@testable import CLIPTensor

// The graph mechanics of Autodiff/Variable.swift: gradients of a shared input accumulate over
// every path, constants get no gradient, inference records nothing (no parents, no pullback),
// repeated backward passes accumulate until zeroGrad, and deep graphs neither overflow the
// stack going backward nor when they are freed.

@Suite struct GradientGraphTests {
    /// Ops whose inputs are one tensor used more than once, checked by finite differences.
    static let sharedInputCases: [GradientCase] = {
        var g = SeededGenerator(seed: 808)
        return [
            GradientCase(
                "x ∘ x + 3x", [Tensor.random([3, 4], using: &g)],
                op: { v in v[0] * v[0] + v[0] * 3 },
                reference: { d in Ref.map(d[0]) { $0 * $0 + Double(Float(3)) * $0 } }),
            GradientCase(
                "x · xᵀ (Gram matrix)", [Tensor.random([3, 5], using: &g)],
                op: { v in Variable.matmul(v[0], Variable.transpose(v[0], 0, 1)) },
                reference: { d in Ref.matmul(d[0], Ref.transpose(d[0], 0, 1)) }),
            GradientCase(
                "self-attention q = k = v = x", [Tensor.random([2, 4, 6], using: &g)],
                op: { v in Variable.attention(q: v[0], k: v[0], v: v[0], heads: 2, causal: true) },
                reference: { d in Ref.attention(q: d[0], k: d[0], v: d[0], heads: 2, causal: true) }),
            GradientCase(
                "residual block x + linear(layerNorm(x))",
                [
                    Tensor.random([2, 3, 4], using: &g), Tensor.random([4], using: &g),
                    Tensor.random([4], using: &g), Tensor.random([4, 4], using: &g),
                ],
                op: { v in
                    v[0] + Variable.linear(Variable.layerNorm(v[0], weight: v[1], bias: v[2]), weight: v[3], bias: nil)
                },
                reference: { d in
                    Ref.binary(d[0], Ref.linear(Ref.layerNorm(d[0], weight: d[1], bias: d[2]), d[3], nil), +)
                }),
            GradientCase(
                "weight tying: embedding and output projection share a table", [Tensor.random([5, 3], using: &g)],
                op: { v in
                    Variable.matmul(
                        Variable.embedding(v[0], ids: [4, 1, 1], idsShape: [3]), Variable.transpose(v[0], 0, 1))
                },
                reference: { d in
                    Ref.matmul(Ref.embedding(d[0], ids: [4, 1, 1], idsShape: [3]), Ref.transpose(d[0], 0, 1))
                }),
        ]
    }()

    @Test(arguments: sharedInputCases) func sharedInputAccumulates(_ c: GradientCase) { GradientCheck.expect(c) }

    @Test func sharedInputSumsEveryPath() {
        // L = Σ (x ∘ x + x): ∂L/∂x = 2x + 1 exactly.
        let x = Variable(Tensor(shape: [4], scalars: [-1.5, 0, 0.25, 3]), requiresGrad: true)
        Variable.sum(x * x + x).backward()
        #expect(x.grad?.scalars == [-2, 1, 1.5, 7], "got \(x.grad?.scalars ?? [])")
    }

    @Test func constantsGetNoGradient() {
        var g = SeededGenerator(seed: 809)
        let w = Variable(Tensor.random([3, 4], using: &g), requiresGrad: true)
        let x = Variable(Tensor.random([2, 4], using: &g))
        let b = Variable(Tensor.random([3], using: &g))
        let unused = Variable(Tensor.random([3], using: &g), requiresGrad: true)
        let y = Variable.linear(x, weight: w, bias: b)
        #expect(y.requiresGrad, "a result depending on a parameter requires a gradient")
        Variable.sum(Variable.gelu(y)).backward()
        #expect(w.grad != nil)
        #expect(x.grad == nil, "constant input got a gradient")
        #expect(b.grad == nil, "constant bias got a gradient")
        #expect(unused.grad == nil, "a parameter outside the graph got a gradient")
        // Intermediate results keep no gradient either: only leaves accumulate.
        #expect(y.grad == nil, "an intermediate result kept a gradient")
    }

    @Test func inferenceRecordsNothing() {
        var g = SeededGenerator(seed: 810)
        let x = Variable(Tensor.random([2, 3, 4, 4], using: &g))
        let w = Variable(Tensor.random([4, 3, 2, 2], using: &g))
        let gamma = Variable(Tensor.random([4], using: &g)), beta = Variable(Tensor.random([4], using: &g))
        var results: [(String, Variable)] = []
        let conv = Variable.conv2d(x, weight: w, stride: (2, 2))  // (2, 4, 2, 2)
        results.append(("conv2d", conv))
        let bn = Variable.batchNormTraining(conv, weight: gamma, bias: beta) { _, _ in }
        results.append(("batchNormTraining", bn))
        let tokens = Variable.transpose(Variable.reshape(Variable.relu(bn), [2, 4, 4]), 1, 2)  // (2, 4, 4)
        results.append(("transpose", tokens))
        let ln = Variable.layerNorm(tokens, weight: gamma, bias: beta)
        results.append(("layerNorm", ln))
        let att = Variable.attention(q: ln, k: ln, v: ln, heads: 2, causal: true)
        results.append(("attention", att))
        let pooled = Variable.gatherRows(Variable.quickGELU(att), indices: [3, 1])  // (2, 4)
        results.append(("gatherRows", pooled))
        let features = Variable.l2Normalized(
            Variable.linear(pooled, weight: Variable(Tensor.random([3, 4], using: &g)), bias: nil))
        results.append(("l2Normalized", features))
        let loss = Variable.crossEntropy(Variable.exp(Variable(Tensor(scalar: 1))) * features, targets: [0, 2])
        results.append(("crossEntropy", loss))
        for (name, v) in results {
            #expect(!v.requiresGrad && v.parents.isEmpty && v.pullback == nil, "\(name) recorded a graph in inference")
        }
    }

    @Test func backwardAccumulatesUntilZeroGrad() {
        let w = Variable(Tensor(shape: [2, 2], scalars: [1, 2, 3, 4]), requiresGrad: true)
        let x = Variable(Tensor(shape: [1, 2], scalars: [1, -1]))
        let loss = Variable.sum(Variable.matmul(x, w))
        loss.backward()
        #expect(w.grad?.scalars == [1, 1, -1, -1])
        loss.backward()
        #expect(w.grad?.scalars == [2, 2, -2, -2], "a second backward must add to the gradient")
        w.zeroGrad()
        #expect(w.grad == nil)
        loss.backward(seed: Tensor(scalar: 0.5))
        #expect(w.grad?.scalars == [0.5, 0.5, -0.5, -0.5], "seed scales the gradient")
    }

    @Test func leafGradientsOwnTheirStorage() {
        // An optimiser or gradient clipping may update a gradient in place, so two parameters
        // (or a parameter and the caller's seed) must not share gradient memory, even though
        // + passes one upstream gradient to both inputs.
        let a = Variable(Tensor(shape: [2], scalars: [1, 2]), requiresGrad: true)
        let b = Variable(Tensor(shape: [2], scalars: [3, 4]), requiresGrad: true)
        let seed = Tensor(shape: [2], scalars: [0.5, -1])
        (a + b).backward(seed: seed)
        #expect(a.grad?.scalars == [0.5, -1] && b.grad?.scalars == [0.5, -1])
        #expect(a.grad?.storage !== b.grad?.storage, "a.grad and b.grad share storage")
        #expect(a.grad?.storage !== seed.storage, "a.grad is the seed's storage")
    }

    @Test func checkerCatchesAWrongPullback() {
        // The harness itself: for an op whose pullback is off by 1.5×, the comparison the
        // checker makes must exceed any tolerance it uses (the forward is right).
        let x = Tensor(shape: [3], scalars: [1, 2, 3])
        let v = Variable(x, requiresGrad: true)
        let y = Variable.record(v.value * 2, [v]) { g in [g * 3] }
        let projection: [Double] = [0.5, -1, 2]
        y.backward(seed: Tensor(shape: [3], scalars: projection.map(Float.init)))
        let numeric = GradientCheck.numericGradient(
            of: { d in Ref.map(d[0]) { 2 * $0 } }, at: [DTensor(x)], input: 0, projection: projection)
        let comparison = GradientCheck.compare(DTensor(v.grad!).values, numeric, input: 0)
        #expect(comparison.error > 0.4, "a 1.5× pullback must be reported: \(comparison)")
    }

    @Test func deepGraphs() {
        // 20 000 chained ops: the backward walk is iterative, and releasing the chain must not
        // recurse once per node either.
        let depth = 20_000
        let x = Variable(Tensor(shape: [2], scalars: [1, -2]), requiresGrad: true)
        var y = x
        for _ in 0..<depth { y = y + x * 0.0 }  // y stays x; each step adds a path back to x
        let loss = Variable.sum(y)
        loss.backward()
        #expect(x.grad?.scalars == [1, 1], "got \(x.grad?.scalars ?? [])")
    }
}
