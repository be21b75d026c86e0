import CLIPModel
import CLIPOutput
import CLIPWeights
import Foundation

/// The layouts `clip convert` writes.
public enum ExportFormat: String, Sendable, CaseIterable {
    /// One `.safetensors` file with OpenAI `clip/model.py` key names.
    case openAI = "openai"
    /// A Hugging Face `CLIPModel` folder: `config.json` + `model.safetensors` (ViT models only).
    case huggingFace = "hf"
}

/// Rewrites a loaded checkpoint as safetensors, in any float precision or int8 (see
/// ``Int8Checkpoint``), with metadata saying
/// what it is and where it came from (architecture, source file and its SHA-256, and the model
/// configuration under ``CLIP/configurationMetadataKey`` so no inference is needed on reload).
///
/// ```swift
/// let state = try WeightLoader.load(URL(fileURLWithPath: "ViT-B-32.pt"))
/// let config = try CLIP(state: state).configuration
/// try ModelConverter.write(state, configuration: config, dtype: .float16, format: .openAI,
///                          to: URL(fileURLWithPath: "ViT-B-32-f16.safetensors"),
///                          source: .init(fileName: "ViT-B-32.pt", sha256: "40d3..."))
/// ```
public enum ModelConverter {
    /// What the output says about its origin.
    public struct Source: Sendable {
        /// The source's file or folder name (no directories, so outputs do not leak paths).
        public var fileName: String
        /// The source's SHA-256 (see ``ModelConverter/sourceDigest(_:progress:)``).
        public var sha256: String?
        /// Describes a source.
        public init(fileName: String, sha256: String?) {
            self.fileName = fileName
            self.sha256 = sha256
        }
    }

    /// Metadata key of the architecture name ("ViT-B/32", ...), next to ``CLIP/configurationMetadataKey``.
    public static let architectureKey = "swift_clip.architecture"
    /// Metadata key of the source file name.
    public static let sourceKey = "swift_clip.source"
    /// Metadata key of the source file's SHA-256.
    public static let sourceSHA256Key = "swift_clip.source_sha256"

    /// Keys OpenAI's TorchScript archives carry that are not weights.
    static let nonWeightKeys: Set<String> = ["input_resolution", "context_length", "vocab_size"]

    /// Writes `state` to `output` (a file for `.openAI`, a folder for `.huggingFace`).
    /// `progress` is called with (tensors done, tensor count).
    public static func write(
        _ state: StateDict, configuration: CLIPConfiguration, dtype: WeightDType, format: ExportFormat,
        to output: URL, source: Source?, progress: ((Int, Int) -> Void)? = nil
    ) throws {
        var tensors = state.tensors.filter { !nonWeightKeys.contains($0.key) }
        var configJSON: String?
        if format == .huggingFace {
            // Check the architecture before any work.
            guard case .vit = configuration.vision else {
                throw HubError.unsupportedConversion(
                    "Hugging Face CLIPModel folders hold ViT models only; \(configuration.architectureName) has a ResNet image tower"
                )
            }
            configJSON = try configuration.huggingFaceConfigJSON(dtype: dtype)
            do { tensors = try HuggingFaceKeyMap.fromOpenAI(tensors) } catch let error as HuggingFaceKeyMap.UnmappedKey
            {
                throw HubError.unsupportedConversion(error.detail)
            }
        }
        if dtype == .int8 {
            // int8: the linear weights the int8 model quantises become KEY (int8) + KEY.scale;
            // every other tensor is written as float32.
            guard format == .openAI else {
                throw HubError.unsupportedConversion("int8 weights are written as safetensors with OpenAI keys only")
            }
            tensors = try Int8Checkpoint.quantize(tensors)
        }
        let castTo = dtype == .int8 ? WeightDType.float32 : dtype
        var converted: [(String, WeightTensor)] = []
        let keys = tensors.keys.sorted()
        for (i, key) in keys.enumerated() {
            if let tensor = tensors.removeValue(forKey: key) {
                converted.append((key, WeightCast.cast(tensor, to: castTo)))
            }
            progress?(i + 1, keys.count)
        }
        var metadata = ["format": "pt", architectureKey: configuration.architectureName]
        metadata[CLIP.configurationMetadataKey] = String(
            decoding: try JSONEncoder().encode(configuration), as: UTF8.self)
        if let source {
            metadata[sourceKey] = source.fileName
            if let sha = source.sha256 { metadata[sourceSHA256Key] = sha }
        }
        switch format {
        case .openAI:
            try SafetensorsWriter.write(converted, metadata: metadata, to: output)
        case .huggingFace:
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: output.path, isDirectory: &isDirectory), !isDirectory.boolValue {
                throw HubError.cacheIO(
                    path: output.path, reason: "exists and is not a folder (--format hf writes a folder)")
            }
            do { try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true) } catch {
                throw HubError.cacheIO(path: output.path, reason: error.localizedDescription)
            }
            try SafetensorsWriter.write(
                converted, metadata: metadata, to: output.appendingPathComponent(HuggingFaceFolder.safetensorsName))
            try OutputFile.write(
                Data((configJSON ?? "").utf8), to: output.appendingPathComponent(HuggingFaceFolder.configName))
        }
    }

    /// The SHA-256 identifying a checkpoint: of the file, or of a Hugging Face folder's
    /// `model.safetensors` / `pytorch_model.bin`; nil for sharded folders.
    /// `progress` gets the bytes hashed so far.
    public static func sourceDigest(_ url: URL, progress: ((Int64) -> Void)? = nil) throws -> String? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else { return nil }
        if !isDirectory.boolValue { return try SHA256.hexDigest(ofFile: url.path, progress: progress) }
        for name in [HuggingFaceFolder.safetensorsName, HuggingFaceFolder.pytorchName] {
            let file = url.appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: file.path) {
                return try SHA256.hexDigest(ofFile: file.path, progress: progress)
            }
        }
        return nil
    }
}
