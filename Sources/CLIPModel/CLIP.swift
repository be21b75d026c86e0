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

    /// Pixels (B, 3, S, S) → unnormalised features (B, E). `training` matters for the
    /// ResNet's BatchNorm only.
    public func callAsFunction(_ pixels: Variable, training: Bool = false) -> Variable {
        switch self {
        case .vit(let v): return v(pixels)
        case .resnet(let r): return r(pixels, training: training)
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
    /// The learnable log temperature `logit_scale`; logits are multiplied by its exp.
    public let logitScaleParameter: Variable
    /// The current `logit_scale` value.
    public var logitScale: Float { logitScaleParameter.value.item }
    /// Every parameter with its OpenAI checkpoint key, in construction order.
    public let namedParameters: [(key: String, variable: Variable)]
    /// BatchNorm running statistics by layer prefix (ResNet image towers only).
    public let runningStatistics: [(prefix: String, statistics: RunningStatistics)]
    /// Whether parameters require gradients (made by `trainable: true`).
    public let isTrainable: Bool
    /// Where the weights came from.
    public let format: WeightFormat
    /// The tokenizer: the bundled OpenAI BPE (Hugging Face folders carry the same vocabulary).
    public let tokenizer: Tokenizer
    /// Number of learnable parameters (BatchNorm running statistics excluded, as in PyTorch).
    public let parameterCount: Int
    /// The element type most of the file's weights are stored in ("float16" for OpenAI's releases).
    public private(set) var weightDType: String

    /// Loads a checkpoint: OpenAI TorchScript `.pt`, a PyTorch state dict, safetensors with
    /// OpenAI/open_clip keys, or a Hugging Face `CLIPModel` folder. The configuration is read
    /// from the file when it carries one and otherwise inferred from the tensor shapes.
    public static func load(_ url: URL, configuration: CLIPConfiguration? = nil, activation: Activation? = nil) throws
        -> CLIP
    {
        try CLIP(state: WeightLoader.load(url), configuration: configuration, activation: activation)
    }

    /// Builds a model from a loaded state dict (strict: every tensor must be used, with the
    /// right shape). With `trainable`, parameters are private copies that require gradients.
    public init(
        state: StateDict, configuration: CLIPConfiguration? = nil, activation: Activation? = nil,
        trainable: Bool = false, frozenPrefixes: [String] = []
    ) throws {
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
        let store = ParameterStore(state, trainable: trainable)
        store.frozenPrefixes = frozenPrefixes
        try self.init(store: store, configuration: config, format: state.format)
        try store.checkAllUsed()
        let parameters = state.tensors.filter { key, _ in
            !ParameterStore.ignoredKeys.contains(key) && !key.hasSuffix(".running_mean")
                && !key.hasSuffix(".running_var")
                && !key.hasSuffix(".num_batches_tracked")
        }
        var elementsByType: [String: Int] = [:]
        for w in parameters.values { elementsByType[w.dtype.rawValue, default: 0] += w.elementCount }
        weightDType =
            elementsByType.max { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }?.key ?? "float32"
    }

    /// A freshly initialised model for training from scratch (OpenAI's `initialize_parameters`
    /// scheme, see ``CLIPInitializer``), reproducible from `seed`.
    public init(configuration: CLIPConfiguration, seed: UInt64, frozenPrefixes: [String] = []) throws {
        try configuration.validate()
        let store = ParameterStore(
            trainable: true, initializer: CLIPInitializer(configuration: configuration, seed: seed).make)
        store.frozenPrefixes = frozenPrefixes
        try self.init(store: store, configuration: configuration, format: .safetensors)
        weightDType = "float32"
    }

    private init(store: ParameterStore, configuration config: CLIPConfiguration, format: WeightFormat) throws {
        // open_clip keeps a sine–cosine positional embedding as a parameter without gradient.
        if config.visionPositionalEmbedding == .sinCos2D { store.frozenPrefixes.append("visual.positional_embedding") }
        switch config.vision {
        case .vit(let size, let patch, let width, let layers, let heads):
            visual = .vit(
                try VisionTransformer(
                    store, imageSize: size, patchSize: patch, width: width, layers: layers,
                    heads: heads, embedDim: config.embedDim, activation: config.activation))
        case .resnet(let size, let layers, let width, let heads):
            visual = .resnet(
                try ModifiedResNet(
                    store, imageSize: size, layers: layers, width: width, heads: heads,
                    embedDim: config.embedDim))
        }
        text = try TextEncoder(
            store, configuration: config.text, embedDim: config.embedDim, activation: config.activation)
        logitScaleParameter = try store.parameter("logit_scale", shape: [])
        // Logits are multiplied by exp(logit_scale): a finite but huge value still gives Inf.
        guard Foundation.exp(logitScaleParameter.value.item).isFinite else {
            throw CLIPModelError.nonFiniteWeight(key: "logit_scale")
        }
        self.configuration = config
        self.format = format
        namedParameters = store.parameters
        runningStatistics = store.statistics
        isTrainable = store.trainable
        parameterCount = store.parameters.reduce(0) { $0 + $1.variable.value.count }
        weightDType = "float32"
        tokenizer = try Tokenizer.bundled()
    }

    /// Every tensor of the model under its OpenAI key (parameters, BatchNorm statistics and
    /// batch counters), as a checkpoint stores it, in construction order.
    public func stateTensors() -> [(key: String, tensor: WeightTensor)] {
        var result = namedParameters.map {
            ($0.key, WeightTensor(float32: $0.variable.value.scalars, shape: $0.variable.shape))
        }
        for (prefix, s) in runningStatistics {
            result.append(("\(prefix).running_mean", WeightTensor(float32: s.mean.scalars, shape: s.mean.shape)))
            result.append(("\(prefix).running_var", WeightTensor(float32: s.variance.scalars, shape: s.variance.shape)))
            let count = Int64(s.batchesTracked).littleEndian
            result.append(
                (
                    "\(prefix).num_batches_tracked",
                    WeightTensor(dtype: .int64, shape: [], bytes: withUnsafeBytes(of: count) { Array($0) })
                ))
        }
        return result
    }

    /// Writes the model as safetensors with OpenAI key names and its configuration in the
    /// metadata (`swift_clip.config`), atomically; `clip embed --model FILE` loads it.
    public func save(to url: URL, metadata: [String: String] = [:]) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys  // byte-identical files for identical models
        let json = String(decoding: try encoder.encode(configuration), as: UTF8.self)
        try SafetensorsWriter.write(
            stateTensors(), metadata: metadata.merging([CLIP.configurationMetadataKey: json]) { $1 }, to: url)
    }

    /// The configuration a file records: a Hugging Face `config.json`, or the
    /// `swift_clip.config` entry swift-clip writes into safetensors metadata.
    static func storedConfiguration(_ state: StateDict) throws -> CLIPConfiguration? {
        if let json = state.metadata[CLIP.configurationMetadataKey], let data = json.data(using: .utf8) {
            do { return try JSONDecoder().decode(CLIPConfiguration.self, from: data) } catch {
                throw CLIPModelError.invalidConfiguration(
                    "the file's \(CLIP.configurationMetadataKey) metadata: \(error)")
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
            throw CLIPModelError.invalidInput(
                "pixels have shape \(pixels.shape), the model takes (B, 3, \(imageSize), \(imageSize))")
        }
        let b = pixels.shape[0]
        if b <= maxBatch { return visual(Variable(pixels)).value }
        let parts = stride(from: 0, to: b, by: maxBatch).map {
            visual(Variable(pixels.sliced(dim: 0, range: $0..<min($0 + maxBatch, b)))).value
        }
        return Tensor.concatenate(parts, dim: 0)
    }

    /// Text features: token ids (N, T) → (N, E), not normalised.
    public func encodeText(_ tokens: [[Int32]], maxBatch: Int = 64) throws -> Tensor {
        if tokens.isEmpty { return Tensor(zeros: [0, configuration.embedDim]) }
        if tokens.count <= maxBatch { return try text(tokens).value }
        let parts = try stride(from: 0, to: tokens.count, by: maxBatch).map {
            try text(Array(tokens[$0..<min($0 + maxBatch, tokens.count)])).value
        }
        return Tensor.concatenate(parts, dim: 0)
    }

    /// Decodes, preprocesses (both cores) and encodes image files → (B, E), not normalised.
    public func encodeImages(contentsOf urls: [URL], maxBatch: Int = 32) throws -> Tensor {
        var parts: [Tensor] = []
        for start in stride(from: 0, to: urls.count, by: maxBatch) {
            let chunk = Array(urls[start..<min(start + maxBatch, urls.count)])
            let pixels = try preprocessor.preprocessBatch(contentsOf: chunk)
            parts.append(
                visual(Variable(Tensor(shape: [chunk.count, 3, imageSize, imageSize], scalars: pixels))).value)
        }
        return parts.isEmpty ? Tensor(zeros: [0, configuration.embedDim]) : Tensor.concatenate(parts, dim: 0)
    }

    /// Tokenizes (at the model's context length) and encodes texts → (N, E), not normalised.
    public func encodeTexts(_ texts: [String], truncate: Bool = true) throws -> Tensor {
        try encodeText(tokenizer.tokenize(texts, contextLength: configuration.text.contextLength, truncate: truncate))
    }

    /// Image features with gradients (training): pixels (B, 3, S, S) → (B, E).
    public func imageFeatures(_ pixels: Variable, training: Bool = true) -> Variable {
        visual(pixels, training: training)
    }

    /// Text features with gradients (training): token ids (N, T) → (N, E).
    public func textFeatures(_ tokens: [[Int32]]) throws -> Variable {
        try text(tokens)
    }

    /// CLIP's forward: cosine similarities scaled by exp(logit_scale).
    /// Returns logits per image (B, N) and per text (N, B).
    public func logits(imageFeatures: Tensor, textFeatures: Tensor) -> (perImage: Tensor, perText: Tensor) {
        let i = Tensor.l2Normalized(imageFeatures), t = Tensor.l2Normalized(textFeatures)
        let perImage = Tensor.matmul(i, t.transposed(0, 1)) * Foundation.exp(logitScale)
        return (perImage, perImage.transposed(0, 1).contiguous())
    }

}
