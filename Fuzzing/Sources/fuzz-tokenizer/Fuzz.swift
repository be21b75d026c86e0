import CLIPTokenizer
import FuzzSupport

// The tokenizer from raw bytes: UTF-8 validation (invalid input is an error), text cleaning,
// pre-tokenisation, byte-level BPE, then padding/truncation to the 77-token context and decoding.

private let tokenizer: Tokenizer = {
    do {
        return try Tokenizer.bundled()
    } catch {
        fatalError("bundled vocabulary unreadable: \(error)")
    }
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text: String
    do {
        text = try UTF8Input.decode(UnsafeBufferPointer(start: data, count: size))
    } catch {
        return 0
    }
    let ids = tokenizer.encode(text)
    precondition(ids.allSatisfy { $0 >= 0 && $0 < tokenizer.vocabularySize }, "id outside the vocabulary")
    do {
        let rows = try tokenizer.tokenize([text], truncate: true)
        precondition(rows.count == 1 && rows[0].count == 77, "context length")
        _ = try tokenizer.decode(ids)
    } catch is TokenizerError {
    } catch {
        fatalError("untyped error \(error)")
    }
    return 0
}
