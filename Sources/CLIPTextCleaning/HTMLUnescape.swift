// Port of CPython 3.11 `html.unescape` (Lib/html/__init__.py) and of ftfy 6.3.1
// `fixes.unescape_html` (only `&name;` / `&#num;` forms, plus ftfy's upper-case names).

enum HTMLEntities {
    /// html.entities.html5: name (with or without ';') -> scalars.
    static let html5: [String: [UInt32]] = parse(GeneratedHTMLEntities.html5)
    /// ftfy.chardata.HTML_ENTITIES = html5 names ending in ';' plus these upper-case names.
    static let ftfyUppercase: [String: [UInt32]] = parse(GeneratedHTMLEntities.ftfyUppercase)
    static let invalidCharrefs = TableParsing.scalarMap(GeneratedUnicodeTables.htmlInvalidCharrefs)
    static let invalidCodepoints = ScalarRanges(GeneratedUnicodeTables.htmlInvalidCodepoints)
    static let longestName = html5.keys.map(\.unicodeScalars.count).max() ?? 0

    private static func parse(_ text: String) -> [String: [UInt32]] {
        var table: [String: [UInt32]] = [:]
        for token in text.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
            guard let eq = token.firstIndex(of: "=") else { continue }
            table[String(token[..<eq])] = TableParsing.hexList(token[token.index(after: eq)...])
        }
        return table
    }

    @inline(__always) static func isDigit(_ c: UInt32) -> Bool { (0x30...0x39).contains(c) }
    @inline(__always) static func isHexDigit(_ c: UInt32) -> Bool {
        isDigit(c) || (0x41...0x46).contains(c) || (0x61...0x66).contains(c)
    }
    @inline(__always) static func isASCIIAlnum(_ c: UInt32) -> Bool {
        isDigit(c) || SimpleFixes.isASCIILetter(c)
    }

    /// html._replace_charref for a numeric reference with the given digits.
    static func numericReference(_ digits: ArraySlice<UInt32>, hex: Bool) -> [UInt32] {
        // Python's int() is unbounded; anything above U+10FFFF gives U+FFFD, so saturate.
        var value: UInt64 = 0
        for d in digits {
            let v: UInt64
            if isDigit(d) {
                v = UInt64(d - 0x30)
            } else if (0x41...0x46).contains(d) {
                v = UInt64(d - 0x41 + 10)
            } else {
                v = UInt64(d - 0x61 + 10)
            }
            value = min(value * (hex ? 16 : 10) + v, 0x7FFF_FFFF)
        }
        let num = UInt32(value)
        if let replacement = invalidCharrefs[num] { return replacement }
        if (0xD800...0xDFFF).contains(num) || num > 0x10FFFF { return [0xFFFD] }
        if invalidCodepoints.contains(num) { return [] }
        return [num]
    }

    /// Python `html.unescape`.
    static func unescape(_ text: [UInt32]) -> [UInt32] {
        guard text.contains(0x26) else { return text }
        var out: [UInt32] = []
        out.reserveCapacity(text.count)
        let n = text.count
        var i = 0
        while i < n {
            guard text[i] == 0x26, i + 1 < n else {
                out.append(text[i])
                i += 1
                continue
            }
            // &(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)
            if text[i + 1] == 0x23 {
                var j = i + 2
                var hex = false
                if j < n && isDigit(text[j]) {
                    while j < n && isDigit(text[j]) { j += 1 }
                } else if j + 1 < n && (text[j] == 0x78 || text[j] == 0x58) && isHexDigit(text[j + 1]) {
                    hex = true
                    j += 1
                    while j < n && isHexDigit(text[j]) { j += 1 }
                } else {
                    out.append(text[i])
                    i += 1
                    continue
                }
                let digits = text[(i + 2 + (hex ? 1 : 0))..<j]
                if j < n && text[j] == 0x3B { j += 1 }
                out.append(contentsOf: numericReference(digits, hex: hex))
                i = j
                continue
            }
            var j = i + 1
            while j < n && j - (i + 1) < 32 && !isNameStop(text[j]) { j += 1 }
            if j == i + 1 {
                out.append(text[i])
                i += 1
                continue
            }
            if j < n && text[j] == 0x3B { j += 1 }
            out.append(contentsOf: namedReference(text[(i + 1)..<j]))
            i = j
        }
        return out
    }

    @inline(__always)
    private static func isNameStop(_ c: UInt32) -> Bool {
        c == 0x09 || c == 0x0A || c == 0x0C || c == 0x20 || c == 0x3C || c == 0x26 || c == 0x23 || c == 0x3B
    }

    /// html._replace_charref for a name: exact match, else the longest prefix (>= 2 chars).
    private static func namedReference(_ name: ArraySlice<UInt32>) -> [UInt32] {
        // All html5 names are ASCII. Only ASCII candidates are looked up, because Swift String
        // keys compare by canonical equivalence: "\u{212A}opf;" (Kelvin sign) would otherwise
        // find "Kopf;", and "amp\u{37E}" (Greek question mark) would find "amp;".
        let asciiCount = name.prefix(while: { $0 < 0x80 }).count
        if asciiCount == name.count, let value = html5[Scalars.string(name)] { return value }
        let upper = min(name.count - 1, longestName, asciiCount)
        if upper >= 2 {
            for length in stride(from: upper, through: 2, by: -1) {
                let prefix = name.prefix(length)
                if let value = html5[Scalars.string(prefix)] {
                    return value + name.dropFirst(length)
                }
            }
        }
        return [0x26] + name
    }

    /// ftfy `fixes.unescape_html`: HTML_ENTITY_RE = `&#?[0-9A-Za-z]{1,24};`.
    static func ftfyUnescape(_ text: [UInt32]) -> [UInt32] {
        guard text.contains(0x26) else { return text }
        var out: [UInt32] = []
        out.reserveCapacity(text.count)
        let n = text.count
        var i = 0
        while i < n {
            if text[i] == 0x26 {
                var j = i + 1
                let numeric = j < n && text[j] == 0x23
                if numeric { j += 1 }
                var k = j
                while k < n && isASCIIAlnum(text[k]) { k += 1 }
                let run = k - j
                if run >= 1 && run <= 24 && k < n && text[k] == 0x3B {
                    let entity = text[i...k]
                    out.append(contentsOf: ftfyReplace(entity, numeric: numeric))
                    i = k + 1
                    continue
                }
            }
            out.append(text[i])
            i += 1
        }
        return out
    }

    /// fixes._unescape_fixup for one `&...;` match.
    private static func ftfyReplace(_ entity: ArraySlice<UInt32>, numeric: Bool) -> [UInt32] {
        let name = Scalars.string(entity.dropFirst())  // "name;" / "#...;"
        if let value = html5[name], name.hasSuffix(";") { return value }
        if let value = ftfyUppercase[name] { return value }
        if numeric {
            let unescaped = unescape(Array(entity))
            return unescaped.contains(0x3B) ? Array(entity) : unescaped
        }
        return Array(entity)
    }
}
