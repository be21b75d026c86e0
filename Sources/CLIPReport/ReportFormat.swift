import Foundation

/// Text helpers of the HTML report: escaping, numbers and times written the same way everywhere.
///
/// ```swift
/// ReportFormat.escape("<b>")      // "&lt;b&gt;"
/// ReportFormat.number(1.2e-5)     // "1.2e-5"
/// ```
public enum ReportFormat {
    /// `text` safe inside HTML element content and double-quoted attributes.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text.unicodeScalars {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            // Control characters have no place in a page (a NUL would end some parsers' text).
            case "\u{0}"..."\u{8}", "\u{B}", "\u{C}", "\u{E}"..."\u{1F}", "\u{7F}": out += "\u{FFFD}"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }

    /// A metric value in at most 4 significant digits: `0.4127`, `312.5`, `1.2e-05` → `1.2e-5`.
    public static func number(_ value: Double) -> String {
        guard value.isFinite else { return value.isNaN ? "NaN" : (value > 0 ? "∞" : "−∞") }
        if value == value.rounded(), abs(value) < 1e7 { return String(Int(value)) }
        var text = String(format: "%.4g", value)
        // C's exponent has a sign and two digits: 1e-05 → 1e-5, 2e+07 → 2e7.
        if let e = text.firstIndex(of: "e") {
            var exponent = String(text[text.index(after: e)...])
            let negative = exponent.hasPrefix("-")
            exponent = String(exponent.drop { $0 == "-" || $0 == "+" || $0 == "0" })
            text = String(text[..<e]) + "e" + (negative ? "-" : "") + (exponent.isEmpty ? "0" : exponent)
        }
        return text
    }

    /// A Unix time as `2026-12-02 20:15:07 UTC`.
    public static func time(_ seconds: Double) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return formatter.string(from: Date(timeIntervalSince1970: seconds)) + " UTC"
    }

    /// A duration as `3 h 07 min`, `4 min 05 s` or `12 s`.
    public static func duration(_ seconds: Double) -> String {
        let s = Int(max(seconds, 0).rounded())
        if s >= 3600 { return String(format: "%d h %02d min", s / 3600, s % 3600 / 60) }
        if s >= 60 { return String(format: "%d min %02d s", s / 60, s % 60) }
        return "\(s) s"
    }

    /// A coordinate in an SVG path: one decimal is finer than a pixel.
    static func coordinate(_ value: Double) -> String { String(format: "%.1f", value) }
}
