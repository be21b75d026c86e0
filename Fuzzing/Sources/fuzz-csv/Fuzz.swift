import CLIPEvaluation
import FuzzSupport

// The CSV/TSV reader (quoted fields, embedded separators and newlines, CRLF, BOM). The first byte
// picks the separator (even: tab, odd: comma); the rest is the file, invalid UTF-8 replaced as
// `table(contentsOf:)` does.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let separator: Character = data[0] % 2 == 0 ? "\t" : ","
    let text = String(decoding: UnsafeBufferPointer(start: data + 1, count: size - 1), as: UTF8.self)
    do {
        let table = try DelimitedText.table(text, separator: separator)
        precondition(table.rows.allSatisfy { $0.count == table.header.count }, "ragged row accepted")
        precondition(table.rows.count == table.lineNumbers.count, "line numbers")
    } catch is DelimitedTextError {
    } catch {
        fatalError("untyped error \(error)")
    }
    return 0
}
