import ArgumentParser

/// The one check for numeric options: a usage error (exit 64) that names the option, the valid
/// range and the value given, e.g. `--top must be from 1 to 1000000, got 0`.
enum OptionRange {
    /// Whole numbers: `value` must lie in `range`.
    static func check(_ name: String, _ value: Int?, _ range: ClosedRange<Int>) throws {
        guard let value, !range.contains(value) else { return }
        let valid =
            range.upperBound == Int.max
            ? "at least \(range.lowerBound)" : "from \(range.lowerBound) to \(range.upperBound)"
        throw ValidationError("\(name) must be \(valid), got \(value)")
    }
}
