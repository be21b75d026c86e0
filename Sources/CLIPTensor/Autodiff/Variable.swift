// Reverse-mode automatic differentiation (micrograd's design on tensors): every
// differentiable op makes its output Variable and, only when some input requires a gradient,
// attaches a closure mapping the output's gradient to its inputs' gradients. `backward()`
// walks the graph in reverse topological order and accumulates (+=) into `grad`.
// Inference uses constant Variables: nothing is recorded and nothing is kept alive.

/// A tensor in a computation that may need gradients.
///
/// ```swift
/// let w = Variable(Tensor(shape: [2, 2], scalars: [1, 2, 3, 4]), requiresGrad: true)
/// let x = Variable(Tensor(shape: [1, 2], scalars: [1, 1]))
/// let loss = Variable.sum(Variable.matmul(x, w))
/// loss.backward()
/// print(w.grad!.scalars)   // [1, 1, 1, 1]
/// ```
public final class Variable: @unchecked Sendable {
    /// The forward value.
    public private(set) var value: Tensor
    /// The accumulated gradient of the last `backward()` (nil until one reaches this variable).
    public var grad: Tensor?
    /// True for leaves that want gradients (parameters) and for results computed from them.
    public let requiresGrad: Bool
    /// Inputs of the op that produced this variable (empty for leaves and constants).
    let parents: [Variable]
    /// Maps ∂L/∂self to ∂L/∂parent for each parent (nil where a parent needs none).
    let pullback: ((Tensor) -> [Tensor?])?

    /// A leaf: a parameter when `requiresGrad`, else a constant input.
    public init(_ value: Tensor, requiresGrad: Bool = false) {
        self.value = value
        self.requiresGrad = requiresGrad
        self.parents = []
        self.pullback = nil
    }

    private init(value: Tensor, parents: [Variable], pullback: @escaping (Tensor) -> [Tensor?]) {
        self.value = value
        self.requiresGrad = true
        self.parents = parents
        self.pullback = pullback
    }

    /// The result of an op: records `pullback` only when an input requires a gradient.
    public static func record(_ value: Tensor, _ parents: [Variable], pullback: @escaping (Tensor) -> [Tensor?])
        -> Variable
    {
        parents.contains(where: \.requiresGrad)
            ? Variable(value: value, parents: parents, pullback: pullback) : Variable(value)
    }

    /// Shape of the value.
    public var shape: [Int] { value.shape }

    /// Replaces a leaf's value (optimiser steps). Not for op results.
    public func assign(_ newValue: Tensor) {
        precondition(parents.isEmpty, "assign is for leaves, not op results")
        precondition(
            newValue.shape == value.shape, "assign: shape \(newValue.shape) for a variable of shape \(value.shape)")
        value = newValue
    }

    /// Back-propagates from this variable, seeding with `seed` (default: ones, i.e. ∂self/∂self
    /// for a scalar loss). Gradients accumulate into `grad` of every variable that requires one.
    public func backward(seed: Tensor? = nil) {
        precondition(requiresGrad, "backward from a variable that does not depend on any parameter")
        let start = seed ?? Tensor(repeating: 1, shape: value.shape)
        precondition(start.shape == value.shape, "backward seed \(start.shape) for a variable of shape \(value.shape)")
        // Reverse topological order by iterative depth-first search (deep graphs must not
        // overflow the stack).
        var order: [Variable] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Variable, Bool)] = [(self, false)]
        while let (node, expanded) = stack.popLast() {
            if expanded {
                order.append(node)
                continue
            }
            if !visited.insert(ObjectIdentifier(node)).inserted { continue }
            stack.append((node, true))
            for p in node.parents where p.requiresGrad && !visited.contains(ObjectIdentifier(p)) {
                stack.append((p, false))
            }
        }
        // Gradients of intermediate results live only for this pass. Sums are formed in place
        // when the running total's memory is referenced by nothing else (same additions, in the
        // same order, as allocating a + b).
        var pending: [ObjectIdentifier: Tensor] = [ObjectIdentifier(self): start]
        for node in order.reversed() {
            guard var g = pending.removeValue(forKey: ObjectIdentifier(node)) else { continue }
            guard let pullback = node.pullback else {
                if var total = node.grad.take() {
                    Tensor.accumulate(&total, adding: g)
                    node.grad = total
                } else {
                    // A leaf owns its gradient's memory: keep g when nothing else holds it.
                    node.grad = g.isUniquelyOwnedAndContiguous() ? g : g.copy()
                }
                continue
            }
            let grads = pullback(g)
            precondition(
                grads.count == node.parents.count,
                "pullback returned \(grads.count) gradients for \(node.parents.count) inputs")
            for (p, pg) in zip(node.parents, grads) where p.requiresGrad {
                guard let pg else { continue }
                precondition(
                    pg.shape == p.value.shape, "gradient shape \(pg.shape) for input of shape \(p.value.shape)")
                let id = ObjectIdentifier(p)
                if var total = pending.removeValue(forKey: id) {
                    Tensor.accumulate(&total, adding: pg)
                    pending[id] = total
                } else {
                    pending[id] = pg
                }
            }
        }
    }

    /// Clears the accumulated gradient (explicit zeroing, as in llm.c).
    public func zeroGrad() { grad = nil }
}
