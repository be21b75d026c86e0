import FuzzSupport

@testable import CLIPWeights

// The safetensors reader on arbitrary bytes: a header length, a JSON header, a data buffer.
// Every input must give tensors or a WeightError.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let file = MappedFile(bytes: UnsafeRawBufferPointer(start: data, count: size), path: "fuzz.safetensors")
    do {
        let (tensors, _) = try SafetensorsReader.read(file)
        for tensor in tensors.values {
            // Touch the first and last byte: the views must lie inside the file.
            tensor.withUnsafeBytes { raw in
                if let first = raw.first, let last = raw.last { blackHole(first &+ last) }
            }
        }
    } catch is WeightError {
    } catch {
        fatalError("untyped error \(error)")
    }
    return 0
}
