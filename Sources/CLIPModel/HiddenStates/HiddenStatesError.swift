import Foundation

/// Errors from asking a tower for per-token hidden states.
public enum HiddenStatesError: LocalizedError, Equatable, Sendable {
    /// A layer index outside `-(layers + 1) ... layers`.
    case layerOutOfRange(layer: Int, layers: Int)
    /// The model has no tower of the kind asked for, or one without per-token states.
    case unsupportedTower(String)
    /// Asked for the modality a single-tower folder does not hold.
    case missingTower(String)

    public var errorDescription: String? {
        switch self {
        case .layerOutOfRange(let layer, let layers):
            return
                "layer \(layer) is outside the valid range -\(layers + 1) ... \(layers) of a tower with \(layers) blocks"
        case .unsupportedTower(let why): return "no per-token hidden states: \(why)"
        case .missingTower(let why): return why
        }
    }

    public var recoverySuggestion: String? {
        switch self {
        case .layerOutOfRange:
            return
                "Layers count like transformers' hidden_states: 0 = embeddings, k = block k, -1 = last, -2 = penultimate."
        case .unsupportedTower: return "Use a ViT CLIP model or a single-tower folder."
        case .missingTower:
            return "Point --model at the folder of the other tower (diffusers: text_encoder/, image_encoder/)."
        }
    }
}

/// A layer as transformers counts `hidden_states`: 0 is the embeddings (for a ViT: after
/// `ln_pre`), k the output of block k, negative values count from the end (-1 = last block).
public enum HiddenStateLayer {
    /// The number of blocks to run, 0 ... `layers`, for `layer` of a tower with `layers` blocks.
    public static func blocks(for layer: Int, layers: Int) throws -> Int {
        let k = layer < 0 ? layers + 1 + layer : layer
        guard (0...layers).contains(k) else { throw HiddenStatesError.layerOutOfRange(layer: layer, layers: layers) }
        return k
    }
}
