import CTensorKernels

// int8 linear layers: symmetric per-output-channel int8 weights, packed once; activations
// quantised per row (per token) at every call to u8 with a zero point; exact int32 products;
// float32 out. Kernels: CTensorKernels/clip_int8.c.
// Symbols: R rows (all leading dimensions), I input width (K in the kernels), O output width.

/// The arithmetic a model computes its linear layers in.
///
/// ```swift
/// let model = try CLIP.load(URL(fileURLWithPath: "ViT-B-32.safetensors"), precision: .int8)
/// ```
public enum Precision: String, Sendable, Codable, CaseIterable {
    /// Float32 everywhere (the reference).
    case fp32
    /// Transformer linear layers in int8 (weights per output channel, activations per row,
    /// int32 accumulation); norms, softmax, attention, embeddings, the patch/stem convolution
    /// and the final projections stay float32.
    case int8
}

/// Which int8 micro-kernel runs: the best the CPU has (``auto``), or one named for tests and
/// measurements. Every path gives the same int32 sums.
public enum Int8KernelPath: Int32, Sendable, CaseIterable {
    case auto = 0
    /// Portable C (every platform).
    case scalar = 1
    /// x86-64 AVX2 without VNNI: 16-bit widening and vpmaddwd (exact).
    case avx2 = 2
    /// x86-64 AVX-VNNI or AVX512-VNNI (256-bit vpdpbusd).
    case vnni = 3

    /// Whether this path runs on this CPU.
    public var isAvailable: Bool { clip_int8_isa_available(rawValue) != 0 }

    /// The path ``auto`` picks: VNNI, else AVX2, else scalar (capped by `CLIP_INT8_ISA`).
    public static var best: Int8KernelPath { Int8KernelPath(rawValue: clip_int8_isa_best()) ?? .scalar }
}

/// The int8 form of a linear layer's weight (O, I): per-output-channel scales and the values
/// packed into the kernels' 16-channel panels, built once.
///
/// `w[o][i] ≈ scales[o] · q[o][i]` with `q ∈ [−127, 127]` and `scales[o] = max|w[o]| / 127`.
///
/// ```swift
/// let int8 = Int8Weights(quantizing: weight)                   // weight (O, I)
/// let y = Tensor.int8Linear(x, weights: int8, bias: bias)      // (…, I) → (…, O)
/// ```
public final class Int8Weights: @unchecked Sendable {
    /// O
    public let outputs: Int
    /// I
    public let inputs: Int
    /// Per output channel: (O)
    public let scales: [Float]
    /// Σ_i q[o][i] per channel, padded to whole panels: (O16)
    let columnSums: [Int32]
    /// (O16 · I4) bytes, 64-byte aligned; read-only after init.
    let packed: UnsafeMutableRawPointer

    /// Quantises a float weight (O, I) (symmetric, per output channel, round to nearest even).
    public convenience init(quantizing weight: Tensor) {
        precondition(weight.rank == 2, "int8 weights must be (out, in), got \(weight.shape)")
        let (values, scales) = Int8Weights.quantize(weight)
        self.init(values: values, scales: scales, outputs: weight.shape[0], inputs: weight.shape[1])
    }

    /// Packs already quantised values (O·I, row-major) with their per-channel scales, e.g.
    /// read from a file `clip convert --dtype int8` wrote.
    public convenience init(values: [Int8], scales: [Float], outputs: Int, inputs: Int) {
        let (panels, sums) = values.withUnsafeBytes { Int8Weights.pack($0, outputs: outputs, inputs: inputs) }
        self.init(scales: scales, packed: panels, columnSums: sums, outputs: outputs, inputs: inputs)
    }

    /// ``init(values:scales:outputs:inputs:)`` from raw int8 bytes (e.g. a mapped file); they
    /// are copied into the packed panels, not kept.
    public convenience init(values: UnsafeRawBufferPointer, scales: [Float], outputs: Int, inputs: Int) {
        let (panels, sums) = Int8Weights.pack(values, outputs: outputs, inputs: inputs)
        self.init(scales: scales, packed: panels, columnSums: sums, outputs: outputs, inputs: inputs)
    }

    private init(scales: [Float], packed: UnsafeMutableRawPointer, columnSums: [Int32], outputs: Int, inputs: Int) {
        precondition(scales.count == outputs, "\(scales.count) scales for \(outputs) output channels")
        self.outputs = outputs
        self.inputs = inputs
        self.scales = scales
        self.packed = packed
        self.columnSums = columnSums
    }

