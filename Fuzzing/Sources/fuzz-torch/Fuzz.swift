import FuzzSupport

@testable import CLIPWeights

// PyTorch archives end to end: torch.save zip checkpoints and TorchScript modules (zip, pickle,
// storage records, code/ declarations).

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let file = MappedFile(bytes: UnsafeRawBufferPointer(start: data, count: size), path: "fuzz.pt")
    do {
        let (tensors, _) = try TorchArchive.read(file)
        for tensor in tensors.values {
            precondition(tensor.withUnsafeBytes { $0.count } == tensor.byteCount, "tensor bytes do not match its shape")
        }
    } catch is WeightError {
    } catch {
        fatalError("untyped error \(error)")
    }
    return 0
}
