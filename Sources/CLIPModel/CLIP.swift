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
/// The API follows openai/clip: `encodeImage` and `encodeText` give unnormalised features,
/// calling the model gives the scaled cosine similarities both ways.
///
/// ```swift
/// let model = try CLIP.load(URL(fileURLWithPath: "ViT-B-32.pt"))              // or: try await CLIP.load("ViT-B/32")
/// let images = try model.encodeImage([URL(fileURLWithPath: "cat.jpg")])       // (1, 512)
/// let texts = try model.encodeText(["a photo of a cat", "a photo of a dog"])  // (2, 512)
/// let (perImage, _) = model.logits(imageFeatures: images, textFeatures: texts)
/// ```
public struct CLIP: Sendable {
    public let configuration: CLIPConfiguration
    private let towers: LazyTowers
    /// The image tower; converted from the file on first use when the model was loaded with
    /// `towers: [.text]` (which is when this throws: a missing key, a shape mismatch, NaN).
    /// Its weights are all checked for NaN and infinity before it is returned, also under
    /// ``WeightCheck/whenRead`` (the tower's own calls return no error).
    public var visual: ImageEncoder {
        get throws {
            let encoder = try towers.imageEncoder()
            try towers.scanUnchecked(.image)
            return encoder
        }
    }
    /// The text tower; converted from the file on first use when the model was loaded with
    /// `towers: [.image]` (which is when this throws). Checked as ``visual`` is.
    public var text: TextEncoder {
        get throws {
            let encoder = try towers.textEncoder()
            try towers.scanUnchecked(.text)
            return encoder
        }
    }
    /// The towers converted so far: both, unless the model was loaded with `towers:` and the
    /// other tower has not been used yet.
    public var builtTowers: Set<Tower> { towers.built }
    /// The learnable log temperature `logit_scale`; logits are multiplied by its exp.
    public let logitScaleParameter: Variable
    /// The current `logit_scale` value.
    public var logitScale: Float { logitScaleParameter.value.item }
    /// Every parameter of the built towers (``builtTowers``: both, unless loaded with
    /// `towers:`) with its OpenAI checkpoint key, image tower first, then text, then `logit_scale`.
    public var namedParameters: [(key: String, variable: Variable)] {
        towers.parameters + [("logit_scale", logitScaleParameter)]
    }
    /// BatchNorm running statistics by layer prefix (ResNet image towers only, once built).
    public var runningStatistics: [(prefix: String, statistics: RunningStatistics)] { towers.statistics }
    /// Whether parameters require gradients (made by `trainable: true`).
    public let isTrainable: Bool
    /// Where the weights came from; ``WeightFormat/initialized`` for a freshly initialised model.
    public let format: WeightFormat
    /// The tokenizer: the bundled OpenAI BPE (Hugging Face folders carry the same vocabulary).
    /// Built on first use (about 50 ms of CPU, once per process) and shared, so a model that
    /// only embeds images never builds it; throws only when the bundled vocabulary is missing.
    public var tokenizer: Tokenizer { get throws { try Tokenizer.bundled() } }
    /// Number of learnable parameters (BatchNorm running statistics excluded, as in PyTorch).
    public let parameterCount: Int
    /// The arithmetic of the linear layers (``Precision/int8``: transformer blocks in int8).
    public let precision: Precision
    /// The element type most of the file's weights are stored in (`.float16` for OpenAI's
    /// releases, `.float32` for a freshly initialised model). Computation is always float32.
    public private(set) var weightDType: WeightDType