    /// The panels (O16 · I4 bytes, 64-byte aligned, owned by the caller) and the channel sums.
    private static func pack(_ values: UnsafeRawBufferPointer, outputs: Int, inputs: Int) -> (
        UnsafeMutableRawPointer, [Int32]
    ) {
        precondition(values.count == outputs * inputs, "\(values.count) int8 values cannot be (\(outputs), \(inputs))")
        let panels = UnsafeMutableRawPointer.allocate(
            byteCount: max(clip_int8_packed_bytes(outputs, inputs), 1), alignment: 64)
        var sums = [Int32](repeating: 0, count: (outputs + 15) / 16 * 16)
        sums.withUnsafeMutableBufferPointer { s in
            clip_int8_pack_weights(
                values.baseAddress?.assumingMemoryBound(to: Int8.self), outputs, inputs,
                panels.assumingMemoryBound(to: Int8.self), s.baseAddress)
        }
        return (panels, sums)
    }

    deinit { packed.deallocate() }

    /// Symmetric per-row quantisation of `weight` (O, I): values (O·I) and scales (O).
    /// Every element satisfies |w − scale · q| ≤ scale / 2.
    public static func quantize(_ weight: Tensor) -> (values: [Int8], scales: [Float]) {
        precondition(weight.rank == 2, "int8 weights must be (out, in), got \(weight.shape)")
        let (o, i) = (weight.shape[0], weight.shape[1])
        let w = weight.contiguous()
        var values = [Int8](repeating: 0, count: o * i)
        var scales = [Float](repeating: 1, count: o)
        values.withUnsafeMutableBufferPointer { v in
            scales.withUnsafeMutableBufferPointer { s in
                let vp = SendablePointer(v.baseAddress!), sp = SendablePointer(s.baseAddress!)
                let wp = SendablePointer(w.baseAddress)
                Parallel.forEach(o, grain: max(1, 65_536 / max(i, 1))) { rows in
                    clip_int8_quantize_weights(
                        wp.pointer + rows.lowerBound * i, rows.count, i, vp.pointer + rows.lowerBound * i,
                        sp.pointer + rows.lowerBound)
                }
            }
        }
        return (values, scales)
    }

    /// The float weight the int8 values stand for: scales[o] · q[o][i], (O, I).
    public static func dequantize(values: [Int8], scales: [Float], outputs: Int, inputs: Int) -> Tensor {
        precondition(values.count == outputs * inputs && scales.count == outputs)
        return values.withUnsafeBytes { dequantize(values: $0, scales: scales, outputs: outputs, inputs: inputs) }
    }

    /// ``dequantize(values:scales:outputs:inputs:)`` from raw int8 bytes (e.g. a mapped file), in parallel.
    public static func dequantize(values: UnsafeRawBufferPointer, scales: [Float], outputs: Int, inputs: Int) -> Tensor
    {
        precondition(values.count == outputs * inputs && scales.count == outputs)
        let out = Tensor(uninitializedShape: [outputs, inputs])
        guard let base = values.baseAddress, outputs * inputs > 0 else { return out }
        let source = SendablePointer(UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: Int8.self)))
        let destination = SendablePointer(out.baseAddress)
        scales.withUnsafeBufferPointer { s in
            let sp = SendablePointer(UnsafeMutablePointer(mutating: s.baseAddress!))
            Parallel.forEach(outputs, grain: max(1, 65_536 / max(inputs, 1))) { rows in
                for o in rows {
                    let scale = sp.pointer[o]
                    let (q, w) = (source.pointer + o * inputs, destination.pointer + o * inputs)
                    for i in 0..<inputs { w[i] = scale * Float(q[i]) }
                }
            }
        }
        return out
    }
}

/// Per-row u8 activations (rows padded to a multiple of 4 bytes), their scales and zero points.
struct Int8Rows {
    let values: UnsafeMutablePointer<UInt8>  // (R, I4)
    let scales: UnsafeMutablePointer<Float>  // (R)
    let zeroPoints: UnsafeMutablePointer<Int32>  // (R)
    let rows: Int, inputs: Int

    /// Quantises the rows of a contiguous (R, I) matrix at `x`, in parallel.
    init(_ x: UnsafeMutablePointer<Float>, rows: Int, inputs: Int) {
        self.rows = rows
        self.inputs = inputs
        let stride = (inputs + 3) / 4 * 4
        values = .allocate(capacity: max(rows * stride, 1))
        scales = .allocate(capacity: max(rows, 1))
        zeroPoints = .allocate(capacity: max(rows, 1))
        let (xp, q, s, z) = (
            SendablePointer(x), SendablePointer(values), SendablePointer(scales), SendablePointer(zeroPoints)
        )
        Parallel.forEach(rows, grain: max(1, 32_768 / max(inputs, 1))) { r in
            clip_int8_quantize_rows(
                xp.pointer, inputs, r.lowerBound, r.upperBound, inputs, q.pointer, s.pointer, z.pointer)
        }
    }

    func deallocate() {
        values.deallocate()
        scales.deallocate()
        zeroPoints.deallocate()
    }
}

