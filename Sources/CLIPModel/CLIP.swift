import CLIPImage
import CLIPTensor
import CLIPTokenizer
import CLIPWeights
import Foundation

// OpenAI clip/model.py CLIP (encode_image, encode_text, forward) and clip.py load().
// Symbols: B image batch, N text batch, T context length, E embedding width, S image side.

/// The image tower of a CLIP model.
public enum ImageEncoder: Sendable {
    case vit(VisionTransformer)
    case resnet(ModifiedResNet)

    /// Pixels (B, 3, S, S) → unnormalised features (B, E).
    public func callAsFunction(_ pixels: Tensor) -> Tensor {
        switch self {
        case .vit(let v): return v(pixels)
        case .resnet(let r): return r(pixels)
        }
    }
}

/// A CLIP model: image and text towers embedding into one space, and the learned temperature.
///
/// ```swift
/// let model = try CLIP.load(URL(fileURLWithPath: "ViT-B-32.pt"))
/// let images = try model.encodeImages(contentsOf: [URL(fileURLWithPath: "cat.jpg")])   // (1, 512)
/// let texts = try model.encodeTexts(["a photo of a cat", "a photo of a dog"])          // (2, 512)
/// let (perImage, _) = model.logits(imageFeatures: images, textFeatures: texts)
/// ```
public struct CLIP: Sendable {
    public let configuration: CLIPConfiguration
    public let visual: ImageEncoder
    public let text: TextEncoder
    /// The stored `logit_scale` (a log temperature); logits are multiplied by exp(logitScale).
    public let logitScale: Float
    /// Where the weights came from.
    public let format: WeightFormat
    /// The tokenizer: the bundled OpenAI BPE (Hugging Face folders carry the same vocabulary).
    public let tokenizer: Tokenizer
    /// Number of learnable parameters (BatchNorm running statistics excluded, as in PyTorch).
    public let parameterCount: Int
    /// The element type most of the file's weights are stored in ("float16" for OpenAI's releases).
    public let weightDType: String

    /// Loads a checkpoint: OpenAI TorchScript `.pt`, a PyTorch state dict, safetensors with
    /// OpenAI/open_clip keys, or a Hugging Face `CLIPModel` folder. The configuration is read
    /// from the file when it carries one and otherwise inferred from the tensor shapes.
    public static func load(_ url: URL, configuration: CLIPConfiguration? = nil, activation: Activation? = nil) throws -> CLIP {
        try CLIP(state: WeightLoader.load(url), configuration: configuration, activation: activation)
    }

    /// Builds a model from a loaded state dict (strict: every tensor must be used, with the
    /// right shape).
    public init(state: StateDict, configuration: CLIPConfiguration? = nil, activation: Activation? = nil) throws {
        var config: CLIPConfiguration
        if let configuration {
            config = configuration
        } else if let stored = try CLIP.storedConfiguration(state) {
            config = stored
        } else {
            config = try CLIPConfiguration.infer(from: state)
        }
        if let activation { config.activation = activation }
        try config.validate()
        let store = ParameterStore(state)
        switch config.vision {
        case let .vit(size, patch, width, layers, heads):
            visual = .vit(try VisionTransformer(store, imageSize: size, patchSize: patch, width: width, layers: layers,
                                                heads: heads, embedDim: config.embedDim, activation: config.activation))
        case let .resnet(size, layers, width, heads):
            visual = .resnet(try ModifiedResNet(store, imageSize: size, layers: layers, width: width, heads: heads,
                                                embedDim: config.embedDim))
        }
        text = try TextEncoder(store, configuration: config.text, embedDim: config.embedDim, activation: config.activation)
        logitScale = try store.scalar("logit_scale")
        try store.checkAllUsed()
        self.configuration = config
        format = state.format
        let parameters = state.tensors.filter { key, _ in
            !ParameterStore.ignoredKeys.contains(key) && !key.hasSuffix(".running_mean") && !key.hasSuffix(".running_var")
                && !key.hasSuffix(".num_batches_tracked")
        }
        parameterCount = parameters.values.reduce(0) { $0 + $1.elementCount }
        var bytesByType: [String: Int] = [:]
        for w in parameters.values { bytesByType[w.dtype.rawValue, default: 0] += w.elementCount }
        weightDType = bytesByType.max { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }?.key ?? "float32"
        tokenizer = try Tokenizer.bundled()
    }

