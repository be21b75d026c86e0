import Foundation

/// NumPy `.npy` (format version 1.0) for little-endian float32 arrays, the format
/// `numpy.load` reads; see numpy/lib/format.py. Shared by `clip preprocess` and `clip embed`.
///
/// ```swift
/// let data = NPY.float32(values, shape: [2, 3, 224, 224])
/// try OutputFile.write(data, to: URL(fileURLWithPath: "out.npy"))
/// ```
enum NPY {
    /// The file bytes: ``header(shape:)`` then the values in C order.
    static func float32(_ values: [Float], shape: [Int]) -> Data {
        precondition(shape.reduce(1, *) == values.count, "shape \(shape) does not hold \(values.count) values")
        var data = header(shape: shape)
        data.append(littleEndianBytes(values))
        return data
    }

    /// Magic, version and the header dict, padded so the data starts 64-byte aligned.
    static func header(shape: [Int]) -> Data {
        let dims = shape.map(String.init).joined(separator: ", ")
        let tuple = shape.count == 1 ? "(\(dims),)" : "(\(dims))"
        var dict = "{'descr': '<f4', 'fortran_order': False, 'shape': \(tuple), }"
        // magic (6) + version (2) + header length (2) + dict + "\n" is a multiple of 64.
        let unpadded = 10 + dict.utf8.count + 1
        dict += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        let length = UInt16(dict.utf8.count)
        data.append(contentsOf: [UInt8(length & 0xFF), UInt8(length >> 8)])
        data.append(contentsOf: Array(dict.utf8))
        return data
    }

    /// float32 values as little-endian bytes.
    static func littleEndianBytes(_ values: [Float]) -> Data {
        var data = Data(count: values.count * 4)
        data.withUnsafeMutableBytes { raw in
            for (i, value) in values.enumerated() {
                raw.storeBytes(of: value.bitPattern.littleEndian, toByteOffset: i * 4, as: UInt32.self)
            }
        }
        return data
    }
}
