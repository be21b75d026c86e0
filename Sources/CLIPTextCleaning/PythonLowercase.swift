// CPython 3.11 `str.lower()` (Objects/unicodeobject.c `do_lower` / `handle_capital_sigma`)
// with its Unicode 14.0 tables, including the final-sigma context and İ -> i̇.

enum PythonLowercase {
    static let mapping = TableParsing.scalarMap(GeneratedUnicodeTables.lowercase)
    /// Dense BMP table: the single-scalar lowercase, or `multiple` (look in `mapping`).
    static let bmp: [UInt32] = {
        var table = (0..<UInt32(0x10000)).map { $0 }
        for (key, value) in mapping where key < 0x10000 {
            table[Int(key)] = value.count == 1 ? value[0] : multiple
        }
        return table
    }()
    static let multiple: UInt32 = 0xFFFF_FFFF
    static let caseIgnorable = ScalarSet(GeneratedUnicodeTables.caseIgnorable)
    static let cased = ScalarSet(GeneratedUnicodeTables.cased)

    static func lower(_ text: [UInt32]) -> [UInt32] {
        let n = text.count
        // CPython scans left/right from each Σ over case-ignorable characters, which is
        // quadratic on long runs; precompute both directions once instead (same result).
        var casedBefore: [Bool] = []  // casedBefore[i]: the nearest non-ignorable left of i is cased
        var casedAfter: [Bool] = []
        if text.contains(0x3A3) {
            casedBefore = [Bool](repeating: false, count: n)
            var state = false
            for i in 0..<n {
                casedBefore[i] = state
                if !caseIgnorable.contains(text[i]) { state = cased.contains(text[i]) }
            }
            casedAfter = [Bool](repeating: false, count: n)
            state = false
            for i in stride(from: n - 1, through: 0, by: -1) {
                casedAfter[i] = state
                if !caseIgnorable.contains(text[i]) { state = cased.contains(text[i]) }
            }
        }
        let bmp = Self.bmp
        var out: [UInt32] = []
        out.reserveCapacity(n)
        for (i, c) in text.enumerated() {
            if c < 0x80 {
                out.append((0x41...0x5A).contains(c) ? c + 0x20 : c)
            } else if c == 0x3A3 {
                // Final sigma: cased (case-ignorable)* Σ not followed by (case-ignorable)* cased.
                out.append(casedBefore[i] && !casedAfter[i] ? 0x3C2 : 0x3C3)
            } else if c < 0x10000 && bmp[Int(c)] != multiple {
                out.append(bmp[Int(c)])
            } else if let lowered = mapping[c] {
                out.append(contentsOf: lowered)
            } else {
                out.append(c)
            }
        }
        return out
    }
}
