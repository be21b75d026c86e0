// Parsers for the generated hex tables (scripts/reference/gen_cleaning_tables.py) and the
// lookup structures built from them once, lazily. Swift `static let` is thread-safe.

/// A set of code points stored as sorted, disjoint closed ranges.
struct ScalarRanges: Sendable {
    private let lows: [UInt32]
    private let highs: [UInt32]

    /// Builds ranges from arbitrary members.
    init(members: [UInt32]) {
        var lows: [UInt32] = []
        var highs: [UInt32] = []
        for member in Set(members).sorted() {
            if let last = highs.last, member == last + 1 {
                highs[highs.count - 1] = member
            } else {
                lows.append(member)
                highs.append(member)
            }
        }
        self.lows = lows
        self.highs = highs
    }

    /// Parses `"41-5A 61 7A-7F"` (hex, space separated).
    init(_ text: String) {
        var lows: [UInt32] = []
        var highs: [UInt32] = []
        for token in text.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
            let parts = token.split(separator: "-")
            let low = UInt32(parts[0], radix: 16) ?? 0
            let high = parts.count > 1 ? (UInt32(parts[1], radix: 16) ?? 0) : low
            lows.append(low)
            highs.append(high)
        }
        self.lows = lows
        self.highs = highs
    }

    func contains(_ scalar: UInt32) -> Bool {
        // Binary search for the last range starting at or below `scalar`.
        var low = 0
        var high = lows.count
        while low < high {
            let mid = (low + high) / 2
            if lows[mid] <= scalar { low = mid + 1 } else { high = mid }
        }
        return low > 0 && scalar <= highs[low - 1]
    }

    /// Every member, in order (used to fill dense tables).
    var members: [UInt32] {
        var out: [UInt32] = []
        for (low, high) in zip(lows, highs) { out.append(contentsOf: low...high) }
        return out
    }
}

/// A set of BMP-or-ASCII-heavy code points with an O(1) bitmap for the BMP.
struct ScalarSet: Sendable {
    private let bmp: [UInt64]  // 65,536 bits
    private let ranges: ScalarRanges

    init(_ text: String) {
        self.init(ranges: ScalarRanges(text))
    }

    init(members: [UInt32]) {
        self.init(ranges: ScalarRanges(members: members))
    }

    private init(ranges: ScalarRanges) {
        self.ranges = ranges
        var bits = [UInt64](repeating: 0, count: 1024)
        for member in ranges.members where member < 0x10000 {
            bits[Int(member >> 6)] |= 1 << UInt64(member & 63)
        }
        bmp = bits
    }

    @inline(__always)
    func contains(_ scalar: UInt32) -> Bool {
        if scalar < 0x10000 {
            return bmp[Int(scalar >> 6)] & (1 << UInt64(scalar & 63)) != 0
        }
        return ranges.contains(scalar)
    }
}

enum TableParsing {
    /// Parses `"C0:E0 130:69,307"` into scalar -> replacement scalars.
    static func scalarMap(_ text: String) -> [UInt32: [UInt32]] {
        var map: [UInt32: [UInt32]] = [:]
        for token in text.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
            let parts = token.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, let key = UInt32(parts[0], radix: 16) else { continue }
            map[key] = hexList(parts[1])
        }
        return map
    }

    /// Parses `"48,65,6C"` into scalars.
    static func hexList<S: StringProtocol>(_ text: S) -> [UInt32] {
        text.split(separator: ",").compactMap { UInt32($0, radix: 16) }
    }
}

/// Conversions between Swift strings and the scalar arrays the fixers work on.
enum Scalars {
    static func of(_ text: String) -> [UInt32] {
        var out: [UInt32] = []
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars { out.append(scalar.value) }
        return out
    }

    static func string<C: Collection>(_ scalars: C) -> String where C.Element == UInt32 {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(scalars.count + scalars.count / 2)
        for value in scalars {
            switch value {
            case 0..<0x80:
                bytes.append(UInt8(value))
            case 0x80..<0x800:
                bytes.append(0xC0 | UInt8(value >> 6))
                bytes.append(0x80 | UInt8(value & 0x3F))
            case 0x800..<0x10000:
                bytes.append(0xE0 | UInt8(value >> 12))
                bytes.append(0x80 | UInt8((value >> 6) & 0x3F))
                bytes.append(0x80 | UInt8(value & 0x3F))
            default:
                bytes.append(0xF0 | UInt8(truncatingIfNeeded: value >> 18))
                bytes.append(0x80 | UInt8((value >> 12) & 0x3F))
                bytes.append(0x80 | UInt8((value >> 6) & 0x3F))
                bytes.append(0x80 | UInt8(value & 0x3F))
            }
        }
        // The fixers only produce valid scalars (never surrogates); decoding repairs anything else.
        return String(decoding: bytes, as: UTF8.self)
    }
}
