/// A small deterministic random generator (SplitMix64, Steele, Lea & Flood 2014) with its own
/// integer, float and shuffle routines, so orders and augmentations depend only on the seed and
/// never on the standard library's algorithms, which may change between Swift versions.
///
/// ```swift
/// var random = SeededRandom(seed: 0, streams: 3, 17)   // stream (3, 17) of seed 0
/// let k = random.nextInt(below: 10)                     // 0..<10
/// var order = Array(0..<5); random.shuffle(&order)
/// ```
public struct SeededRandom: RandomNumberGenerator, Sendable, Equatable, Codable {
    /// The generator's whole state.
    public private(set) var state: UInt64

    /// A generator for `seed` alone.
    public init(seed: UInt64) {
        state = seed
    }

    /// A generator for an independent stream of `seed`, named by integers (epoch, sample index,
    /// split ...): each is mixed in, so nearby streams are unrelated.
    public init(seed: UInt64, streams: Int...) {
        var s = Self.mix(seed &+ 0x9E37_79B9_7F4A_7C15)
        for value in streams { s = Self.mix(s ^ Self.mix(UInt64(bitPattern: Int64(value)) &+ 0x632B_E59B_D9B4_E019)) }
        state = s
    }

    /// SplitMix64's output function.
    @inline(__always)
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return Self.mix(state)
    }

    /// Uniform in `0..<bound` (Lemire's multiply-shift with rejection: no modulo bias).
    public mutating func nextInt(below bound: Int) -> Int {
        precondition(bound > 0, "bound must be positive")
        let b = UInt64(bound)
        var product = next().multipliedFullWidth(by: b)
        if product.low < b {
            let threshold = (0 &- b) % b
            while product.low < threshold { product = next().multipliedFullWidth(by: b) }
        }
        return Int(product.high)
    }

    /// Uniform in `range` (both ends included).
    public mutating func nextInt(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + nextInt(below: range.count)
    }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func nextDouble() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// Uniform in [lower, upper).
    public mutating func nextDouble(in lower: Double, _ upper: Double) -> Double {
        lower + (upper - lower) * nextDouble()
    }

    /// Fisher–Yates shuffle in place (Durstenfeld's version, from the back).
    public mutating func shuffle<T>(_ values: inout [T]) {
        guard values.count > 1 else { return }
        for i in stride(from: values.count - 1, to: 0, by: -1) {
            let j = nextInt(below: i + 1)
            if i != j { values.swapAt(i, j) }
        }
    }
}
