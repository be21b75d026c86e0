// Unicode NFC (UAX #15) with CPython 3.11's `unicodedata` 14.0 data, so results match
// `unicodedata.normalize("NFC", s)` exactly, independent of the Swift runtime's Unicode version.

enum NFC {
    static let combiningClass: [UInt32: UInt8] = {
        var table: [UInt32: UInt8] = [:]
        for (key, value) in TableParsing.scalarMap(GeneratedUnicodeTables.combiningClass) {
            table[key] = UInt8(value.first ?? 0)
        }
        return table
    }()
    static let decomposition = TableParsing.scalarMap(GeneratedUnicodeTables.canonicalDecomposition)
    static let compositions: [UInt64: UInt32] = {
        var table: [UInt64: UInt32] = [:]
        for token in GeneratedUnicodeTables.compositions.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
            let parts = token.split(whereSeparator: { $0 == "+" || $0 == ":" }).compactMap { UInt32($0, radix: 16) }
            guard parts.count == 3 else { continue }
            table[UInt64(parts[0]) << 32 | UInt64(parts[1])] = parts[2]
        }
        return table
    }()

    // Hangul syllable constants (Unicode chapter 3.12).
    private static let sBase: UInt32 = 0xAC00, lBase: UInt32 = 0x1100, vBase: UInt32 = 0x1161, tBase: UInt32 = 0x11A7
    private static let lCount: UInt32 = 19, vCount: UInt32 = 21, tCount: UInt32 = 28
    private static let nCount = vCount * tCount, sCount = lCount * vCount * tCount

    /// Dense BMP copy of `combiningClass`.
    static let bmpCombiningClass: [UInt8] = {
        var table = [UInt8](repeating: 0, count: 0x10000)
        for (key, value) in combiningClass where key < 0x10000 { table[Int(key)] = value }
        return table
    }()

    @inline(__always)
    static func ccc(_ c: UInt32) -> UInt8 {
        if c < 0x300 { return 0 }
        return c < 0x10000 ? bmpCombiningClass[Int(c)] : (combiningClass[c] ?? 0)
    }

    /// Whether NFC can change anything (a cheap, conservative pre-check).
    private static func mightChange(_ text: [UInt32]) -> Bool {
        // Below U+0300 nothing decomposes except Latin-1/Latin Extended letters, which are
        // already composed; they only recompose with a following combining mark (>= U+0300).
        text.contains { $0 >= 0x300 }
    }

    static func normalize(_ text: [UInt32]) -> [UInt32] {
        guard mightChange(text) else { return text }
        // 1. Full canonical decomposition.
        var decomposed: [UInt32] = []
        decomposed.reserveCapacity(text.count + 8)
        for c in text {
            if c >= sBase && c < sBase + sCount {
                let index = c - sBase
                decomposed.append(lBase + index / nCount)
                decomposed.append(vBase + (index % nCount) / tCount)
                if index % tCount != 0 { decomposed.append(tBase + index % tCount) }
            } else if c >= 0xC0, let parts = decomposition[c] {
                decomposed.append(contentsOf: parts)
            } else {
                decomposed.append(c)
            }
        }
        // 2. Canonical ordering: stable sort of each run of non-starters by combining class.
        var i = 0
        while i < decomposed.count {
            if ccc(decomposed[i]) == 0 {
                i += 1
                continue
            }
            var j = i
            while j < decomposed.count && ccc(decomposed[j]) != 0 { j += 1 }
            if j - i > 1 {
                let run = decomposed[i..<j].enumerated().sorted {
                    let (a, b) = (ccc($0.element), ccc($1.element))
                    return a != b ? a < b : $0.offset < $1.offset
                }
                for (k, item) in run.enumerated() { decomposed[i + k] = item.element }
            }
            i = j
        }
        // 3. Canonical composition.
        var out: [UInt32] = []
        out.reserveCapacity(decomposed.count)
        var starter: Int? = nil
        var lastClass: Int = -1
        for c in decomposed {
            let cls = Int(ccc(c))
            if let s = starter, lastClass < cls || lastClass == 0 && out.count - 1 == s,
                let composite = compose(out[s], c)
            {
                out[s] = composite
                continue
            }
            if cls == 0 {
                starter = out.count
            }
            lastClass = cls
            out.append(c)
        }
        return out
    }

    private static func compose(_ a: UInt32, _ b: UInt32) -> UInt32? {
        if a >= lBase && a < lBase + lCount && b >= vBase && b < vBase + vCount {
            return sBase + ((a - lBase) * vCount + (b - vBase)) * tCount
        }
        if a >= sBase && a < sBase + sCount && (a - sBase) % tCount == 0 && b > tBase && b < tBase + tCount {
            return a + (b - tBase)
        }
        return compositions[UInt64(a) << 32 | UInt64(b)]
    }
}
