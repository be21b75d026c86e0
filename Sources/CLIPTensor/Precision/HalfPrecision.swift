import CTensorKernels
import Foundation

// IEEE 754 binary16 (fp16) and bfloat16 storage formats ↔ Float32 compute.
// Published CLIP checkpoints store most weights as fp16; conversions here are bit-exact:
// widening is exact, narrowing rounds to nearest, ties to even, and keeps NaN a (quiet) NaN.

/// Conversions between Float32 and the 16-bit storage formats.
public enum HalfPrecision {
    /// The Float32 value of an fp16 bit pattern (exact; subnormals, ±Inf and NaN payloads kept).
    @inline(__always)
    public static func float(fromHalfBits h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exponent = UInt32(h >> 10) & 0x1F
        let mantissa = UInt32(h & 0x3FF)
        if exponent == 0x1F {
            // Inf or NaN: all-ones exponent, mantissa shifted into place (payload kept).
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        }
        if exponent == 0 {
            if mantissa == 0 { return Float(bitPattern: sign) }
            // Subnormal: value = mantissa · 2^-24, exactly representable in Float32.
            let magnitude = Float(mantissa) * 0x1p-24
            return sign != 0 ? -magnitude : magnitude
        }
        return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
    }

    /// The fp16 bit pattern nearest to `f` (round to nearest, ties to even; overflow → ±Inf;
    /// NaN → quiet NaN with the top payload bits).
    @inline(__always)
    public static func halfBits(from f: Float) -> UInt16 {
        let bits = f.bitPattern
        let sign = UInt16((bits >> 16) & 0x8000)
        let exponent = Int((bits >> 23) & 0xFF)
        let mantissa = bits & 0x7F_FFFF
        if exponent == 0xFF {
            if mantissa == 0 { return sign | 0x7C00 }
            return sign | 0x7E00 | UInt16(truncatingIfNeeded: mantissa >> 13)
        }
        // Unbiased exponent for half: e - 127 + 15.
        let e = exponent - 112
        if e >= 0x1F { return sign | 0x7C00 }  // overflow to infinity
        if e <= 0 {
            // Result is subnormal (or zero): shift the full significand right with RNE.
            if e < -10 { return sign }  // below half the smallest subnormal
            let significand = mantissa | 0x80_0000  // implicit leading 1
            let shift = UInt32(14 - e)  // 24-bit significand → 10-bit field
            var half = significand >> shift
            let remainder = significand & ((1 << shift) - 1)
            let halfway = UInt32(1) << (shift - 1)
            if remainder > halfway || (remainder == halfway && (half & 1) == 1) { half += 1 }
            return sign | UInt16(half)
        }
        var half = UInt32(e) << 10 | (mantissa >> 13)
        let remainder = mantissa & 0x1FFF
        if remainder > 0x1000 || (remainder == 0x1000 && (half & 1) == 1) { half += 1 }  // may carry into Inf: correct
        return sign | UInt16(half)
    }

    /// The Float32 value of a bfloat16 bit pattern (exact).
    @inline(__always)
    public static func float(fromBFloat16Bits b: UInt16) -> Float {
        Float(bitPattern: UInt32(b) << 16)
    }

    /// The bfloat16 bit pattern nearest to `f` (round to nearest, ties to even; NaN stays NaN).
    @inline(__always)
    public static func bfloat16Bits(from f: Float) -> UInt16 {
        let bits = f.bitPattern
        if f.isNaN { return UInt16(bits >> 16) | 0x0040 }  // force quiet so truncation cannot make Inf
        let rounding = UInt32(0x7FFF) + ((bits >> 16) & 1)
        return UInt16((bits &+ rounding) >> 16)
    }

    /// Widens `count` fp16 values to Float32 (parallel; F16C where the CPU has it).
    public static func convertHalfToFloat(
        _ source: UnsafePointer<UInt16>, _ destination: UnsafeMutablePointer<Float>, count: Int
    ) {
        _ = widenHalf(UnsafeRawPointer(source), destination, count: count)
    }

