import CLIPTensor
import CLIPTestSupport
import Testing

// Gradient checking for the autodiff ops (STYLE habit 3): every op's analytic gradient
// (Variable.backward) is compared with central finite differences of a Float64 reference
// forward written in GradientReference.swift. The loss is a random projection of the output,
// L = Σ R ∘ op(x), so every output element contributes; its gradient seed is R itself.

/// A Float64 tensor for reference forwards: row-major values and a shape.
struct DTensor {
    var shape: [Int]
    var values: [Double]

    init(shape: [Int], values: [Double]) {
        precondition(Tensor.elementCount(shape) == values.count, "DTensor: \(values.count) values for shape \(shape)")
        self.shape = shape
        self.values = values
    }

    /// The elements of `t` in row-major order, read through its strides (views welcome).
    init(_ t: Tensor) { self.init(shape: t.shape, values: Naive.values(t)) }

    var rank: Int { shape.count }
    var strides: [Int] { Tensor.contiguousStrides(shape) }

    func at(_ index: [Int]) -> Double {
        var off = 0
        for (i, s) in zip(index, strides) { off += i * s }
        return values[off]
    }
}

/// One op under test: its inputs (possibly non-contiguous views), which of them require a
/// gradient, the op on Variables and its Float64 reference.
struct GradientCase: Sendable, CustomTestStringConvertible {
    let name: String
    let inputs: [Tensor]
    /// Inputs that are parameters; the others are constants and must get no gradient.
    let trainable: [Bool]
    let op: @Sendable ([Variable]) -> Variable
    let reference: @Sendable ([DTensor]) -> DTensor
    /// Allowed max |analytic − numeric| divided by max(max |numeric|, 1e-2), per input. The
    /// default 1e-5 is Float32 noise with room to spare: every case measured ≤ 4e-7 when
    /// written (QuickGELU, attention and softmax are the largest).
    let tolerance: Double

    init(
        _ name: String, _ inputs: [Tensor], trainable: [Bool]? = nil, tolerance: Double = 1e-5,
        op: @escaping @Sendable ([Variable]) -> Variable, reference: @escaping @Sendable ([DTensor]) -> DTensor
    ) {
        self.name = name
        self.inputs = inputs
        self.trainable = trainable ?? inputs.map { _ in true }
        self.tolerance = tolerance
        self.op = op
        self.reference = reference
    }

    var testDescription: String { name }
}

/// How one input's analytic gradient compares with the numeric one.
struct GradientComparison: CustomStringConvertible {
    let input: Int
    let maxDifference: Double
    let scale: Double
    let worstIndex: Int
    let analytic: Double
    let numeric: Double

    /// max |analytic − numeric| relative to the gradient's magnitude (floored at 1e-2, so
    /// near-zero gradients are judged absolutely).
    var error: Double { maxDifference / scale }

    var description: String {
        "input \(input): max |diff| \(maxDifference) (relative \(error)) at element \(worstIndex): analytic \(analytic), numeric \(numeric)"
    }
}

enum GradientCheck {
    /// Finite-difference step. The reference runs in Float64, so a small step keeps both the
    /// truncation error (∝ h²) and the rounding error (∝ 1e-16 / h) far below Float32 noise.
    static let step = 1e-6

    /// Runs the op forward and backward and compares values and gradients with the reference;
    /// records Swift Testing issues naming the worst element.
    static func expect(_ c: GradientCase, seed: UInt64 = 7, sourceLocation: SourceLocation = #_sourceLocation) {
        let variables = zip(c.inputs, c.trainable).map { Variable($0, requiresGrad: $1) }
        let y = c.op(variables)
        let inputs = c.inputs.map(DTensor.init)
        let expected = c.reference(inputs)
        #expect(
            y.shape == expected.shape, "\(c.name): output shape \(y.shape), reference \(expected.shape)",
            sourceLocation: sourceLocation)
        guard y.shape == expected.shape else { return }

