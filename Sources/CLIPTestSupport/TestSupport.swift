import CLIPTensor

/// Deterministic pseudo-random numbers for tests (SplitMix64), so failures reproduce.
public typealias SeededGenerator = SeededRandom

extension Tensor {
    /// A tensor of uniform random values in `range`, reproducible from `generator`.
    public static func random(
        _ shape: [Int], in range: ClosedRange<Float> = -1...1, using generator: inout SeededGenerator
    ) -> Tensor {
        let values = (0..<Tensor.elementCount(shape)).map { _ in Float.random(in: range, using: &generator) }
        return Tensor(shape: shape, scalars: values)
    }
}

/// Comparison of computed values with expected ones.
public struct Closeness: CustomStringConvertible, Sendable {
    /// Largest |actual − expected|.
    public let maxAbsoluteDifference: Double
    /// Largest |actual − expected| / max(|expected|, floor).
    public let maxRelativeDifference: Double
    /// Index of the largest absolute difference.
    public let worstIndex: Int
    /// True when the shapes or counts disagree.
    public let countMismatch: Bool

    public init<A: Collection, B: Collection>(_ actual: A, _ expected: B, relativeFloor: Double = 1e-6)
    where A.Element: BinaryFloatingPoint, B.Element: BinaryFloatingPoint {
        countMismatch = actual.count != expected.count
        var maxAbs = 0.0, maxRel = 0.0, worst = 0
        for (i, (a, e)) in zip(actual, expected).enumerated() {
            let da = Double(a), de = Double(e)
            let diff = (da.isNaN || de.isNaN) ? (da.isNaN && de.isNaN ? 0 : .infinity) : abs(da - de)
            if diff > maxAbs || (diff.isInfinite && !maxAbs.isInfinite) {
                maxAbs = diff
                worst = i
            }
            maxRel = max(maxRel, diff / max(abs(de), relativeFloor))
        }
        maxAbsoluteDifference = maxAbs
        maxRelativeDifference = maxRel
        worstIndex = worst
    }

    /// True when every element is within `absolute` (or `relative` of the expected magnitude).
    public func within(absolute: Double, relative: Double = 0) -> Bool {
        !countMismatch && (maxAbsoluteDifference <= absolute || (relative > 0 && maxRelativeDifference <= relative))
    }

    public var description: String {
        countMismatch
            ? "element counts differ"
            : "max |diff| = \(maxAbsoluteDifference) at index \(worstIndex), max rel diff = \(maxRelativeDifference)"
    }
}
