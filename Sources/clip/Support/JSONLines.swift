import CLIP
import Foundation

/// JSON Lines of texts, the input of `clip tokenize` (stdin) and `clip embed --texts-from`:
/// one JSON string per line, so that output row i is line i. The final newline is optional and
/// a CRLF line end is accepted; an empty line is an error (write `""` for an empty text), as is
/// invalid UTF-8 or a line that is not a JSON string.
enum JSONLines {
    static func strings(_ data: Data, source: String) throws -> [String] {
        let text: String
        do {
            text = try UTF8Input.decode(data)
        } catch TokenizerError.invalidUTF8(let offset) {
            throw CLIInputError.invalidUTF8(source: source, offset: offset)
        }
        // Split on the byte: as a Character, "\r\n" is one grapheme that "\n" would not match.
        var lines = text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true { lines.removeLast() }
        return try lines.enumerated().map { index, line in
            if line.allSatisfy({ $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }) {
                throw CLIInputError.emptyLine(source: source, line: index + 1)
            }
            // JSON allows the "\r" of a CRLF line end as trailing whitespace.
            guard let value = try? JSONSerialization.jsonObject(with: Data(line), options: .fragmentsAllowed),
                let string = value as? String
            else {
                throw CLIInputError.notAJSONString(source: source, line: index + 1)
            }
            return string
        }
    }
}

/// Bad text input to `clip tokenize` and `clip embed --texts-from`.
enum CLIInputError: LocalizedError {
    case invalidUTF8(source: String, offset: Int)
    case notAJSONString(source: String, line: Int)
    case emptyLine(source: String, line: Int)

    var errorDescription: String? {
        switch self {
        case .invalidUTF8(let source, let offset): "\(source) is not valid UTF-8 at byte offset \(offset)"
        case .notAJSONString(let source, let line): "\(source) line \(line) is not a JSON string"
        case .emptyLine(let source, let line):
            "\(source) line \(line) is not a JSON string (it is empty; every line is one text)"
        }
    }

    var recoverySuggestion: String? {
        switch self {
        case .invalidUTF8: "convert the text to UTF-8 first, for example with iconv"
        case .notAJSONString: "write one JSON string per line, e.g. \"a photo of a cat\""
        case .emptyLine: "write \"\" for an empty text, or remove the line"
        }
    }
}
