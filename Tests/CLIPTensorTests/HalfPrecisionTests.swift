import CLIPTensor
import CLIPTestSupport
import Testing

/// Exhaustive checks of the 16-bit formats: every one of the 65,536 bit patterns.
@Suite struct HalfPrecisionTests {
    /// fp16 value by its definition: (−1)^s · 2^(e−15) · (1 + m/1024), subnormals 2^−14 · m/1024.
    static func referenceHalfValue(_ h: UInt16) -> Double {
        let s: Double = (h & 0x8000) != 0 ? -1 : 1
        let e = Int((h >> 10) & 0x1F), m = Double(h & 0x3FF)
        if e == 0x1F { return m == 0 ? s * .infinity : .nan }
        if e == 0 { return s * m / 1024 * 0x1p-14 }
        return s * (1 + m / 1024) * Double(sign: .plus, exponent: e - 15, significand: 1)
    }

    @Test func everyHalfPatternWidensExactlyAndRoundTrips() {
        var mismatches = 0, first: UInt16?
        for bits in 0...UInt16.max {
            let f = HalfPrecision.float(fromHalfBits: bits)
            let expected = Self.referenceHalfValue(bits)
            let ok =
                expected.isNaN ? f.isNaN : (Double(f) == expected && f.sign == (bits & 0x8000 != 0 ? .minus : .plus))
            let back = HalfPrecision.halfBits(from: f)
            // NaNs keep their payload's top bits and become quiet.
            let roundTrips =
                expected.isNaN
                ? (back & 0x7C00) == 0x7C00 && (back & 0x3FF) != 0 && back & 0x8000 == bits & 0x8000 : back == bits
            if !(ok && roundTrips) {
                mismatches += 1
                if first == nil { first = bits }
            }
        }
        #expect(mismatches == 0, "\(mismatches) fp16 patterns wrong, first 0x\(String(first ?? 0, radix: 16))")
    }

    #if !(os(macOS) && arch(x86_64))
        @Test func widenAgreesWithSwiftFloat16() {
            var mismatches = 0
            for bits in 0...UInt16.max {
                let ours = HalfPrecision.float(fromHalfBits: bits), theirs = Float(Float16(bitPattern: bits))
                if !(ours.bitPattern == theirs.bitPattern || (ours.isNaN && theirs.isNaN)) { mismatches += 1 }
            }
            #expect(mismatches == 0, "\(mismatches) patterns differ from Swift's Float16")
        }
    #endif

    /// The vectorised widening (F16C where the CPU has it, 16 values per step plus a scalar
    /// tail) against the scalar definition, on every pattern at every alignment, with the
    /// non-finite count it makes on the way.
    @Test(arguments: [0, 1, 2, 7]) func vectorisedWideningIsExactAndCountsNonFinite(offset: Int) {
        let patterns = (0...UInt16.max).map { $0 }
        var bytes = [UInt8](repeating: 0xAA, count: offset)  // misaligns the source by `offset` bytes
        for h in patterns { bytes += [UInt8(h & 0xFF), UInt8(h >> 8)] }
        var out = [Float](repeating: 0, count: patterns.count)
        let nonFinite = bytes.withUnsafeBytes { raw in
            out.withUnsafeMutableBufferPointer {
                HalfPrecision.widenHalf(raw.baseAddress! + offset, $0.baseAddress!, count: patterns.count)
            }
        }
        var mismatches = 0
        for (h, f) in zip(patterns, out) {
            let expected = HalfPrecision.float(fromHalfBits: h)
            // F16C quietens a signalling NaN; a NaN weight is refused either way.
            if expected.isNaN ? !f.isNaN : f.bitPattern != expected.bitPattern { mismatches += 1 }
        }
        print("widenHalf at offset \(offset): \(mismatches) of 65536 patterns differ from the scalar path")
        #expect(mismatches == 0)
        #expect(nonFinite == 2 * 1024)  // exponent all ones: ±Inf and the NaNs, for both signs
    }

