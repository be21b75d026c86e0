// DelimitedText: a CSV/TSV reader with RFC 4180 quoting, for caption tables
// (open_clip's `--csv-img-key`, `--csv-caption-key`, `--csv-separator`).
// Follows RFC 4180 section 2 and, where the RFC is silent, Python's `csv` module
// (default dialect, `doublequote=True`), which is what open_clip's pandas reader agrees with.
import Foundation

/// Reads delimiter-separated text (CSV, TSV) whose first record is a header.
///
/// Rules (RFC 4180, plus what Python's `csv` module does where the RFC is silent):
/// - Records end at LF, CRLF or a lone CR, except inside a quoted field, where line breaks
///   are kept as they are.
/// - A field that *starts* with `"` is quoted: it may contain the separator and line breaks,
///   and `""` stands for one `"`. Text after the closing quote and before the next separator
///   is kept literally (`"a"b` reads `ab`, as in Python). A `"` inside an unquoted field is an
///   ordinary character (`say "hi"` reads as is), so TSV captions with quotes need no escaping.
/// - A UTF-8 byte-order mark at the start is ignored; blank lines are skipped.
/// - Every record must have as many fields as the header, otherwise
///   ``DelimitedTextError/raggedRow(line:expected:found:)`` names the line.
///
/// ```swift
/// let (header, rows) = try DelimitedText.parse("filepath\ttitle\ncat.jpg\ta cat\n", separator: "\t")
/// // header == ["filepath", "title"], rows == [["cat.jpg", "a cat"]]
/// let table = try DelimitedText.table(contentsOf: URL(fileURLWithPath: "train.csv"), separator: ",")
/// let paths = try table.column(named: "filepath")
/// ```
public enum DelimitedText {
    /// A parsed file: the header, the records, and the line each record starts on.
    public struct Table: Sendable, Equatable {
        /// Column names from the first record.
        public var header: [String]
        /// Records after the header, each with `header.count` fields.
        public var rows: [[String]]
        /// 1-based line number (in the file) where each record of `rows` starts, for messages.
        public var lineNumbers: [Int]
        /// The file the table was read from, if any; column errors then name it.
        public var source: String?

        /// Creates a table from already split fields.
        public init(header: [String], rows: [[String]], lineNumbers: [Int], source: String? = nil) {
            precondition(rows.count == lineNumbers.count, "one line number per row")
            self.header = header
            self.rows = rows
            self.lineNumbers = lineNumbers
            self.source = source
        }

        /// The position of the column called `name` (exact, case-sensitive match; the first one
        /// if the header repeats it).
        ///
        /// ```swift
        /// let captions = try table.columnIndex(named: "title")
        /// ```
        /// - Throws: ``DelimitedTextError/missingColumn(_:available:)``, wrapped in
        ///   ``DelimitedTextError/inFile(path:_:)`` when the table came from a file.
        public func columnIndex(named name: String) throws -> Int {
            guard let index = header.firstIndex(of: name) else {
                let error = DelimitedTextError.missingColumn(name, available: header)
                throw source.map { error.inFile($0) } ?? error
            }
            return index
        }

        /// All values of the column called `name`, in record order.
        ///
        /// ```swift
        /// let paths = try table.column(named: "filepath")
        /// ```
        /// - Throws: ``DelimitedTextError/missingColumn(_:available:)``.
        public func column(named name: String) throws -> [String] {
            let index = try columnIndex(named: name)
            return rows.map { $0[index] }
        }
    }

    /// Splits `text` into a header and records.
    ///
    /// ```swift
    /// let (header, rows) = try DelimitedText.parse("a,b\r\n1,\"x, y\"\r\n", separator: ",")
    /// // header == ["a", "b"], rows == [["1", "x, y"]]
    /// ```
    /// - Throws: ``DelimitedTextError`` for an empty text, an unusable separator, a quoted
    ///   field that never closes, or a record whose field count differs from the header's.
    public static func parse(_ text: String, separator: Character) throws -> (header: [String], rows: [[String]]) {
        let table = try table(text, separator: separator)
        return (table.header, table.rows)
    }

