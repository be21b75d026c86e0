/// The container a ``StateDict`` was read from.
public enum WeightFormat: String, Sendable, Hashable {
    /// A `.safetensors` file with OpenAI / open_clip key names.
    case safetensors
    /// A `torch.save` zip checkpoint of a state dict (possibly nested, possibly `module.`-prefixed).
    case pytorchZip
    /// An OpenAI TorchScript archive (`ViT-B-32.pt`, ...), read without running TorchScript.
    case torchScript
    /// A Hugging Face `CLIPModel` folder with `model.safetensors` (possibly sharded).
    case huggingFaceSafetensors
    /// A Hugging Face `CLIPModel` folder with `pytorch_model.bin` (possibly sharded).
    case huggingFacePyTorch
    /// No file: the weights were freshly initialised (`CLIP(configuration:seed:)`).
    case initialized
}

/// Named tensors of one model, always with OpenAI's `clip/model.py` key names
/// (`visual.conv1.weight`, `transformer.resblocks.0.attn.in_proj_weight`, `logit_scale`, ...).
///
/// ```swift
/// let state = try WeightLoader.load(URL(fileURLWithPath: "ViT-B-32.pt"))
/// print(state.format, state.tensors.count, state.tensors["positional_embedding"]?.shape ?? [])
/// ```
public struct StateDict: Sendable {
    /// Tensors by OpenAI key name.
    public var tensors: [String: WeightTensor]
    /// Where the tensors came from.
    public var format: WeightFormat
    /// Free-form text metadata: a safetensors `__metadata__` section, or for Hugging Face folders
    /// the raw `config.json` under ``StateDict/configJSONKey``.
    public var metadata: [String: String]

    /// The metadata key holding a Hugging Face folder's `config.json` text.
    public static let configJSONKey = "config.json"

    /// Creates a state dict.
    public init(tensors: [String: WeightTensor], format: WeightFormat, metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.format = format
        self.metadata = metadata
    }

    /// Keys in sorted order, for stable iteration.
    public var sortedKeys: [String] { tensors.keys.sorted() }
}
