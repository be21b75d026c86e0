import CLIPHub
import CLIPImage
import CLIPModel
import Foundation

// openai/clip clip.py `load(name)` and `available_models()` (commit dcba3cb): one call from a
// name, a file or a folder to the model and its image preprocessing.

extension CLIP {
    /// Loads a model by name or path, as openai/clip's `clip.load` does, and returns it with
    /// its image preprocessing.
    ///
    /// `pathOrName` is a checkpoint file (OpenAI `.pt`, PyTorch state dict, safetensors), a
    /// Hugging Face `CLIPModel` folder, one of ``availableModels()`` (`"ViT-B/32"`; open_clip
    /// spellings like `"ViT-B-32"` work too) or `"hf:owner/name"`. Names resolve through the
    /// cache of `store` and download on first use, exactly as `clip --model NAME` does
    /// (`ModelStore/resolve(_:progress:)`); with `CLIP_OFFLINE=1`, pass a file instead.
    ///
    /// ```swift
    /// import CLIP
    /// import Foundation
    ///
    /// let (model, preprocess) = try await CLIP.load("ViT-B/32")
    /// let image = try preprocess(URL(fileURLWithPath: "CLIP.png"))   // Tensor (1, 3, 224, 224)
    /// let (logitsPerImage, _) = try model(image, CLIP.tokenize(["a diagram", "a dog", "a cat"]))
    /// print(logitsPerImage.softmax(axis: -1).scalars)
    /// ```
    ///
    /// Reading and downloading run off the caller's task, on a dispatch queue.
    ///
    /// - Parameters:
    ///   - pathOrName: a checkpoint file or folder, a model name or `hf:owner/name`.
    ///   - store: the cache and download settings; by default `CLIP_CACHE`, `CLIP_OFFLINE`,
    ///     `CLIP_MODEL_MIRROR` from the environment.
    ///   - configuration: the architecture, when neither the file nor its shapes tell it.
    ///   - activation: the MLP activation, when the file does not say.
    ///   - towers: the towers to convert now (`[.text]` for text queries: the image tower's
    ///     weights are then read only if it is used, and converted then).
    ///   - precision: `.int8` quantises the transformer linear layers at load (``Precision``).
    ///   - weightCheck: `.whenRead` checks an fp16 file's weights for NaN and infinity as the
    ///     first embedding reads them instead of by a scan at load (``WeightCheck``).
    ///   - progress: called as download bytes arrive (from another thread).
    /// - Returns: the model and a `CLIPPreprocessor` at its image size, callable on a `URL`
    ///   (→ (1, 3, S, S)) or `[URL]` (→ (B, 3, S, S)).
    /// - Throws: `HubError` when the name is unknown or the download fails, `WeightError` or
    ///   `CLIPModelError` when the file cannot be read as a CLIP model.
    public static func load(
        _ pathOrName: String, store: ModelStore = .fromEnvironment(), configuration: CLIPConfiguration? = nil,
        activation: Activation? = nil, towers: Set<Tower> = [.image, .text], precision: Precision = .fp32,
        weightCheck: WeightCheck = .atLoad, progress: (@Sendable (DownloadProgress) -> Void)? = nil
    ) async throws -> (model: CLIP, preprocess: CLIPPreprocessor) {
        // Downloading and reading weights block for seconds: keep them off the cooperative pool.
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global(qos: .userInitiated).async {
                continuation.resume(
                    with: Result {
                        let resolved = try store.resolve(pathOrName, progress: progress)
                        let model = try CLIP.load(
                            resolved.url, configuration: configuration, activation: activation, towers: towers,
                            precision: precision, weightCheck: weightCheck)
                        return (model, model.preprocessor)
                    })
            }
        }
    }

    /// The names of OpenAI's released models, as `clip.available_models()` lists them.
    ///
    /// ```swift
    /// CLIP.availableModels()
    /// // ["RN50", "RN101", "RN50x4", "RN50x16", "RN50x64", "ViT-B/32", "ViT-B/16", "ViT-L/14", "ViT-L/14@336px"]
    /// ```
    public static func availableModels() -> [String] {
        OpenAIModel.all.map(\.name)
    }
}