    /// The configuration a file records: a Hugging Face `config.json`, or the
    /// `swift_clip.config` entry swift-clip writes into safetensors metadata.
    static func storedConfiguration(_ state: StateDict) throws -> CLIPConfiguration? {
        if let json = state.metadata[CLIP.configurationMetadataKey], let data = json.data(using: .utf8) {
            do { return try JSONDecoder().decode(CLIPConfiguration.self, from: data) } catch {
                throw CLIPModelError.invalidConfiguration("the file's \(CLIP.configurationMetadataKey) metadata: \(error)")
            }
        }
        if let json = state.metadata[StateDict.configJSONKey] {
            return try CLIPConfiguration.fromHuggingFace(configJSON: json)
        }
        return nil
    }

    /// The safetensors metadata key under which swift-clip stores the configuration JSON.
    public static let configurationMetadataKey = "swift_clip.config"

    /// Side of the square images the model takes.
    public var imageSize: Int { configuration.vision.imageSize }

    /// OpenAI's preprocessing at this model's image size.
    public var preprocessor: CLIPPreprocessor { CLIPPreprocessor(size: imageSize) }

    /// Image features: pixels (B, 3, S, S), already preprocessed → (B, E), not normalised.
    /// Large batches run in chunks of `maxBatch` to bound activation memory.
    public func encodeImage(_ pixels: Tensor, maxBatch: Int = 32) throws -> Tensor {
        guard pixels.rank == 4, pixels.shape[1] == 3, pixels.shape[2] == imageSize, pixels.shape[3] == imageSize else {
            throw CLIPModelError.invalidInput("pixels have shape \(pixels.shape), the model takes (B, 3, \(imageSize), \(imageSize))")
        }
        let b = pixels.shape[0]
        if b <= maxBatch { return visual(pixels) }
        let parts = stride(from: 0, to: b, by: maxBatch).map { visual(pixels.sliced(dim: 0, range: $0..<min($0 + maxBatch, b))) }
        return Tensor.concatenate(parts, dim: 0)
    }

    /// Text features: token ids (N, T) → (N, E), not normalised.
    public func encodeText(_ tokens: [[Int32]], maxBatch: Int = 64) throws -> Tensor {
        if tokens.count <= maxBatch { return try text(tokens) }
        let parts = try stride(from: 0, to: tokens.count, by: maxBatch).map { try text(Array(tokens[$0..<min($0 + maxBatch, tokens.count)])) }
        return Tensor.concatenate(parts, dim: 0)
    }

    /// Decodes, preprocesses (both cores) and encodes image files → (B, E), not normalised.
    public func encodeImages(contentsOf urls: [URL], maxBatch: Int = 32) throws -> Tensor {
        var parts: [Tensor] = []
        for start in stride(from: 0, to: urls.count, by: maxBatch) {
            let chunk = Array(urls[start..<min(start + maxBatch, urls.count)])
            let pixels = try preprocessor.preprocessBatch(contentsOf: chunk)
            parts.append(visual(Tensor(shape: [chunk.count, 3, imageSize, imageSize], scalars: pixels)))
        }
        return parts.isEmpty ? Tensor(zeros: [0, configuration.embedDim]) : Tensor.concatenate(parts, dim: 0)
    }

    /// Tokenizes (at the model's context length) and encodes texts → (N, E), not normalised.
    public func encodeTexts(_ texts: [String], truncate: Bool = true) throws -> Tensor {
        try encodeText(tokenizer.tokenize(texts, contextLength: configuration.text.contextLength, truncate: truncate))
    }

    /// CLIP's forward: cosine similarities scaled by exp(logit_scale).
    /// Returns logits per image (B, N) and per text (N, B).
    public func logits(imageFeatures: Tensor, textFeatures: Tensor) -> (perImage: Tensor, perText: Tensor) {
        let i = Tensor.l2Normalized(imageFeatures), t = Tensor.l2Normalized(textFeatures)
        let perImage = Tensor.matmul(i, t.transposed(0, 1)) * Foundation.exp(logitScale)
        return (perImage, perImage.transposed(0, 1).contiguous())
    }

}
