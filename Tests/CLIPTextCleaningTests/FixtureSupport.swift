import Foundation

/// One row of Fixtures/cleaning.jsonl (scripts/reference/make_cleaning_fixtures.py).
struct CleaningRow: Decodable, Sendable {
    let text: String
    let fixed: String
    let clean: String
}

enum Fixtures {
    static func cleaningRows(_ name: String = "cleaning") throws -> [CleaningRow] {
        guard let url = Bundle.module.url(forResource: name, withExtension: "jsonl", subdirectory: "Fixtures")
        else { throw FixtureError.missing("Fixtures/\(name).jsonl") }
        let data = try Data(contentsOf: url)
        let decoder = JSONDecoder()
        return try data.split(separator: UInt8(ascii: "\n")).map {
            try decoder.decode(CleaningRow.self, from: Data($0))
        }
    }
}

enum FixtureError: Error, CustomStringConvertible {
    case missing(String)
    var description: String {
        switch self {
        case .missing(let name): "\(name) not found; run scripts/reference/make_cleaning_fixtures.py"
        }
    }
}

/// `"a\u{E9}"` style rendering so invisible and look-alike characters show up in failures.
func escaped(_ text: String, limit: Int = 300) -> String {
    var out = ""
    for (i, scalar) in text.unicodeScalars.enumerated() {
        if i == limit { return out + "…(\(text.unicodeScalars.count) scalars)" }
        if scalar.value >= 0x20 && scalar.value < 0x7F && scalar != "\\" {
            out.unicodeScalars.append(scalar)
        } else {
            out += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
        }
    }
    return out
}

/// Compares `f(input)` with `expected` over rows; returns (mismatch count, first mismatch report).
func compareAll(_ rows: [CleaningRow], _ f: (String) -> String, _ expected: (CleaningRow) -> String) -> (Int, String?) {
    var count = 0
    var first: String?
    for (index, row) in rows.enumerated() {
        let got = f(row.text)
        if !sameScalars(got, expected(row)) {
            count += 1
            if first == nil {
                first =
                    "row \(index)\n  text:     \(escaped(row.text))\n  expected: \(escaped(expected(row)))\n  got:      \(escaped(got))"
            }
        }
    }
    return (count, first)
}

/// Scalar-exact equality. Swift's `==` on String is canonical equivalence ("e\u{301}" == "\u{E9}"),
/// which would hide exactly the NFC differences these tests look for.
func sameScalars(_ a: String, _ b: String) -> Bool {
    a.unicodeScalars.elementsEqual(b.unicodeScalars)
}
