import FuzzSupport

@testable import CLIPWeights

// The zip reader and the inflater. Inputs starting with a local-header signature ("PK\3\4") are
// read as archives, and every entry's contents are read (inflated and CRC-checked); anything
// else is inflated as a raw DEFLATE stream into a 64 KiB buffer.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    if ZipArchive.looksLikeZip(bytes) {
        let file = MappedFile(bytes: bytes, path: "fuzz.zip")
        do {
            let zip = try ZipArchive(file)
            for entry in zip.entries {
                do {
                    let contents = try zip.contents(of: entry, verify: true, limit: 1 << 20)
                    precondition(contents.count == entry.uncompressedSize, "contents differ from the declared size")
                } catch is WeightError {
                }
            }
        } catch is WeightError {
        } catch {
            fatalError("untyped error \(error)")
        }
    } else {
        let output = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
        defer { output.deallocate() }
        do {
            let count = try Inflate.inflate(bytes, into: output)
            precondition(count <= output.count, "inflated past the buffer")
        } catch {
            // Inflate.Failure: truncated, invalid or too large.
        }
    }
    return 0
}
