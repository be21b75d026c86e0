import FuzzSupport

@testable import CLIPWeights

// The pickle machine on arbitrary bytes, with TorchScript classes allowed (the larger opcode
// surface). Storages resolve to a zeroed record of the requested size when it is small, so
// tensor views (offsets, strides, gathers) are exercised too.

/// Storage records larger than this are "missing": the fuzzer should explore the machine, not memset.
private let largestRecord = 4096

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    // A 1 MiB budget keeps gathered views fast; the limit logic is the same as for 64 MiB.
    let budget = ReadBudget(path: "fuzz.pkl", limit: 1 << 20)
    var machine = PickleMachine(path: "fuzz.pkl", allowTorchScriptClasses: true, budget: budget) { key, dtype, count in
        guard let bytes = multiplyChecked(count, dtype.elementSize), bytes <= largestRecord else {
            throw WeightError.missingRecord(file: "fuzz.pkl", record: key)
        }
        return PickledStorage(
            dtype: dtype, key: key, bytes: .owned([UInt8](repeating: 0, count: bytes)), elementCount: count)
    }
    defer { machine.tearDown() }
    do {
        let value = try machine.run(UnsafeRawBufferPointer(start: data, count: size))
        if case .tensor(let tensor) = value {
            precondition(tensor.withUnsafeBytes { $0.count } == tensor.byteCount, "tensor bytes do not match its shape")
        }
    } catch is WeightError {
    } catch {
        fatalError("untyped error \(error)")
    }
    return 0
}
