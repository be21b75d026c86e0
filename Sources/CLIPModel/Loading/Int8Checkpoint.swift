import CLIPTensor
import CLIPWeights

/// How int8 weights are stored in a checkpoint, and which weights a model computes in int8.
///
/// `clip convert --dtype int8` writes each weight of ``isQuantized(_:)`` as two tensors:
/// `KEY` (int8, shape (O, I), symmetric, `[−127, 127]`) and `KEY.scale` (float32, (O)), with
/// `weight[o][i] = KEY.scale[o] · KEY[o][i]`; every other tensor stays float32. Loading such a
/// file at float32 precision dequantises; at int8 precision the stored values are used as they
/// are (the same values quantising at load gives).
///
/// ```swift
/// let int8 = try Int8Checkpoint.quantize(state.tensors)   // [key: WeightTensor], for SafetensorsWriter
/// ```
public enum Int8Checkpoint {
    /// The suffix of a weight's per-output-channel scales: `KEY.scale`.
    public static let scaleSuffix = ".scale"

    /// Whether `key` (OpenAI naming) is the weight of a linear layer the int8 model quantises:
    /// the transformer blocks' attention and MLP weights of both towers, and the ResNet
    /// attention pool's q, k, v and c projections. Embeddings, norms, the image stem and the
    /// final projections (`visual.proj`, `text_projection`) stay float32.
    public static func isQuantized(_ key: String) -> Bool {
        if key.hasPrefix("visual.attnpool."), key.hasSuffix("_proj.weight") { return true }
        guard key.contains("transformer.resblocks.") else { return false }
        return quantizedSuffixes.contains { key.hasSuffix($0) }
    }

    static let quantizedSuffixes = [
        ".attn.in_proj_weight", ".attn.out_proj.weight", ".mlp.c_fc.weight", ".mlp.c_proj.weight",
    ]

    /// `tensors` with every float weight of ``isQuantized(_:)`` replaced by `KEY` (int8) and
    /// `KEY.scale` (float32); other tensors are returned unchanged.
    public static func quantize(_ tensors: [String: WeightTensor]) throws -> [String: WeightTensor] {
        var result: [String: WeightTensor] = [:]
        for (key, tensor) in tensors {
            guard isQuantized(key), tensor.dtype.isFloatingPoint, tensor.shape.count == 2 else {
                result[key] = tensor
                continue
            }
            let weight = try Tensor(converting: tensor, key: key)
            let (values, scales) = Int8Weights.quantize(weight)
            result[key] = WeightTensor(
                dtype: .int8, shape: tensor.shape, bytes: values.map { UInt8(bitPattern: $0) })
            result[key + scaleSuffix] = WeightTensor(float32: scales, shape: [tensor.shape[0]])
        }
        return result
    }
}