    /// Like ``parse(_:separator:)`` but keeps the line number of every record.
    public static func table(_ text: String, separator: Character) throws -> Table {
        guard separator.unicodeScalars.count == 1, separator != "\"", !separator.isNewline else {
            throw DelimitedTextError.invalidSeparator(String(separator))
        }
        let separatorBytes = Array(String(separator).utf8)
        var text = text
        let records = try text.withUTF8 { try split(Array($0), separator: separatorBytes) }
        guard let first = records.first else { throw DelimitedTextError.empty }
        let header = first.fields
        var rows: [[String]] = []
        var lines: [Int] = []
        rows.reserveCapacity(records.count - 1)
        lines.reserveCapacity(records.count - 1)
        for record in records.dropFirst() {
            guard record.fields.count == header.count else {
                throw DelimitedTextError.raggedRow(
                    line: record.line, expected: header.count, found: record.fields.count)
            }
            rows.append(record.fields)
            lines.append(record.line)
        }
        return Table(header: header, rows: rows, lineNumbers: lines)
    }

    /// Reads and parses a UTF-8 file.
    ///
    /// ```swift
    /// let table = try DelimitedText.table(contentsOf: URL(fileURLWithPath: "data.tsv"), separator: "\t")
    /// ```
    /// - Throws: ``DelimitedTextError/unreadable(path:reason:)`` when the file cannot be read,
    ///   and the errors of ``parse(_:separator:)`` (their messages name the file).
    public static func table(contentsOf url: URL, separator: Character) throws -> Table {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw DelimitedTextError.unreadable(path: url.path, reason: error.localizedDescription)
        }
        // Invalid UTF-8 becomes U+FFFD rather than failing the whole file: one odd caption
        // should not stop a run, and the replacement is visible in the caption.
        let text = String(decoding: data, as: UTF8.self)
        do {
            var parsed = try table(text, separator: separator)
            parsed.source = url.path
            return parsed
        } catch let error as DelimitedTextError {
            throw error.inFile(url.path)
        }
    }

    /// Interprets a command-line separator argument: a single character, or one of the
    /// spellings shells make easy to type for a tab (`\t`, `tab`, `TAB`).
    ///
    /// ```swift
    /// try DelimitedText.separator(fromArgument: "\\t")   // "\t"
    /// try DelimitedText.separator(fromArgument: ",")     // ","
    /// ```
    /// - Throws: ``DelimitedTextError/invalidSeparator(_:)`` for anything else.
    public static func separator(fromArgument argument: String) throws -> Character {
        switch argument {
        case "\\t", "tab", "TAB", "\t": return "\t"
        case "comma": return ","
        default:
            guard argument.count == 1, let character = argument.first, character != "\"", !character.isNewline,
                character.unicodeScalars.count == 1
            else { throw DelimitedTextError.invalidSeparator(argument) }
            return character
        }
    }

    // MARK: - Splitting

    private struct Record {
        var fields: [String]
        var line: Int
    }

    private static let quote = UInt8(ascii: "\"")
    private static let lineFeed = UInt8(ascii: "\n")
    private static let carriageReturn = UInt8(ascii: "\r")

    /// One pass over the bytes. Splitting on ASCII bytes is safe in UTF-8 because no byte of a
    /// multi-byte sequence is below 0x80; a non-ASCII separator is matched as its whole sequence.
    private static func split(_ bytes: [UInt8], separator: [UInt8]) throws -> [Record] {
        var records: [Record] = []
        var fields: [String] = []
        var field: [UInt8] = []
        var index = 0
        // Skip a UTF-8 byte-order mark: spreadsheet exports add one and it would otherwise
        // become part of the first column's name.
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }
        var line = 1
        var recordLine = 1
        // Whether the current record has any content yet; a record with none is a blank line.
        var recordStarted = false
        var atFieldStart = true
        var inQuotes = false
        var quoteLine = 0

        func matchesSeparator(at position: Int) -> Bool {
            if separator.count == 1 { return bytes[position] == separator[0] }
            guard position + separator.count <= bytes.count else { return false }
            for offset in 0..<separator.count where bytes[position + offset] != separator[offset] { return false }
            return true
        }
        func endField() {
            fields.append(String(decoding: field, as: UTF8.self))
            field.removeAll(keepingCapacity: true)
            atFieldStart = true
        }
        func endRecord() {
            if recordStarted {
                endField()
                records.append(Record(fields: fields, line: recordLine))
            }
            fields.removeAll()
            field.removeAll(keepingCapacity: true)
            recordStarted = false
            atFieldStart = true
        }

        while index < bytes.count {
            let byte = bytes[index]
            if inQuotes {
                if byte == quote {
                    if index + 1 < bytes.count, bytes[index + 1] == quote {
                        field.append(quote)
                        index += 2
                    } else {
                        inQuotes = false
                        index += 1
                    }
                    continue
                }
                // Line breaks inside quotes are data, but still count for line numbers.
                if byte == lineFeed
                    || (byte == carriageReturn && (index + 1 == bytes.count || bytes[index + 1] != lineFeed))
                {
                    line += 1
                }
                field.append(byte)
                index += 1
                continue
            }
            if byte == lineFeed || byte == carriageReturn {
                endRecord()
                index += (byte == carriageReturn && index + 1 < bytes.count && bytes[index + 1] == lineFeed) ? 2 : 1
                line += 1
                recordLine = line
                continue
            }
            if !recordStarted {
                recordStarted = true
                recordLine = line
            }
            if matchesSeparator(at: index) {
                endField()
                index += separator.count
                continue
            }
            if byte == quote && atFieldStart {
                inQuotes = true
                quoteLine = line
                atFieldStart = false
                index += 1
                continue
            }
            atFieldStart = false
            field.append(byte)
            index += 1
        }
        if inQuotes { throw DelimitedTextError.unterminatedQuote(line: quoteLine) }
        endRecord()
        return records
    }
}

