import CLIPTensor
import CLIPWeights

// The bit conversions are CLIPTensor's `HalfPrecision` (the one fp16/bf16 conversion in the
// package): round to nearest, ties to even, as torch's `.to(torch.float16)` and
// `.to(torch.bfloat16)` do; a NaN stays a quiet NaN with its sign and top payload bits (torch's
// scalar path writes the canonical 0x7E00 / 0x7FC0 instead; both are NaN to every reader).

/// Converts floating-point weight tensors between float32, float16 and bfloat16.
///
/// ```swift
/// let half = WeightCast.cast(tensor, to: .float16)   // integer tensors come back unchanged
/// ```
public enum WeightCast {
    /// The element types `clip convert --dtype` writes.
    public static let targets: [String: WeightDType] = ["f32": .float32, "f16": .float16, "bf16": .bfloat16]

    /// `tensor` in `dtype`; non-floating tensors (e.g. BatchNorm's int64 counters) are kept as they are.
    public static func cast(_ tensor: WeightTensor, to dtype: WeightDType) -> WeightTensor {
        guard tensor.dtype.isFloatingPoint, dtype.isFloatingPoint, tensor.dtype != dtype else { return tensor }
        let count = tensor.elementCount
        var out = [UInt8](repeating: 0, count: count * dtype.elementSize)
        tensor.withUnsafeBytes { source in
            out.withUnsafeMutableBytes { destination in
                for i in 0..<count {
                    let value = read(source, i, tensor.dtype)
                    switch dtype {
                    case .float32:
                        destination.storeBytes(of: value.bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self)
                    case .float16:
                        destination.storeBytes(
                            of: HalfPrecision.halfBits(from: value).littleEndian, toByteOffset: 2 * i, as: UInt16.self)
                    case .bfloat16:
                        destination.storeBytes(
                            of: HalfPrecision.bfloat16Bits(from: value).littleEndian, toByteOffset: 2 * i,
                            as: UInt16.self)
                    default:  // float64
                        destination.storeBytes(
                            of: Double(value).bitPattern.littleEndian, toByteOffset: 8 * i, as: UInt64.self)
                    }
                }
            }
        }
        return WeightTensor(dtype: dtype, shape: tensor.shape, bytes: out)
    }

    /// Element `i` of little-endian floating-point bytes, as Float.
    static func read(_ raw: UnsafeRawBufferPointer, _ i: Int, _ dtype: WeightDType) -> Float {
        switch dtype {
        case .float32:
            Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
        case .float16:
            HalfPrecision.float(
                fromHalfBits: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
        case .bfloat16:
            HalfPrecision.float(
                fromBFloat16Bits: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
        case .float64:
            Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
        default: 0
        }
    }
}
