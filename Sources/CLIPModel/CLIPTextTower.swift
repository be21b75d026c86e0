import CLIPTensor
import CLIPTokenizer
import CLIPWeights
import Foundation

// OpenAI clip/model.py CLIP.encode_text, loaded without the image tower.
// Symbols: N text batch, T context length, E embedding width.

/// The text half of a CLIP model: tokenizer and text tower, loaded without touching the image
/// tower's weights (`visual.*` tensors stay unread pages of the memory-mapped file).
///
/// A text query against an image index needs only this half: for ViT-B/32 that is 63 M of the
/// model's 151 M parameters, and nothing of the image tower is converted or paged in.
///
/// ```swift
/// let tower = try CLIPTextTower.load(URL(fileURLWithPath: "ViT-B-32.pt"))
/// let features = try tower.encodeText(["a dog on a beach"])  // (1, 512), not normalised
/// ```
public struct CLIPTextTower: Sendable {
    /// The whole model's configuration (read from the file or inferred from its shapes).
    public let configuration: CLIPConfiguration
    public let text: TextEncoder
    public let tokenizer: Tokenizer

    /// Loads the text tower of any checkpoint ``CLIP/load(_:configuration:activation:)`` reads.
    public static func load(_ url: URL, configuration: CLIPConfiguration? = nil, activation: Activation? = nil) throws
        -> CLIPTextTower
    {
        try CLIPTextTower(state: WeightLoader.load(url), configuration: configuration, activation: activation)
    }

    /// Builds the text tower from a loaded state dict. Strict like ``CLIP``: every tensor that is
    /// not part of the image tower (`visual.*`) or `logit_scale` must be used, with its shape.
    public init(state: StateDict, configuration: CLIPConfiguration? = nil, activation: Activation? = nil) throws {
        // Inference reads tensor shapes only, never tensor data: the image tower stays unread.
        let config = try CLIP.configuration(of: state, given: configuration, activation: activation)
        let store = ParameterStore(state)
        text = try TextEncoder(
            store, configuration: config.text, embedDim: config.embedDim, activation: config.activation)
        // The image tower and the temperature are somebody else's: everything else must be used.
        let textState = StateDict(
            tensors: state.tensors.filter { key, _ in !key.hasPrefix("visual.") && key != "logit_scale" },
            format: state.format, metadata: state.metadata)
        let leftover = textState.tensors.keys.filter { key in
            !store.parameters.contains { $0.key == key } && !ParameterStore.ignoredKeys.contains(key)
        }.sorted()
        if !leftover.isEmpty { throw CLIPModelError.unexpectedKeys(leftover) }
        self.configuration = config
        tokenizer = try Tokenizer.bundled()
    }

    /// Text features: token ids (N, T) → (N, E), not normalised; like ``CLIP/encodeText(_:maxBatch:)``
    /// only the positions up to each row's EOT are computed.
    public func encodeText(_ tokens: [[Int32]], maxBatch: Int = 64) throws -> Tensor {
        if tokens.isEmpty { return Tensor(zeros: [0, configuration.embedDim]) }
        return try text.encode(tokens, maxBatch: maxBatch)
    }

    /// Tokenizes (at the model's context length) and encodes texts → (N, E), not normalised.
    public func encodeText(_ texts: [String], truncate: Bool = true) throws -> Tensor {
        try encodeText(tokenizer.tokenize(texts, contextLength: configuration.text.contextLength, truncate: truncate))
    }
}
