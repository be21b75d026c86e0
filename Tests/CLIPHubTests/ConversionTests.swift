import CLIPHub
import CLIPModel
import CLIPTensor
import CLIPWeights
import Foundation
import Testing

/// `ModelConverter` round trips on the tiny fixtures of CLIPModelTests (made by
/// scripts/reference/make_weight_fixtures.py): convert to each format and dtype, reload with no
/// hints (the configuration travels in the file), and compare embeddings on the fixture pixels
/// and token ids. float32 weights must be byte-identical and features equal to float32 noise; float16/bfloat16 features
/// must match a model built from the same weights rounded in memory, and stay close to the float32 original.
struct ConversionTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("CLIPModelTests/Fixtures")

    struct Case: Sendable, CustomStringConvertible {
        var source: String, outputs: String, heads: (text: Int, vision: Int)?
        var description: String { source }
    }

    static let sources: [Case] = [
        Case(source: "vit.safetensors", outputs: "vit-outputs.safetensors", heads: (2, 2)),
        Case(source: "vit-fp16.pt", outputs: "vit-outputs.safetensors", heads: (2, 2)),
        Case(source: "rn.safetensors", outputs: "rn-outputs.safetensors", heads: (2, 1)),
        Case(source: "hf", outputs: "hf-outputs.safetensors", heads: nil),
    ]

    /// Image and text features of `model` on the fixture inputs, concatenated.
    static func features(_ model: CLIP, outputs: String) throws -> [Float] {
        let reference = try WeightLoader.load(fixtures.appendingPathComponent(outputs)).tensors
        let pixels = try Tensor(converting: #require(reference["pixels"]))
        let tokenTensor = try #require(reference["tokens"])
        let ids: [Int64] = tokenTensor.withUnsafeBytes { raw in
            (0..<tokenTensor.elementCount).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self) }
        }
        let t = tokenTensor.shape[1]
        let tokens = (0..<tokenTensor.shape[0]).map { r in ids[(r * t)..<((r + 1) * t)].map { Int32($0) } }
        return try model.encodeImage(pixels).scalars + model.encodeText(tokens).scalars
    }

    static func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
        a.count == b.count ? zip(a, b).map { abs($0 - $1) }.max() ?? 0 : .infinity
    }

    @Test(arguments: sources, ["f32", "f16", "bf16"])
    func roundTrip(_ c: Case, _ dtypeName: String) throws {
        let dtype = try #require(WeightCast.targets[dtypeName])
        let sourceURL = Self.fixtures.appendingPathComponent(c.source)
        let state = try WeightLoader.load(sourceURL)
        let configuration = try c.heads.map {
            try CLIPConfiguration.infer(from: state, textHeads: $0.text, visionHeads: $0.vision)
        }
        let original = try CLIP(state: state, configuration: configuration)
        let rounded = try CLIP(
            state: StateDict(tensors: state.tensors.mapValues { WeightCast.cast($0, to: dtype) }, format: state.format),
            configuration: original.configuration)
        let expected = try Self.features(rounded, outputs: c.outputs)
        let reference = try Self.features(original, outputs: c.outputs)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("clip-convert-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }

        for format in ExportFormat.allCases {
            let output = folder.appendingPathComponent(format == .openAI ? "out.safetensors" : "out-hf")
            let source = ModelConverter.Source(fileName: c.source, sha256: try ModelConverter.sourceDigest(sourceURL))
            if case .resnet = original.configuration.vision, format == .huggingFace {
                #expect(throws: HubError.self) {
                    try ModelConverter.write(
                        state, configuration: original.configuration, dtype: dtype, format: format, to: output,
                        source: source)
                }
                continue
            }
            try ModelConverter.write(
                state, configuration: original.configuration, dtype: dtype, format: format, to: output, source: source)
            let reloaded = try CLIP.load(output)
            #expect(reloaded.configuration == original.configuration, "\(format)")
            let got = try Self.features(reloaded, outputs: c.outputs)
            // The weights are bit-identical (checked below for f32); the features may still differ
            // by float32 noise (~1e-6 seen for the hf fixture), since a model built from a
            // memory-mapped file and one from owned buffers need not take the same kernel path.
            let exact = Self.maxDifference(got, expected)
            #expect(exact <= 2e-6, "\(c.source) → \(format) \(dtypeName): max |diff| vs in-memory rounding \(exact)")
            let drift = Self.maxDifference(got, reference)
            let tolerance: Float = dtype == .float32 ? 2e-6 : (dtype == .float16 ? 2e-2 : 1e-1)
            #expect(drift <= tolerance, "\(c.source) → \(format) \(dtypeName): max |diff| vs original \(drift)")
            let file = format == .openAI ? output : output.appendingPathComponent("model.safetensors")
            let metadata = try WeightLoader.load(file).metadata
            #expect(
                metadata[ModelConverter.sourceKey] == c.source && metadata[ModelConverter.sourceSHA256Key]?.count == 64)
            #expect(metadata[ModelConverter.architectureKey] == original.configuration.architectureName)
            if dtype == .float32, format == .openAI {
                // Every weight of an f32 conversion is byte-identical to the source (as float32).
                let written = try WeightLoader.load(file).tensors
                for (key, tensor) in state.tensors where tensor.dtype.isFloatingPoint {
                    #expect(written[key]?.bytes == WeightCast.cast(tensor, to: .float32).bytes, "\(key)")
                }
            }
        }
    }

    @Test func huggingFaceKeysInvertTheImportTable() throws {
        let state = try WeightLoader.load(Self.fixtures.appendingPathComponent("vit.safetensors"))
        let hf = try HuggingFaceKeyMap.fromOpenAI(state.tensors)
        #expect(hf["vision_model.encoder.layers.0.self_attn.q_proj.weight"]?.shape == [32, 32])
        #expect(hf["visual_projection.weight"]?.shape == [16, 32])
        let back = try HuggingFaceKeyMap.toOpenAI(hf, source: "test")
        #expect(Set(back.keys) == Set(state.tensors.keys))
        for (key, tensor) in state.tensors {
            #expect(back[key]?.bytes == tensor.bytes && back[key]?.shape == tensor.shape, "\(key)")
        }
    }

    static let halfCases: [(Float, UInt16)] = [
        (0, 0), (1, 0x3C00), (-2, 0xC000), (65504, 0x7BFF), (65520, 0x7C00), (1e-8, 0), (5.960464477539063e-08, 0x0001),
        (1.0009765625, 0x3C01), (1.00048828125, 0x3C00), (1.00146484375, 0x3C02), (.infinity, 0x7C00),
    ]

    @Test(arguments: halfCases)
    func halfRounding(_ value: Float, _ bits: UInt16) {
        let tensor = WeightCast.cast(WeightTensor(float32: [value], shape: [1]), to: .float16)
        #expect(tensor.bytes == [UInt8(bits & 0xFF), UInt8(bits >> 8)], "\(value): got \(tensor.bytes)")
        if value.isFinite && bits != 0x7C00 {
            #expect(
                WeightCast.cast(tensor, to: .float32).bytes
                    == WeightTensor(float32: [Float(Float16(bitPattern: bits))], shape: [1]).bytes)
        }
    }

    /// Float32 bit patterns whose fp16/bf16 images differ between a payload-keeping and a canonical
    /// NaN conversion: quiet and signalling NaNs of both signs, with payloads in the top, middle
    /// and lowest bits, plus the neighbours ±Inf and the largest finite value.
    static let nanCases: [UInt32] = [
        0x7FC0_0000, 0xFFC0_0000, 0x7F80_0001, 0xFF80_0001, 0x7FA0_0000, 0x7FBF_FFFF, 0x7FFF_FFFF, 0xFFE0_2000,
        0x7F80_2000, 0x7FC0_1000, 0x7F80_0000, 0xFF80_0000, 0x7F7F_FFFF,
    ]

    /// `clip convert` (WeightCast) and the tensor engine (HalfPrecision, `Tensor.encoded(as:)`) write
    /// the same bits for every NaN payload, in both directions.
    @Test(arguments: nanCases)
    func nanBitsAgreeWithHalfPrecision(_ pattern: UInt32) throws {
        let value = Float(bitPattern: pattern)
        let f32 = WeightTensor(float32: [value], shape: [1])
        let tensor = Tensor(shape: [1], scalars: [value])
        for (dtype, format, expected) in [
            (WeightDType.float16, StorageFormat.float16, HalfPrecision.halfBits(from: value)),
            (.bfloat16, .bfloat16, HalfPrecision.bfloat16Bits(from: value)),
        ] {
            let cast = WeightCast.cast(f32, to: dtype).bytes
            let bits = UInt16(cast[0]) | UInt16(cast[1]) << 8
            #expect(bits == expected, "\(dtype) of 0x\(String(pattern, radix: 16)): 0x\(String(bits, radix: 16))")
            #expect(cast == tensor.encoded(as: format), "\(dtype) of 0x\(String(pattern, radix: 16))")
        }
    }

    /// Widening every fp16 and bf16 bit pattern (NaN payloads included) gives HalfPrecision's float bits.
    @Test func everyHalfPatternWidensLikeHalfPrecision() {
        let patterns = (0...UInt16.max).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        for dtype in [WeightDType.float16, .bfloat16] {
            let wide = WeightCast.cast(WeightTensor(dtype: dtype, shape: [65536], bytes: patterns), to: .float32).bytes
            var mismatches = 0
            for h in 0...UInt16.max {
                let expected =
                    dtype == .float16
                    ? HalfPrecision.float(fromHalfBits: h).bitPattern
                    : HalfPrecision.float(fromBFloat16Bits: h).bitPattern
                let i = 4 * Int(h)
                let got =
                    UInt32(wide[i]) | UInt32(wide[i + 1]) << 8 | UInt32(wide[i + 2]) << 16 | UInt32(wide[i + 3]) << 24
                if got != expected { mismatches += 1 }
            }
            #expect(mismatches == 0, "\(dtype): \(mismatches) of 65536 patterns differ")
        }
    }
}
