/// Expands WebDataset shard lists the way `webdataset.shardlists.expand_urls` and the
/// `braceexpand` package do: `::` separates lists (and so does a ',' outside braces),
/// `{a,b}` gives alternatives, `{000..099}` a zero-padded range (padded to the longer end
/// when either end has a leading zero), `{0..10..2}` a stepped range, `{a..e}` letters;
/// braces nest, a backslash escapes the next character, and `{x}` without a comma or range
/// stays literal.
///
/// ```swift
/// try ShardList.expand("data/{000..002}.tar::extra.tar")
/// // ["data/000.tar", "data/001.tar", "data/002.tar", "extra.tar"]
/// ```
public enum ShardList {
    /// Every path the pattern names, in order.
    public static func expand(_ pattern: String) throws -> [String] {
        var result: [String] = []
        for list in try splitTopLevel(Array(pattern), pattern: pattern) where !list.isEmpty {
            result += try expandBraces(list, pattern: pattern)
        }
        return result
    }

    /// Splits at `::` and ',' outside braces.
    static func splitTopLevel(_ s: [Character], pattern: String) throws -> [[Character]] {
        var parts: [[Character]] = [], current: [Character] = []
        var depth = 0, i = 0
        while i < s.count {
            let c = s[i]
            if c == "\\" && i + 1 < s.count {
                current += [c, s[i + 1]]
                i += 2
                continue
            }
            if c == "{" { depth += 1 }
            if c == "}" { depth -= 1 }
            if depth < 0 { throw DataError.invalidShardPattern(pattern: pattern, detail: "'}' without '{'") }
            if depth == 0 && c == "," {
                parts.append(current)
                current = []
                i += 1
                continue
            }
            if depth == 0 && c == ":" && i + 1 < s.count && s[i + 1] == ":" {
                parts.append(current)
                current = []
                i += 2
                continue
            }
            current.append(c)
            i += 1
        }
        if depth != 0 { throw DataError.invalidShardPattern(pattern: pattern, detail: "'{' without '}'") }
        parts.append(current)
        return parts
    }

    static func expandBraces(_ s: [Character], pattern: String) throws -> [String] {
        // The first unescaped '{' and its matching '}'.
        var open: Int? = nil, close: Int? = nil
        var depth = 0, i = 0
        while i < s.count {
            if s[i] == "\\" {
                i += 2
                continue
            }
            if s[i] == "{" {
                if depth == 0 && open == nil { open = i }
                depth += 1
            } else if s[i] == "}" {
                depth -= 1
                if depth < 0 { throw DataError.invalidShardPattern(pattern: pattern, detail: "'}' without '{'") }
                if depth == 0 && open != nil {
                    close = i
                    break
                }
            }
            i += 1
        }
        guard let open else { return [unescape(s)] }
        guard let close else { throw DataError.invalidShardPattern(pattern: pattern, detail: "'{' without '}'") }
        let prefix = unescape(Array(s[..<open]))
        let inner = Array(s[(open + 1)..<close])
        let suffixes = try expandBraces(Array(s[(close + 1)...]), pattern: pattern)
        var choices: [String]
        if let range = try range(inner, pattern: pattern) {
            choices = range
        } else {
            let alternatives = splitAlternatives(inner)
            if alternatives.count >= 2 {
                choices = try alternatives.flatMap { try expandBraces($0, pattern: pattern) }
            } else {
                choices = try expandBraces(inner, pattern: pattern).map { "{\($0)}" }
            }
        }
        return choices.flatMap { choice in suffixes.map { prefix + choice + $0 } }
    }

    /// Splits a brace body at commas outside nested braces.
    static func splitAlternatives(_ s: [Character]) -> [[Character]] {
        var parts: [[Character]] = [], current: [Character] = []
        var depth = 0, i = 0
        while i < s.count {
            let c = s[i]
            if c == "\\" && i + 1 < s.count {
                current += [c, s[i + 1]]
                i += 2
                continue
            }
            if c == "{" { depth += 1 } else if c == "}" { depth -= 1 }
            if c == "," && depth == 0 {
                parts.append(current)
                current = []
            } else {
                current.append(c)
            }
            i += 1
        }
        parts.append(current)
        return parts
    }

    /// `a..b` or `a..b..step` with integers or single letters, else nil.
    static func range(_ s: [Character], pattern: String) throws -> [String]? {
        let fields = String(s).components(separatedBy: "..")
        guard fields.count == 2 || fields.count == 3 else { return nil }
        var step = 1
        if fields.count == 3 {
            guard let value = Int(fields[2]) else { return nil }
            step = value == 0 ? 1 : abs(value)
        }
        let left = fields[0], right = fields[1]
        if let start = Int(left), let end = Int(right) {
            guard abs(end - start) / step < 1_000_000 else {
                throw DataError.invalidShardPattern(pattern: pattern, detail: "range {\(left)..\(right)} is too long")
            }
            let padded = [left, right].contains { $0 != "0" && $0 != "-0" && ($0.hasPrefix("0") || $0.hasPrefix("-0")) }
            let width = padded ? max(left.count, right.count) : 0
            let values =
                start <= end
                ? Array(stride(from: start, through: end, by: step))
                : Array(stride(from: start, through: end, by: -step))
            return values.map { pad($0, width: width) }
        }
        if left.count == 1, right.count == 1, let a = left.unicodeScalars.first, let b = right.unicodeScalars.first,
            a.properties.isAlphabetic, b.properties.isAlphabetic, a.isASCII, b.isASCII
        {
            let start = Int(a.value), end = Int(b.value)
            let values =
                start <= end
                ? Array(stride(from: start, through: end, by: step))
                : Array(stride(from: start, through: end, by: -step))
            return values.compactMap { Unicode.Scalar($0).map { String(Character($0)) } }
        }
        return nil
    }

    /// Python's `'%0Nd' % value`: zeros after the sign.
    static func pad(_ value: Int, width: Int) -> String {
        let digits = String(abs(value))
        let sign = value < 0 ? "-" : ""
        let zeros = max(0, width - sign.count - digits.count)
        return sign + String(repeating: "0", count: zeros) + digits
    }

    static func unescape(_ s: [Character]) -> String {
        var out = "", i = 0
        while i < s.count {
            if s[i] == "\\" && i + 1 < s.count {
                out.append(s[i + 1])
                i += 2
                continue
            }
            out.append(s[i])
            i += 1
        }
        return out
    }
}