    /// Loads a checkpoint: OpenAI TorchScript `.pt`, a PyTorch state dict, safetensors with
    /// OpenAI/open_clip keys, or a Hugging Face `CLIPModel` folder. The configuration is read
    /// from the file when it carries one and otherwise inferred from the tensor shapes.
    ///
    /// `towers` says which towers to convert now. The weights stay a memory map of the file
    /// until converted, so a text query needs only `[.text]`: the image tower's tensors are
    /// never read (nor paged in) unless the image tower is used, when it is built once.
    ///
    /// ```swift
    /// let model = try CLIP.load(URL(fileURLWithPath: "ViT-B-32.pt"), towers: [.text])
    /// let query = try model.encodeText(["a dog on a beach"])   // (1, 512); model.builtTowers == [.text]
    /// ```
    ///
    /// With `precision: .int8` the transformer linear layers are quantised at load (from any
    /// format; files written by `clip convert --dtype int8` are used as stored), see ``Precision``.
    /// With `weightCheck: .whenRead` an fp16 file's weights are checked for NaN and infinity
    /// as the first embedding reads them instead of by a scan at load (``WeightCheck``).
    public static func load(
        _ url: URL, configuration: CLIPConfiguration? = nil, activation: Activation? = nil,
        towers: Set<Tower> = [.image, .text], precision: Precision = .fp32, weightCheck: WeightCheck = .atLoad
    ) throws -> CLIP {
        // The bundled BPE vocabulary (about 50 ms to build) is made on another core while the
        // file is parsed and converted, when the text tower is asked for: text queries then
        // find it ready, image-only loads never build it (``tokenizer`` builds it on first use).
        if towers.contains(.text) { DispatchQueue.global(qos: .userInitiated).async { _ = try? Tokenizer.bundled() } }
        let state = try WeightLoader.load(url)
        if towers == Set(Tower.allCases) {
            return try CLIP(
                state: state, configuration: configuration, activation: activation, precision: precision,
                weightCheck: weightCheck)
        }
        return try CLIP(
            state: state, configuration: configuration, activation: activation, towers: towers, precision: precision,
            weightCheck: weightCheck)
    }

    /// Builds a model from a loaded state dict converting only `towers` now (see
    /// ``load(_:configuration:activation:towers:)``). Strict: keys that belong to neither tower
    /// fail here; the towers in `towers` are checked key by key and shape by shape now, the
    /// others when they are first used (``visual``, ``text``, `encodeImage`, `encodeText` throw then).
    public init(
        state: StateDict, configuration: CLIPConfiguration? = nil, activation: Activation? = nil, towers: Set<Tower>,
        precision: Precision = .fp32, weightCheck: WeightCheck = .atLoad
    ) throws {
        let config = try CLIP.configuration(of: state, given: configuration, activation: activation)
        let stray = CLIP.strayKeys(state)
        if !stray.isEmpty { throw CLIPModelError.unexpectedKeys(stray) }
        self.towers = try LazyTowers(
            state: state, configuration: config, now: towers, precision: precision, weightCheck: weightCheck)
        logitScaleParameter = try ParameterStore(state).parameter("logit_scale", shape: [])
        guard Foundation.exp(logitScaleParameter.value.item).isFinite else {
            throw CLIPModelError.nonFiniteWeight(key: "logit_scale")
        }
        self.configuration = config
        self.format = state.format
        isTrainable = false
        self.precision = precision
        // Counted from the file's shapes: the unbuilt tower's parameters exist all the same.
        parameterCount = state.tensors.filter { CLIP.isParameter($0.key) }.values.reduce(0) { $0 + $1.elementCount }
        weightDType = CLIP.dominantDType(state)
    }

    /// Builds a model from a loaded state dict (strict: every tensor must be used, with the
    /// right shape). With `trainable`, parameters are private copies that require gradients
    /// (and are checked for NaN and infinity at load whatever `weightCheck` says).
    public init(
        state: StateDict, configuration: CLIPConfiguration? = nil, activation: Activation? = nil,
        trainable: Bool = false, frozenPrefixes: [String] = [], precision: Precision = .fp32,
        weightCheck: WeightCheck = .atLoad
    ) throws {
        let config = try CLIP.configuration(of: state, given: configuration, activation: activation)
        let store = ParameterStore(state, trainable: trainable)
        store.frozenPrefixes = frozenPrefixes
        store.weightCheck = weightCheck
        // int8 is for inference: a trainable model computes in float32.
        store.precision = trainable ? .fp32 : precision
        try self.init(store: store, configuration: config, format: state.format)
        try store.checkAllUsed()
        weightDType = CLIP.dominantDType(state)
    }

    /// Whether a checkpoint key holds a parameter (not a BatchNorm statistic or an ignored int).
    static func isParameter(_ key: String) -> Bool {
        !ParameterStore.ignoredKeys.contains(key) && !key.hasSuffix(".running_mean") && !key.hasSuffix(".running_var")
            && !key.hasSuffix(".num_batches_tracked")
    }

    /// The element type most of the parameters are stored in.
    static func dominantDType(_ state: StateDict) -> WeightDType {
        var elementsByType: [WeightDType: Int] = [:]
        for (key, w) in state.tensors where isParameter(key) { elementsByType[w.dtype, default: 0] += w.elementCount }
        // Ties go to the alphabetically first name, so the answer does not depend on hashing.
        return elementsByType.max {
            $0.value < $1.value || ($0.value == $1.value && $0.key.rawValue > $1.key.rawValue)
        }?.key ?? .float32
    }