    /// Counting without widening: every pattern once (2,048 have the exponent all ones), and
    /// chunks large enough to run in parallel.
    @Test func nonFiniteHalfValuesAreCountedWithoutWidening() {
        let all = (0...UInt16.max).map { $0 }
        #expect(
            all.withUnsafeBufferPointer { HalfPrecision.countNonFiniteHalf($0.baseAddress!, count: $0.count) } == 2048)
        var large = [UInt16](repeating: 0x3C00, count: 3 << 20)  // 1.0
        #expect(
            large.withUnsafeBufferPointer { HalfPrecision.countNonFiniteHalf($0.baseAddress!, count: $0.count) } == 0)
        large[(3 << 20) - 1] = 0xFC00  // −Inf in the last chunk
        large[5] = 0x7E00  // NaN in the first
        #expect(
            large.withUnsafeBufferPointer { HalfPrecision.countNonFiniteHalf($0.baseAddress!, count: $0.count) } == 2)
    }

    @Test func decodingHalfCountsNonFiniteElements() {
        let halves: [UInt16] = [0x3C00, 0x7C00, 0xFC00, 0x7E00] + [UInt16](repeating: 0x3800, count: 37)
        let bytes = halves.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        let (tensor, nonFinite) = bytes.withUnsafeBytes { Tensor.decodingHalf($0, shape: [41]) }
        #expect(nonFinite == 3)
        #expect(tensor.scalars[0] == 1 && tensor.scalars[40] == 0.5)
    }

    @Test func narrowingRoundsToNearestEven() {
        // Between each pair of neighbouring finite halves: the midpoint goes to the even one,
        // anything just off the midpoint to the nearer one. Covers subnormals and overflow.
        var mismatches: [String] = []
        for bits in UInt16(0)..<0x7C00 {
            let lo = Double(HalfPrecision.float(fromHalfBits: bits))
            // 65536 = Inf's slot
            let hi = bits == 0x7BFF ? 65536.0 : Double(HalfPrecision.float(fromHalfBits: bits + 1))
            let mid = Float((lo + hi) / 2)  // exact in Float32
            let evenBits = (bits & 1) == 0 ? bits : bits + 1
            for sign: Float in [1, -1] {
                let s: UInt16 = sign < 0 ? 0x8000 : 0
                let checks: [(Float, UInt16)] = [
                    (sign * mid, evenBits | s), (sign * mid.nextDown, bits | s), (sign * mid.nextUp, (bits + 1) | s),
                ]
                for (value, expected) in checks where HalfPrecision.halfBits(from: value) != expected {
                    if mismatches.count < 5 {
                        mismatches.append(
                            "\(value) → 0x\(String(HalfPrecision.halfBits(from: value), radix: 16)), want 0x\(String(expected, radix: 16))"
                        )
                    }
                }
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches)")
        #expect(HalfPrecision.halfBits(from: .infinity) == 0x7C00 && HalfPrecision.halfBits(from: -.infinity) == 0xFC00)
        #expect(HalfPrecision.halfBits(from: 1e10) == 0x7C00)
        #expect(HalfPrecision.halfBits(from: 0x1p-26) == 0 && HalfPrecision.halfBits(from: -0x1p-26) == 0x8000)
        #expect(HalfPrecision.halfBits(from: .leastNonzeroMagnitude) == 0)
    }

    @Test func everyBFloat16PatternWidensAndRoundTrips() {
        var mismatches = 0
        for bits in 0...UInt16.max {
            let f = HalfPrecision.float(fromBFloat16Bits: bits)
            #expect(f.bitPattern == UInt32(bits) << 16)
            let back = HalfPrecision.bfloat16Bits(from: f)
            if f.isNaN ? !HalfPrecision.float(fromBFloat16Bits: back).isNaN : back != bits { mismatches += 1 }
            // Midpoint to the next pattern rounds to even (finite, non-max values).
            if !f.isNaN && f.isFinite && (bits & 0x7FFF) < 0x7F7F {
                let mid = Float(bitPattern: (UInt32(bits) << 16) | 0x8000)
                let expected = (bits & 1) == 0 ? bits : bits + 1
                if HalfPrecision.bfloat16Bits(from: mid) != expected { mismatches += 1 }
                if HalfPrecision.bfloat16Bits(from: Float(bitPattern: mid.bitPattern + 1)) != bits + 1 {
                    mismatches += 1
                }
            }
        }
        #expect(mismatches == 0, "\(mismatches) bfloat16 checks failed")
    }

    @Test(arguments: StorageFormat.allCases) func tensorEncodeDecodeRoundTrip(format: StorageFormat) {
        var g = SeededGenerator(seed: 41)
        let x = Tensor.random([3, 5], in: -4...4, using: &g)
        let bytes = x.encoded(as: format)
        #expect(bytes.count == 15 * format.byteCount)
        let y = bytes.withUnsafeBytes { Tensor(decoding: $0, format: format, shape: [3, 5]) }
        let tolerance: Double = format == .float32 ? 0 : (format == .float16 ? 4.0 / 2048 : 4.0 / 256)
        let diff = Closeness(y.scalars, x.scalars)
        #expect(diff.within(absolute: tolerance), "\(format): \(diff)")
        // Unaligned source bytes decode the same.
        let shifted = [UInt8(0)] + bytes
        let z = shifted.withUnsafeBytes {
            Tensor(decoding: UnsafeRawBufferPointer(rebasing: $0.dropFirst()), format: format, shape: [3, 5])
        }
        #expect(z.scalars == y.scalars)
    }
}