    /// Widens `count` fp16 values at `source` (any alignment) to Float32 in parallel chunks
    /// (F16C, 8 values per instruction, where the CPU has it; the same bits either way) and
    /// returns how many of them are not finite (±Inf or NaN), counted in the same pass.
    public static func widenHalf(
        _ source: UnsafeRawPointer, _ destination: UnsafeMutablePointer<Float>, count: Int
    ) -> Int {
        let s = SendablePointer(UnsafeMutablePointer(mutating: source.assumingMemoryBound(to: UInt8.self)))
        let d = SendablePointer(destination)
        let counts = NonFiniteCounts()
        Parallel.forEach(count, grain: 262_144) { range in
            let bad = clip_half_to_float(s.pointer + 2 * range.lowerBound, d.pointer + range.lowerBound, range.count)
            if bad > 0 { counts.add(bad) }
        }
        return counts.total
    }

    /// How many of `count` fp16 values at `source` are not finite (±Inf or NaN), in parallel
    /// chunks, without widening them.
    public static func countNonFiniteHalf(_ source: UnsafePointer<UInt16>, count: Int) -> Int {
        let s = SendablePointer(UnsafeMutablePointer(mutating: source))
        let counts = NonFiniteCounts()
        Parallel.forEachChunk(count, chunk: Parallel.scanChunk) { range in
            // The exponent field all ones marks ±Inf and NaN. The largest masked exponent is an
            // integer max the compiler vectorises (a per-element count did not); only a chunk
            // that has one is counted.
            var largest: UInt16 = 0
            for i in range { largest = max(largest, s.pointer[i] & 0x7C00) }
            guard largest == 0x7C00 else { return }
            var bad = 0
            for i in range where s.pointer[i] & 0x7C00 == 0x7C00 { bad += 1 }
            counts.add(bad)
        }
        return counts.total
    }

    /// Widens `count` bfloat16 values to Float32 (parallel).
    public static func convertBFloat16ToFloat(
        _ source: UnsafePointer<UInt16>, _ destination: UnsafeMutablePointer<Float>, count: Int
    ) {
        map(source, destination, count: count) { float(fromBFloat16Bits: $0) }
    }

    /// Narrows `count` Float32 values to fp16 (parallel, RNE).
    public static func convertFloatToHalf(
        _ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<UInt16>, count: Int
    ) {
        map(source, destination, count: count) { halfBits(from: $0) }
    }

    /// Narrows `count` Float32 values to bfloat16 (parallel, RNE).
    public static func convertFloatToBFloat16(
        _ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<UInt16>, count: Int
    ) {
        map(source, destination, count: count) { bfloat16Bits(from: $0) }
    }

    /// destination[i] = convert(source[i]) for i < count, in parallel chunks.
    @inline(__always)
    private static func map<Source, Destination>(
        _ source: UnsafePointer<Source>, _ destination: UnsafeMutablePointer<Destination>,
        count: Int, _ convert: @escaping @Sendable (Source) -> Destination
    ) {
        let s = SendablePointer(UnsafeMutablePointer(mutating: source)), d = SendablePointer(destination)
        Parallel.forEach(count, grain: 65_536) { range in
            for i in range { d.pointer[i] = convert(s.pointer[i]) }
        }
    }
}

/// Element formats a tensor can be stored in; compute is always Float32.
public enum StorageFormat: String, Sendable, Codable, CaseIterable {
    case float32, float16, bfloat16

    /// Bytes per element.
    public var byteCount: Int { self == .float32 ? 4 : 2 }
}

