import CLIPWeights

// Rounding follows IEEE 754 round-to-nearest-even, as torch's `Tensor.to(torch.float16)` and
// `.to(torch.bfloat16)` do (c10/util/BFloat16.h `round_to_nearest_even`).

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
                        destination.storeBytes(of: halfBits(value).littleEndian, toByteOffset: 2 * i, as: UInt16.self)
                    case .bfloat16:
                        destination.storeBytes(
                            of: bfloat16Bits(value).littleEndian, toByteOffset: 2 * i, as: UInt16.self)
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
        case .float16: halfToFloat(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
        case .bfloat16:
            Float(
                bitPattern: UInt32(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                    << 16)
        case .float64:
            Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
        default: 0
        }
    }

    /// bfloat16 bits of `value`, rounded to nearest even; NaN stays a quiet NaN.
    static func bfloat16Bits(_ value: Float) -> UInt16 {
        if value.isNaN { return 0x7FC0 }
        let bits = value.bitPattern
        let rounded = bits &+ 0x7FFF &+ ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: rounded >> 16)
    }

    /// IEEE half bits of `value` (round to nearest even, overflow to infinity, subnormals kept).
    static func halfBits(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        let sign = UInt16((bits >> 16) & 0x8000)
        let exponent = Int((bits >> 23) & 0xFF)
        var mantissa = bits & 0x7FFFFF
        if exponent == 0xFF { return sign | 0x7C00 | (mantissa != 0 ? 0x200 : 0) }
        let e = exponent - 127 + 15
        if e >= 0x1F { return sign | 0x7C00 }
        if e <= 0 {
            // Subnormal half (or zero): shift the implicit-one mantissa into place, rounding.
            if e < -10 { return sign }
            mantissa |= 0x800000
            let shift = UInt32(14 - e)
            let half = UInt32(1) << (shift - 1)
            let remainder = mantissa & ((UInt32(1) << shift) - 1)
            var result = mantissa >> shift
            if remainder > half || (remainder == half && (result & 1) == 1) { result += 1 }
            return sign | UInt16(result)
        }
        var result = UInt32(e) << 10 | (mantissa >> 13)
        let remainder = mantissa & 0x1FFF
        // A carry out of the mantissa correctly bumps the exponent (up to infinity).
        if remainder > 0x1000 || (remainder == 0x1000 && (result & 1) == 1) { result += 1 }
        return sign | UInt16(result)
    }

    /// Float value of IEEE half bits.
    static func halfToFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exponent = UInt32((h >> 10) & 0x1F)
        let mantissa = UInt32(h & 0x3FF)
        if exponent == 0 {
            // Zero or subnormal: mantissa * 2^-24.
            let magnitude = Float(mantissa) * Float(sign: .plus, exponent: -24, significand: 1)
            return sign != 0 ? -magnitude : magnitude
        }
        if exponent == 0x1F { return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13)) }
        return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
    }
}
