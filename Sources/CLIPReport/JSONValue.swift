import Foundation

/// Any JSON value, decoded strictly: `true` is never the number 1 and `1` never `true` (the
/// log's `step_skipped` flag must not become a curve).
enum JSONValue: Decodable, Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    /// Parses `data`, nil when it is not JSON.
    static func parse(_ data: Data) -> JSONValue? { try? JSONDecoder().decode(JSONValue.self, from: data) }

    subscript(key: String) -> JSONValue? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    var number: Double? {
        if case .number(let value) = self { return value }
        return nil
    }

    /// A whole number (a step, a count).
    var integer: Int? {
        guard let number, number.rounded() == number, abs(number) < 1e15 else { return nil }
        return Int(number)
    }

    var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    var object: [String: JSONValue]? {
        if case .object(let value) = self { return value }
        return nil
    }

    /// How a settings table shows the value.
    var display: String {
        switch self {
        case .null: return "none"
        case .bool(let value): return value ? "on" : "off"
        case .number(let value): return ReportFormat.number(value)
        case .string(let value): return value
        case .array(let values): return values.isEmpty ? "none" : values.map(\.display).joined(separator: ", ")
        case .object(let object):
            return object.keys.sorted().map { "\($0): \(object[$0]?.display ?? "")" }.joined(separator: ", ")
        }
    }
}