extension Tensor {
    /// x (…, I) · Wᵀ + bias in int8: rows of x quantised to u8 per row, W per output channel,
    /// exact int32 sums, float32 result (…, O).
    public static func int8Linear(
        _ x: Tensor, weights: Int8Weights, bias: Tensor? = nil, kernel: Int8KernelPath = .auto
    ) -> Tensor {
        let inputs = weights.inputs, outputs = weights.outputs
        precondition(
            x.size(-1) == inputs, "int8 linear: input \(x.shape) does not match weight (\(outputs), \(inputs))")
        if let bias { precondition(bias.shape == [outputs], "int8 linear: bias \(bias.shape) for \(outputs) outputs") }
        let xc = x.contiguous()
        let rows = xc.count / max(inputs, 1)
        let out = Tensor(uninitializedShape: Array(x.shape.dropLast()) + [outputs])
        if rows == 0 || outputs == 0 { return out }
        let q = Int8Rows(xc.baseAddress, rows: rows, inputs: inputs)
        defer { q.deallocate() }
        let biasCopy = bias?.contiguous()
        let biasPointer = biasCopy.map { SendablePointer($0.baseAddress) }
        let y = SendablePointer(out.baseAddress)
        let panels = (outputs + 15) / 16
        let w = weights
        let run: @Sendable (Range<Int>, Range<Int>) -> Void = { r, p in
            w.columnSums.withUnsafeBufferPointer { sums in
                w.scales.withUnsafeBufferPointer { scales in
                    clip_int8_linear_f32(
                        q.values, q.scales, q.zeroPoints, inputs, w.packed.assumingMemoryBound(to: Int8.self),
                        sums.baseAddress, scales.baseAddress, biasPointer.map { UnsafePointer($0.pointer) }, outputs,
                        r.lowerBound, r.upperBound, p.lowerBound, p.upperBound, y.pointer, outputs, kernel.rawValue)
                }
            }
        }
        let threads = Parallel.threadCount
        if rows * outputs * inputs < 1 << 17 || threads == 1 {
            run(0..<rows, 0..<panels)
        } else if rows >= 12 * threads {
            // Enough rows: each thread takes a block of rows and every panel.
            Parallel.forEach(rows, grain: 6) { run($0, 0..<panels) }
        } else {
            // Few rows (a batch of one, a pooled query): split the output channels.
            Parallel.forEach(panels, grain: 1) { run(0..<rows, $0) }
        }
        withExtendedLifetime((xc, biasCopy, weights)) {}
        return out
    }
}

extension Int8Rows: @unchecked Sendable {}

/// Exact int32 products for tests: the kernels without the float epilogue.
public enum Int8Kernels {
    /// Quantises the rows of `x` (R, I) as ``Tensor/int8Linear(_:weights:bias:kernel:)`` does:
    /// values (R·I, unpadded), scales (R) and zero points (R); `x ≈ scale · (q − zeroPoint)`.
    public static func quantizeRows(_ x: Tensor) -> (values: [UInt8], scales: [Float], zeroPoints: [Int32]) {
        precondition(x.rank == 2, "quantizeRows takes (rows, inputs), got \(x.shape)")
        let xc = x.contiguous()
        let (rows, inputs) = (x.shape[0], x.shape[1])
        let q = Int8Rows(xc.baseAddress, rows: rows, inputs: inputs)
        defer { q.deallocate() }
        let stride = (inputs + 3) / 4 * 4
        var values = [UInt8]()
        values.reserveCapacity(rows * inputs)
        for r in 0..<rows { values += UnsafeBufferPointer(start: q.values + r * stride, count: inputs) }
        return (
            values, Array(UnsafeBufferPointer(start: q.scales, count: rows)),
            Array(UnsafeBufferPointer(start: q.zeroPoints, count: rows))
        )
    }

    /// Σ_i a[r][i] · q[o][i] for u8 rows `activations` (R·I) against `weights`, computed by
    /// `path`: (R·O) int32, row-major.
    public static func accumulate(
        _ activations: [UInt8], rows: Int, weights: Int8Weights, path: Int8KernelPath
    ) -> [Int32] {
        let inputs = weights.inputs
        precondition(
            activations.count == rows * inputs, "\(activations.count) activations are not (\(rows), \(inputs))")
        let stride = (inputs + 3) / 4 * 4, panels = (weights.outputs + 15) / 16
        var padded = [UInt8](repeating: 0, count: max(rows * stride, 1))
        for r in 0..<rows {
            for i in 0..<inputs { padded[r * stride + i] = activations[r * inputs + i] }
        }
        var acc = [Int32](repeating: 0, count: max(rows * panels * 16, 1))
        padded.withUnsafeBufferPointer { a in
            acc.withUnsafeMutableBufferPointer { c in
                clip_int8_gemm_s32(
                    a.baseAddress, inputs, weights.packed.assumingMemoryBound(to: Int8.self), 0, rows, 0, panels,
                    c.baseAddress, panels * 16, path.rawValue)
            }
        }
        return (0..<rows).flatMap { r in acc[(r * panels * 16)..<(r * panels * 16 + weights.outputs)] }
    }
}
