// DelimitedText: RFC 4180 quoting, line endings, ragged rows, column look-up.
// Expected values are what Python's csv.reader returns for the same text (checked by hand).
import Foundation
import Testing

@testable import CLIPEvaluation

struct DelimitedTextCase: CustomTestStringConvertible, Sendable {
    let name: String
    let text: String
    let separator: Character
    let header: [String]
    let rows: [[String]]
    let lines: [Int]
    var testDescription: String { name }
}

let delimitedTextCases: [DelimitedTextCase] = [
    .init(
        name: "plain TSV", text: "filepath\ttitle\na.jpg\ta cat\nb.jpg\ta dog\n", separator: "\t",
        header: ["filepath", "title"], rows: [["a.jpg", "a cat"], ["b.jpg", "a dog"]], lines: [2, 3]),
    .init(
        name: "no final newline", text: "a,b\n1,2", separator: ",", header: ["a", "b"], rows: [["1", "2"]], lines: [2]),
    .init(
        name: "CRLF", text: "a,b\r\n1,2\r\n3,4\r\n", separator: ",", header: ["a", "b"],
        rows: [["1", "2"], ["3", "4"]], lines: [2, 3]),
    .init(name: "lone CR", text: "a,b\r1,2\r", separator: ",", header: ["a", "b"], rows: [["1", "2"]], lines: [2]),
    .init(
        name: "quoted separator", text: "a,b\n\"x, y\",2\n", separator: ",", header: ["a", "b"], rows: [["x, y", "2"]],
        lines: [2]),
    .init(
        name: "doubled quote", text: "a,b\n\"say \"\"hi\"\"\",2\n", separator: ",", header: ["a", "b"],
        rows: [["say \"hi\"", "2"]], lines: [2]),
    .init(
        name: "newline inside quotes keeps CRLF and counts lines", text: "a,b\r\n\"one\r\ntwo\",2\r\n3,4\r\n",
        separator: ",",
        header: ["a", "b"], rows: [["one\r\ntwo", "2"], ["3", "4"]], lines: [2, 4]),
    .init(
        name: "quote inside unquoted field is literal", text: "p\tc\nx.png\tshe said \"hi\"\n", separator: "\t",
        header: ["p", "c"], rows: [["x.png", "she said \"hi\""]], lines: [2]),
    .init(
        name: "text after closing quote is kept (Python csv)", text: "a,b\n\"x\"y,2\n", separator: ",",
        header: ["a", "b"], rows: [["xy", "2"]], lines: [2]),
    .init(
        name: "empty fields and empty quoted field", text: "a,b,c\n,\"\",\n", separator: ",",
        header: ["a", "b", "c"], rows: [["", "", ""]], lines: [2]),
    .init(
        name: "blank lines skipped", text: "a\tb\n\n1\t2\n\r\n3\t4\n\n", separator: "\t",
        header: ["a", "b"], rows: [["1", "2"], ["3", "4"]], lines: [3, 5]),
    .init(
        name: "byte-order mark", text: "\u{FEFF}filepath,title\nx,y\n", separator: ",",
        header: ["filepath", "title"], rows: [["x", "y"]], lines: [2]),
    .init(
        name: "non-ASCII text and separator", text: "a§b\nchat noir é§🐈\n", separator: "§",
        header: ["a", "b"], rows: [["chat noir é", "🐈"]], lines: [2]),
    .init(name: "header only", text: "a,b\n", separator: ",", header: ["a", "b"], rows: [], lines: []),
    .init(
        name: "semicolon", text: "a;b\n1;2,5\n", separator: ";", header: ["a", "b"], rows: [["1", "2,5"]], lines: [2]),
]

@Test(arguments: delimitedTextCases)
func delimitedTextParses(_ c: DelimitedTextCase) throws {
    let table = try DelimitedText.table(c.text, separator: c.separator)
    #expect(table.header == c.header, "header \(table.header) != \(c.header)")
    #expect(table.rows == c.rows, "rows \(table.rows) != \(c.rows)")
    #expect(table.lineNumbers == c.lines, "lines \(table.lineNumbers) != \(c.lines)")
    let (header, rows) = try DelimitedText.parse(c.text, separator: c.separator)
    #expect(header == c.header && rows == c.rows)
}

struct DelimitedTextErrorCase: CustomTestStringConvertible, Sendable {
    let name: String
    let text: String
    let separator: Character
    let error: DelimitedTextError
    var testDescription: String { name }
}