    /// A freshly initialised model for training from scratch (OpenAI's `initialize_parameters`
    /// scheme, see ``CLIPInitializer``), reproducible from `seed`.
    public init(configuration: CLIPConfiguration, seed: UInt64, frozenPrefixes: [String] = []) throws {
        try configuration.validate()
        let store = ParameterStore(
            trainable: true, initializer: CLIPInitializer(configuration: configuration, seed: seed).make)
        store.frozenPrefixes = frozenPrefixes
        try self.init(store: store, configuration: configuration, format: .initialized)
    }

    private init(store: ParameterStore, configuration config: CLIPConfiguration, format: WeightFormat) throws {
        let visual = try CLIP.buildImageEncoder(store, config)
        let text = try CLIP.buildTextEncoder(store, config)
        towers = LazyTowers(image: visual, text: text, store: store, configuration: config)
        logitScaleParameter = try store.parameter("logit_scale", shape: [])
        // Logits are multiplied by exp(logit_scale): a finite but huge value still gives Inf.
        guard Foundation.exp(logitScaleParameter.value.item).isFinite else {
            throw CLIPModelError.nonFiniteWeight(key: "logit_scale")
        }
        self.configuration = config
        self.format = format
        isTrainable = store.trainable
        precision = store.precision
        parameterCount = store.parameters.reduce(0) { $0 + $1.variable.value.count }
        weightDType = .float32
    }

    /// The image tower from `store` (checkpoint keys `visual.*`).
    static func buildImageEncoder(_ store: ParameterStore, _ config: CLIPConfiguration) throws -> ImageEncoder {
        // open_clip keeps a sine–cosine positional embedding as a parameter without gradient.
        if config.visionPositionalEmbedding == .sinCos2D { store.frozenPrefixes.append("visual.positional_embedding") }
        switch config.vision {
        case .vit(let size, let patch, let width, let layers, let heads):
            return .vit(
                try VisionTransformer(
                    store, imageSize: size, patchSize: patch, width: width, layers: layers,
                    heads: heads, embedDim: config.embedDim, activation: config.activation,
                    mlpWidth: config.visionMLPWidth))
        case .resnet(let size, let layers, let width, let heads):
            return .resnet(
                try ModifiedResNet(
                    store, imageSize: size, layers: layers, width: width, heads: heads, embedDim: config.embedDim))
        }
    }

    /// The text tower from `store` (``Tower/text``'s keys).
    static func buildTextEncoder(_ store: ParameterStore, _ config: CLIPConfiguration) throws -> TextEncoder {
        try TextEncoder(store, configuration: config.text, embedDim: config.embedDim, activation: config.activation)
    }

    /// The text tower of a whole checkpoint on its own, strict for ``Tower/text``'s keys (the
    /// image tower's tensors are not read): the one text-only loader, used by models loaded
    /// with `towers: [.text]` and by ``CLIPTowers``.
    static func loadTextEncoder(
        _ state: StateDict, configuration: TextConfiguration, embedDim: Int, activation: Activation,
        precision: Precision = .fp32, weightCheck: WeightCheck = .atLoad
    ) throws -> (
        encoder: TextEncoder, parameters: [(key: String, variable: Variable)], unchecked: UncheckedWeights
    ) {
        let store = ParameterStore(state)
        store.precision = precision
        store.weightCheck = weightCheck
        let encoder = try TextEncoder(store, configuration: configuration, embedDim: embedDim, activation: activation)
        try store.checkAllUsed { Tower.text.contains(key: $0) }
        return (encoder, store.parameters, store.uncheckedWeights)
    }

    /// Keys that belong to neither tower nor `logit_scale` (nor OpenAI's ignored ints), sorted.
    static func strayKeys(_ state: StateDict) -> [String] {
        state.tensors.keys.filter { key in
            key != "logit_scale" && !ParameterStore.ignoredKeys.contains(key)
                && !Tower.allCases.contains { $0.contains(key: key) }
        }.sorted()
    }

    /// Every tensor of the model under its OpenAI key (parameters, BatchNorm statistics and
    /// batch counters), as a checkpoint stores it, in construction order. Builds a tower not
    /// built yet (a model loaded with `towers:`), which is when this throws.
    public func stateTensors() throws -> [(key: String, tensor: WeightTensor)] {
        _ = try visual
        _ = try text
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
            try stateTensors(), metadata: metadata.merging([CLIP.configurationMetadataKey: json]) { $1 }, to: url)
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

