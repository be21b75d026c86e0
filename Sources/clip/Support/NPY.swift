import Foundation

/// NumPy `.npy` (format version 1.0) for little-endian float32 arrays, the format
/// `numpy.load` reads; see numpy/lib/format.py. Shared by `clip preprocess` and `clip embed`.
///
/// ```swift
/// let data = NPY.float32(values, shape: [2, 3, 224, 224])
/// try data.write(to: URL(fileURLWithPath: "out.npy"))
/// ```
enum NPY {
    /// The file bytes: magic, version, header dict padded so the data starts 64-byte aligned,
    /// then the values in C order.
    static func float32(_ values: [Float], shape: [Int]) -> Data {
        precondition(shape.reduce(1, *) == values.count, "shape \(shape) does not hold \(values.count) values")
        let dims = shape.map(String.init).joined(separator: ", ")
        let tuple = shape.count == 1 ? "(\(dims),)" : "(\(dims))"
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(tuple), }"
        // magic (6) + version (2) + header length (2) + header + "\n" is a multiple of 64.
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        let length = UInt16(header.utf8.count)
        data.append(contentsOf: [UInt8(length & 0xFF), UInt8(length >> 8)])
        data.append(contentsOf: Array(header.utf8))
        data.reserveCapacity(data.count + values.count * 4)
        values.withUnsafeBufferPointer { buffer in
            for value in buffer {
                let bits = value.bitPattern.littleEndian
                withUnsafeBytes(of: bits) { data.append(contentsOf: $0) }
            }
        }
        return data
    }
}