        // Forward first: a wrong reference would make the gradient comparison meaningless.
        let forward = Closeness(y.value.scalars, expected.values)
        let forwardScale = max(expected.values.map(abs).max() ?? 0, 1)
        #expect(
            forward.maxAbsoluteDifference / forwardScale <= 1e-5, "\(c.name) forward: \(forward)",
            sourceLocation: sourceLocation)

        var generator = SeededGenerator(seed: seed)
        // R; a transposed view for outputs of rank ≥ 2, so every pullback also meets a
        // non-contiguous upstream gradient (as after a transpose in a real graph).
        let projection =
            y.shape.count >= 2
            ? Tensor.randomTransposedView(y.shape, using: &generator) : Tensor.random(y.shape, using: &generator)
        let r = DTensor(projection).values
        y.backward(seed: projection)

        for (i, v) in variables.enumerated() {
            guard c.trainable[i] else {
                #expect(
                    v.grad == nil, "\(c.name): constant input \(i) received a gradient", sourceLocation: sourceLocation)
                continue
            }
            guard let grad = v.grad else {
                Issue.record("\(c.name): trainable input \(i) received no gradient", sourceLocation: sourceLocation)
                continue
            }
            #expect(
                grad.shape == v.shape, "\(c.name): gradient shape \(grad.shape) for input \(v.shape)",
                sourceLocation: sourceLocation)
            let numeric = numericGradient(of: c.reference, at: inputs, input: i, projection: r)
            let comparison = compare(DTensor(grad).values, numeric, input: i)
            print("\(c.name): \(comparison)")
            #expect(comparison.error <= c.tolerance, "\(c.name): \(comparison)", sourceLocation: sourceLocation)
        }
    }

    /// ∂L/∂inputs[i] by central differences of L = Σ R ∘ reference(inputs).
    static func numericGradient(
        of reference: ([DTensor]) -> DTensor, at inputs: [DTensor], input i: Int, projection r: [Double]
    ) -> [Double] {
        var shifted = inputs
        return (0..<inputs[i].values.count).map { j in
            let x = inputs[i].values[j]
            shifted[i].values[j] = x + step
            let plus = dot(reference(shifted).values, r)
            shifted[i].values[j] = x - step
            let minus = dot(reference(shifted).values, r)
            shifted[i].values[j] = x
            return (plus - minus) / (2 * step)
        }
    }

    static func dot(_ a: [Double], _ b: [Double]) -> Double {
        zip(a, b).reduce(0) { $0 + $1.0 * $1.1 }
    }

    static func compare(_ analytic: [Double], _ numeric: [Double], input: Int) -> GradientComparison {
        var worst = 0, maxDifference = 0.0
        for (j, (a, n)) in zip(analytic, numeric).enumerated() where !(abs(a - n) <= maxDifference) {
            maxDifference = abs(a - n).isNaN ? .infinity : abs(a - n)
            worst = j
        }
        let scale = max(numeric.map(abs).max() ?? 0, 1e-2)
        return GradientComparison(
            input: input, maxDifference: maxDifference, scale: scale, worstIndex: worst,
            analytic: analytic.isEmpty ? 0 : analytic[worst], numeric: numeric.isEmpty ? 0 : numeric[worst])
    }
}

// MARK: - Inputs

extension Tensor {
    /// A random tensor of `shape` stored with its last two dimensions swapped, returned as a
    /// transposed (non-contiguous) view.
    static func randomTransposedView(
        _ shape: [Int], in range: ClosedRange<Float> = -1...1, using g: inout SeededGenerator
    ) -> Tensor {
        var stored = shape
        stored.swapAt(shape.count - 1, shape.count - 2)
        return Tensor.random(stored, in: range, using: &g).transposed(-1, -2)
    }

    /// A random tensor of `shape` that is a slice of a wider one along the last dimension
    /// (rows strided, last dimension unit-stride).
    static func randomSlicedView(_ shape: [Int], extra: Int = 3, using g: inout SeededGenerator) -> Tensor {
        var stored = shape
        stored[shape.count - 1] += extra
        return Tensor.random(stored, using: &g).sliced(dim: -1, range: 1..<(1 + shape[shape.count - 1]))
    }

    /// Random values kept at least `margin` away from zero (for kinks such as ReLU's).
    static func randomAwayFromZero(_ shape: [Int], margin: Float = 0.05, using g: inout SeededGenerator) -> Tensor {
        Tensor.random(shape, using: &g).map { $0 < 0 ? $0 - margin : $0 + margin }
    }
}