/// Errors from ``DelimitedText``.
public enum DelimitedTextError: LocalizedError, Equatable, Sendable {
    /// The text has no header record.
    case empty
    /// The separator is not one character, or is a quote or a line break.
    case invalidSeparator(String)
    /// A quoted field opened on `line` never closes.
    case unterminatedQuote(line: Int)
    /// A record starting on `line` has `found` fields; the header has `expected`.
    case raggedRow(line: Int, expected: Int, found: Int)
    /// No header field is called `name`.
    case missingColumn(String, available: [String])
    /// The file could not be read.
    case unreadable(path: String, reason: String)
    /// One of the other errors, in the named file.
    indirect case inFile(path: String, DelimitedTextError)

    func inFile(_ path: String) -> DelimitedTextError {
        if case .inFile = self { return self }
        return .inFile(path: path, self)
    }

    public var errorDescription: String? {
        switch self {
        case .empty: return "the table is empty (no header line)"
        case .invalidSeparator(let separator):
            return
                "unusable separator \"\(separator.debugDescription.dropFirst().dropLast())\" (needs one character other than a quote or a line break)"
        case .unterminatedQuote(let line): return "the quoted field starting on line \(line) is never closed"
        case .raggedRow(let line, let expected, let found):
            return "line \(line) has \(found) field\(found == 1 ? "" : "s"), the header has \(expected)"
        case .missingColumn(let name, let available):
            return "no column named '\(name)' (columns: \(available.map { "'\($0)'" }.joined(separator: ", ")))"
        case .unreadable(let path, let reason): return "cannot read \(path): \(reason)"
        case .inFile(let path, let error): return "\(path): \(error.errorDescription ?? "\(error)")"
        }
    }

    public var recoverySuggestion: String? {
        switch self {
        case .empty: return "The first line must name the columns, e.g. 'filepath<TAB>title'."
        case .invalidSeparator:
            return "Pass a single character, e.g. --csv-separator ',' or --csv-separator '\\t' for tabs."
        case .unterminatedQuote: return "Close the quote, or write a literal quote inside a quoted field as \"\"."
        case .raggedRow:
            return "Check the separator (--csv-separator; tab is the default) and quote fields that contain it."
        case .missingColumn: return "Name the columns with --csv-img-key and --csv-caption-key."
        case .unreadable: return "Check the path and the file's permissions."
        case .inFile(_, let error): return error.recoverySuggestion
        }
    }
}