    /// The configuration to build from `state`: the one given, else the one the file records,
    /// else one inferred from tensor shapes (never tensor data); `activation` overrides, then
    /// the result is validated.
    static func configuration(
        of state: StateDict, given configuration: CLIPConfiguration?, activation: Activation?
    ) throws -> CLIPConfiguration {
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
        return config
    }

    /// The safetensors metadata key under which swift-clip stores the configuration JSON.
    public static let configurationMetadataKey = "swift_clip.config"

    /// Side of the square images the model takes.
    public var imageSize: Int { configuration.vision.imageSize }

    /// OpenAI's preprocessing at this model's image size.
    public var preprocessor: CLIPPreprocessor { CLIPPreprocessor(size: imageSize) }

    // MARK: - Tokenizing

    /// Tokenizes texts as openai/clip's `clip.tokenize` does: `<|startoftext|>`, the BPE ids,
    /// `<|endoftext|>`, then zeros up to `contextLength` (N × 77 for every released model).
    ///
    /// ```swift
    /// let text = try CLIP.tokenize(["a diagram", "a dog", "a cat"])   // 3 rows of 77 ids
    /// let strict = try CLIP.tokenize(["a long caption"], truncate: false)
    /// ```
    ///
    /// - Parameters:
    ///   - contextLength: the row length; 77 for OpenAI's and open_clip's models.
    ///   - truncate: keep the first `contextLength` ids of a longer text with `<|endoftext|>`
    ///     last (as `clip.tokenize(..., truncate=True)`); when false a text that does not fit
    ///     throws ``TokenizerError/inputTooLong(index:tokenCount:contextLength:)``.
    public static func tokenize(_ texts: [String], contextLength: Int = 77, truncate: Bool = true) throws
        -> [[Int32]]
    {
        try Tokenizer.bundled().tokenize(texts, contextLength: contextLength, truncate: truncate)
    }

    /// One text as a single row: `CLIP.tokenize("a dog")` is `CLIP.tokenize(["a dog"])`.
    public static func tokenize(_ text: String, contextLength: Int = 77, truncate: Bool = true) throws -> [[Int32]] {
        try tokenize([text], contextLength: contextLength, truncate: truncate)
    }

    // MARK: - Encoding (openai/clip encode_image, encode_text, forward)

    /// Image features: preprocessed pixels (B, 3, S, S) → (B, E), not normalised.
    /// Large batches run in chunks of `maxBatch` to bound activation memory.
    ///
    /// ```swift
    /// let image = try preprocess(URL(fileURLWithPath: "cat.jpg"))   // (1, 3, 224, 224)
    /// let features = try model.encodeImage(image)                   // (1, 512)
    /// ```
    public func encodeImage(_ pixels: Tensor, maxBatch: Int = VisionTower.defaultMaxBatch) throws -> Tensor {
        precondition(maxBatch > 0, "maxBatch must be positive")
        guard pixels.rank == 4, pixels.shape[1] == 3, pixels.shape[2] == imageSize, pixels.shape[3] == imageSize else {
            throw CLIPModelError.invalidInput(
                "pixels have shape \(pixels.shape), the model takes (B, 3, \(imageSize), \(imageSize))")
        }
        let b = pixels.shape[0]
        let visual = try towers.imageEncoder()
        if b <= maxBatch { return try checked(visual(Variable(pixels)).value, .image) }
        let parts = try stride(from: 0, to: b, by: maxBatch).map {
            try checked(visual(Variable(pixels.sliced(dim: 0, range: $0..<min($0 + maxBatch, b)))).value, .image)
        }
        return Tensor.concatenate(parts, dim: 0)
    }

    /// `features`, computed by `tower`, unless a kernel met NaN or infinity in one of its
    /// weights on the way (``WeightCheck/whenRead``: nothing computed from one is returned).
    private func checked(_ features: Tensor, _ tower: Tower) throws -> Tensor {
        try towers.throwIfReadNonFinite(tower)
        return features
    }

    /// Checks every weight of the towers built so far for NaN and infinity now (the scan a
    /// ``WeightCheck/atLoad`` load does; nothing to do after one). Throws
    /// ``CLIPModelError/nonFiniteWeight(key:)`` naming the first bad tensor.
    ///
    /// ```swift
    /// let model = try CLIP.load(url, weightCheck: .whenRead)
    /// try model.verifyWeights()   // a server that must not start on a damaged file
    /// ```
    public func verifyWeights() throws {
        for tower in Tower.allCases { try towers.scanUnchecked(tower) }
    }

