import CLIP
import CLIPTestSupport
import Foundation

/// A random full-vocabulary CLIP small enough to build at test time (ViT, width 8), written as
/// safetensors with its configuration in the metadata, for exercising the model commands.
/// Numerical agreement with the Python reference is tested in CLIPModelTests; here the CLI's
/// output is compared with the library's on the same file.
enum TinyModel {
    static let configuration = CLIPConfiguration(
        embedDim: 8,
        vision: .vit(imageSize: 32, patchSize: 16, width: 8, layers: 1, heads: 2),
        text: TextConfiguration(contextLength: 77, vocabularySize: 49408, width: 8, heads: 2, layers: 1))

    /// Path of the model file (created once per test process).
    static let path: String = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(
            "swift-clip-tiny-\(ProcessInfo.processInfo.processIdentifier).safetensors")
        try! write(to: url)
        return url.path
    }()

    /// Writes the tiny model to `url`, with the values of `replacing` (by key, flat index)
    /// swapped in: damaged checkpoints for the loader's checks. `half`: every tensor stored as
    /// fp16 (as OpenAI's releases; fp32 inference then reads them in place).
    static func write(to url: URL, replacing: [String: (index: Int, value: Float)] = [:], half: Bool = false) throws {
        var g = SeededGenerator(seed: 77)
        func random(_ shape: [Int], scale: Float = 0.5) -> WeightTensor {
            WeightTensor(
                float32: (0..<shape.reduce(1, *)).map { _ in Float.random(in: -scale...scale, using: &g) }, shape: shape
            )
        }
        var tensors: [(String, WeightTensor)] = []
        func block(_ prefix: String, _ w: Int) {
            tensors += [
                ("\(prefix).attn.in_proj_weight", random([3 * w, w])), ("\(prefix).attn.in_proj_bias", random([3 * w])),
                ("\(prefix).attn.out_proj.weight", random([w, w])), ("\(prefix).attn.out_proj.bias", random([w])),
                ("\(prefix).ln_1.weight", random([w])), ("\(prefix).ln_1.bias", random([w])),
                ("\(prefix).mlp.c_fc.weight", random([4 * w, w])), ("\(prefix).mlp.c_fc.bias", random([4 * w])),
                ("\(prefix).mlp.c_proj.weight", random([w, 4 * w])), ("\(prefix).mlp.c_proj.bias", random([w])),
                ("\(prefix).ln_2.weight", random([w])), ("\(prefix).ln_2.bias", random([w])),
            ]
        }
        tensors += [
            ("visual.conv1.weight", random([8, 3, 16, 16], scale: 0.05)), ("visual.class_embedding", random([8])),
            ("visual.positional_embedding", random([5, 8])), ("visual.ln_pre.weight", random([8])),
            ("visual.ln_pre.bias", random([8])),
            ("visual.ln_post.weight", random([8])), ("visual.ln_post.bias", random([8])),
            ("visual.proj", random([8, 8])),
        ]
        block("visual.transformer.resblocks.0", 8)
        tensors += [
            ("token_embedding.weight", random([49408, 8])), ("positional_embedding", random([77, 8])),
            ("ln_final.weight", random([8])), ("ln_final.bias", random([8])), ("text_projection", random([8, 8])),
            ("logit_scale", WeightTensor(float32: [4.6052], shape: [])),
        ]
        block("transformer.resblocks.0", 8)
        for (i, (key, tensor)) in tensors.enumerated() {
            guard let change = replacing[key] else { continue }
            var values = tensor.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            values[change.index] = change.value
            tensors[i] = (key, WeightTensor(float32: values, shape: tensor.shape))
        }
        if half {
            tensors = tensors.map { key, tensor in
                let values = tensor.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
                let bytes = values.flatMap { value in
                    let bits = HalfPrecision.halfBits(from: value)
                    return [UInt8(bits & 0xFF), UInt8(bits >> 8)]
                }
                return (key, WeightTensor(dtype: .float16, shape: tensor.shape, bytes: bytes))
            }
        }
        let json = String(decoding: try JSONEncoder().encode(configuration), as: UTF8.self)
        try SafetensorsWriter.write(tensors, metadata: [CLIP.configurationMetadataKey: json], to: url)
    }

    /// Image fixtures from the image tests (real photographs, see CLIPImageTests).
    static func image(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("CLIPImageTests/Fixtures/images/\(name)").path
    }
}