let delimitedTextErrorCases: [DelimitedTextErrorCase] = [
    .init(name: "empty", text: "", separator: ",", error: .empty),
    .init(name: "only blank lines", text: "\n\r\n", separator: ",", error: .empty),
    .init(
        name: "too few fields", text: "a\tb\n1\t2\n3\n", separator: "\t",
        error: .raggedRow(line: 3, expected: 2, found: 1)),
    .init(
        name: "too many fields after a multi-line field", text: "a,b\n\"x\ny\",1\n2,3,4\n", separator: ",",
        error: .raggedRow(line: 4, expected: 2, found: 3)),
    .init(
        name: "unterminated quote", text: "a,b\n1,2\n\"open,3\n4,5\n", separator: ",",
        error: .unterminatedQuote(line: 3)),
    .init(name: "quote as separator", text: "a\"b\n", separator: "\"", error: .invalidSeparator("\"")),
    .init(name: "newline as separator", text: "a\nb\n", separator: "\n", error: .invalidSeparator("\n")),
]

@Test(arguments: delimitedTextErrorCases)
func delimitedTextRejects(_ c: DelimitedTextErrorCase) throws {
    #expect(throws: c.error) { try DelimitedText.parse(c.text, separator: c.separator) }
}

@Test func wrongSeparatorGivesOneColumn() throws {
    // With the wrong separator every line is one field; that is consistent, not ragged, and the
    // caller finds out when the column it asks for is missing.
    let table = try DelimitedText.table("filepath,title\n1,2\n", separator: "\t")
    #expect(table.header == ["filepath,title"])
    #expect(throws: DelimitedTextError.missingColumn("filepath", available: ["filepath,title"])) {
        try table.column(named: "filepath")
    }
}

@Test func delimitedTextColumns() throws {
    let table = try DelimitedText.table("filepath,title,filepath\na.jpg,cat,z\nb.jpg,dog,z\n", separator: ",")
    #expect(try table.columnIndex(named: "title") == 1)
    #expect(try table.columnIndex(named: "filepath") == 0)  // first of a repeated name
    #expect(try table.column(named: "title") == ["cat", "dog"])
    let error = DelimitedTextError.missingColumn("caption", available: ["filepath", "title", "filepath"])
    #expect(throws: error) { try table.column(named: "caption") }
    #expect(error.errorDescription == "no column named 'caption' (columns: 'filepath', 'title', 'filepath')")
    #expect(error.recoverySuggestion?.contains("--csv-caption-key") == true)
}

@Test func delimitedTextErrorMessages() {
    #expect(
        DelimitedTextError.raggedRow(line: 7, expected: 2, found: 1).errorDescription
            == "line 7 has 1 field, the header has 2")
    #expect(
        DelimitedTextError.unterminatedQuote(line: 3).errorDescription
            == "the quoted field starting on line 3 is never closed")
    #expect(
        DelimitedTextError.inFile(path: "/d/x.csv", .raggedRow(line: 2, expected: 2, found: 3)).errorDescription
            == "/d/x.csv: line 2 has 3 fields, the header has 2")
    #expect(DelimitedTextError.invalidSeparator("\t\t").errorDescription?.contains("\\t\\t") == true)
}

@Test func delimitedTextFromFile() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("delimited-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let good = dir.appendingPathComponent("good.tsv")
    try Data("filepath\ttitle\nimg/a.png\tred circle\n".utf8).write(to: good)
    #expect(try DelimitedText.table(contentsOf: good, separator: "\t").column(named: "title") == ["red circle"])
    // A table read from a file names it in column errors.
    #expect(
        throws: DelimitedTextError.inFile(path: good.path, .missingColumn("caption", available: ["filepath", "title"]))
    ) {
        try DelimitedText.table(contentsOf: good, separator: "\t").column(named: "caption")
    }

    let bad = dir.appendingPathComponent("bad.tsv")
    try Data("filepath\ttitle\nimg/a.png\n".utf8).write(to: bad)
    #expect(throws: DelimitedTextError.inFile(path: bad.path, .raggedRow(line: 2, expected: 2, found: 1))) {
        try DelimitedText.table(contentsOf: bad, separator: "\t")
    }
    let missing = dir.appendingPathComponent("missing.tsv")
    #expect {
        try DelimitedText.table(contentsOf: missing, separator: "\t")
    } throws: { error in
        guard case .unreadable(let path, _) = error as? DelimitedTextError else { return false }
        return path == missing.path
    }
}

@Test(
    arguments: [
        ("\\t", Character("\t")), ("tab", "\t"), ("\t", "\t"), (",", ","), ("comma", ","), (";", ";"), ("|", "|"),
    ] as [(String, Character)])
func separatorArguments(_ argument: String, _ expected: Character) throws {
    #expect(try DelimitedText.separator(fromArgument: argument) == expected)
}

@Test(arguments: ["", ",,", "\"", "\n", "\\n"])
func badSeparatorArguments(_ argument: String) {
    #expect(throws: DelimitedTextError.invalidSeparator(argument)) {
        try DelimitedText.separator(fromArgument: argument)
    }
}