    /// Image files → (B, E), not normalised: each chunk of `maxBatch` files is decoded and
    /// preprocessed on all cores (as ``preprocessor``), then encoded.
    ///
    /// ```swift
    /// let features = try model.encodeImage([URL(fileURLWithPath: "a.jpg"), URL(fileURLWithPath: "b.png")])  // (2, E)
    /// ```
    public func encodeImage(_ urls: [URL], maxBatch: Int = VisionTower.defaultMaxBatch) throws -> Tensor {
        precondition(maxBatch > 0, "maxBatch must be positive")
        var parts: [Tensor] = []
        let visual = try towers.imageEncoder()
        for start in stride(from: 0, to: urls.count, by: maxBatch) {
            let chunk = Array(urls[start..<min(start + maxBatch, urls.count)])
            parts.append(try checked(visual(Variable(try preprocessor(chunk))).value, .image))
        }
        return parts.isEmpty ? Tensor(zeros: [0, configuration.embedDim]) : Tensor.concatenate(parts, dim: 0)
    }

    /// Text features: token ids (N, T) → (N, E), not normalised.
    ///
    /// Only the positions up to each row's EOT are computed (the mask is causal, so the rest
    /// cannot change the features): rows are grouped by that length into sub-batches of at most
    /// `maxBatch` rows and returned in input order (``TextEncoder/encode(_:maxBatch:)``). The
    /// features are those of the 77-position forward up to float rounding (see
    /// ``TextLengthGroups``). "a photo of a tabby cat." runs 9 of 77 positions.
    ///
    /// Rows are usually `CLIP.tokenize` output (77 ids). For a model
    /// with a shorter context the rows are cut to it when only padding is cut; a text whose
    /// `<|endoftext|>` lies beyond the model's context throws (tokenize with
    /// `contextLength: model.configuration.text.contextLength` to truncate it instead).
    ///
    /// ```swift
    /// let features = try model.encodeText(CLIP.tokenize(["a dog", "a cat"]))   // (2, 512)
    /// ```
    public func encodeText(_ tokens: [[Int32]], maxBatch: Int = 64) throws -> Tensor {
        if tokens.isEmpty { return Tensor(zeros: [0, configuration.embedDim]) }
        let rows = try fittedToContext(tokens)
        return try checked(towers.textEncoder().encode(rows, maxBatch: maxBatch), .text)
    }

    /// Texts → (N, E), not normalised, tokenized at the model's context length (a longer text
    /// is truncated as `clip.tokenize(..., truncate=True)` does unless `truncate` is false).
    ///
    /// ```swift
    /// let features = try model.encodeText(["a photo of a cat", "a photo of a dog"])   // (2, E)
    /// ```
    public func encodeText(_ texts: [String], truncate: Bool = true) throws -> Tensor {
        try encodeText(tokenizer.tokenize(texts, contextLength: configuration.text.contextLength, truncate: truncate))
    }

    /// openai/clip's `model(image, text)`: the cosine similarities of the image and text
    /// features, scaled by exp(logit_scale), per image (B, N) and per text (N, B).
    ///
    /// ```swift
    /// let (logitsPerImage, logitsPerText) = try model(image, CLIP.tokenize(["a dog", "a cat"]))
    /// let probs = logitsPerImage.softmax(axis: -1)   // (B, 2), rows sum to 1
    /// ```
    public func callAsFunction(_ image: Tensor, _ text: [[Int32]]) throws -> (
        logitsPerImage: Tensor, logitsPerText: Tensor
    ) {
        let (perImage, perText) = logits(imageFeatures: try encodeImage(image), textFeatures: try encodeText(text))
        return (perImage, perText)
    }

    /// Rows cut to the model's context length T when everything past T is padding (0), so
    /// 77-id rows from `CLIP.tokenize` fit a model trained with a shorter context.
    func fittedToContext(_ tokens: [[Int32]]) throws -> [[Int32]] {
        let t = configuration.text.contextLength
        guard tokens.contains(where: { $0.count > t }) else { return tokens }
        return try tokens.enumerated().map { index, row in
            guard row.count > t else { return row }
            guard row[t...].allSatisfy({ $0 == 0 }) else {
                throw CLIPModelError.invalidInput(
                    "text \(index) has more than the model's \(t) tokens of context; tokenize it with contextLength: \(t)"
                )
            }
            return Array(row[..<t])
        }
    }

    /// Image features with gradients (training): pixels (B, 3, S, S) → (B, E).
    public func imageFeatures(_ pixels: Variable, training: Bool = true) throws -> Variable {
        try visual(pixels, training: training)
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