extension Tensor {
    /// Decodes little-endian elements of `format` from `bytes` into a new Float32 tensor.
    public init(decoding bytes: UnsafeRawBufferPointer, format: StorageFormat, shape: [Int]) {
        let count = Tensor.elementCount(shape)
        precondition(
            bytes.count == count * format.byteCount,
            "\(bytes.count) bytes cannot hold \(count) \(format) elements of shape \(shape)")
        self.init(uninitializedShape: shape)
        guard count > 0, let base = bytes.baseAddress else { return }
        switch format {
        case .float32:
            UnsafeMutableRawPointer(baseAddress).copyMemory(from: base, byteCount: count * 4)
        case .float16:
            _ = HalfPrecision.widenHalf(base, baseAddress, count: count)
        case .bfloat16:
            let aligned = Tensor.alignedUInt16(base, count: count)
            HalfPrecision.convertBFloat16ToFloat(aligned.pointer, baseAddress, count: count)
            aligned.release()
        }
    }

    /// Decodes little-endian fp16 elements (any alignment) into a new Float32 tensor and
    /// returns it with the number of elements that are not finite (±Inf, NaN), counted during
    /// the conversion, so that checking loaded weights costs no second pass.
    public static func decodingHalf(_ bytes: UnsafeRawBufferPointer, shape: [Int]) -> (tensor: Tensor, nonFinite: Int) {
        let count = Tensor.elementCount(shape)
        precondition(
            bytes.count == count * 2, "\(bytes.count) bytes cannot hold \(count) fp16 elements of shape \(shape)")
        let tensor = Tensor(uninitializedShape: shape)
        guard count > 0, let base = bytes.baseAddress else { return (tensor, 0) }
        return (tensor, HalfPrecision.widenHalf(base, tensor.baseAddress, count: count))
    }

    /// Whether linear layers read fp16 weights where they are (the packed GEMM widens a block
    /// of weight rows at a time into scratch), so that a tensor from
    /// ``init(borrowingHalf:shape:owner:)`` is computed with no Float32 copy.
    public static var readsHalfWeightsInPlace: Bool { PackedGEMM.isAvailable }

    /// A tensor over `count(shape)` fp16 values at `bits` (2-byte aligned) that `owner` keeps
    /// alive: linear layers read them as fp16 (``readsHalfWeightsInPlace``), anything else that
    /// reads the tensor's Float32 memory widens them once (``TensorStorage/base``). Widening is
    /// exact, so the values are the same either way.
    public init(borrowingHalf bits: UnsafePointer<UInt16>, shape: [Int], owner: AnyObject) {
        let storage = TensorStorage(borrowingHalf: bits, count: Tensor.elementCount(shape), owner: owner)
        self.init(storage: storage, shape: shape, strides: Tensor.contiguousStrides(shape))
    }

    /// Encodes the elements (row-major) in `format`, little-endian.
    public func encoded(as format: StorageFormat) -> [UInt8] {
        let c = contiguous()
        let n = count
        var bytes = [UInt8](repeating: 0, count: n * format.byteCount)
        bytes.withUnsafeMutableBytes { raw in
            guard let dst = raw.baseAddress else { return }
            switch format {
            case .float32:
                dst.copyMemory(from: c.baseAddress, byteCount: n * 4)
            case .float16:
                HalfPrecision.convertFloatToHalf(c.baseAddress, dst.assumingMemoryBound(to: UInt16.self), count: n)
            case .bfloat16:
                HalfPrecision.convertFloatToBFloat16(c.baseAddress, dst.assumingMemoryBound(to: UInt16.self), count: n)
            }
        }
        return bytes
    }

    /// A UInt16 view of possibly unaligned bytes (copying only when misaligned).
    private static func alignedUInt16(_ base: UnsafeRawPointer, count: Int) -> (
        pointer: UnsafePointer<UInt16>, release: () -> Void
    ) {
        if Int(bitPattern: base) % 2 == 0 {
            return (base.assumingMemoryBound(to: UInt16.self), {})
        }
        let copy = UnsafeMutablePointer<UInt16>.allocate(capacity: count)
        UnsafeMutableRawPointer(copy).copyMemory(from: base, byteCount: count * 2)
        return (UnsafePointer(copy), { copy.deallocate() })
    }
}

/// Non-finite counts of the chunks of one parallel conversion.
final class NonFiniteCounts: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var total = 0

    func add(_ n: Int) {
        lock.lock()
        total += n
        lock.unlock()
    }
}
