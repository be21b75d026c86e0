import Foundation

/// Loads CLIP weights from any supported container, by content rather than file extension, and
/// returns them with OpenAI's key names. Nothing from a file is ever executed.
///
/// - `.safetensors` (OpenAI / open_clip names, or Hugging Face names, which are mapped);
/// - `torch.save` zip checkpoints of a state dict, also nested under `"state_dict"`/`"model"` and
///   with DataParallel `module.` prefixes (stripped);
/// - OpenAI's TorchScript `.pt` archives (the module tree is walked like `state_dict()`; note that
///   OpenAI's own archives also hold `input_resolution`, `context_length` and `vocab_size`, which
///   `build_model` discards);
/// - Hugging Face `CLIPModel` folders (`config.json` + `model.safetensors`, sharded safetensors or
///   `pytorch_model.bin`), with `config.json` kept in ``StateDict/metadata``.
///
/// Tensors from safetensors and torch archives are views of a memory map, so loading reads no
/// tensor data and never holds two copies of the weights. Dtypes are kept (fp32, OpenAI's mixed
/// fp16/fp32, bf16).
///
/// ```swift
/// let state = try WeightLoader.load(URL(fileURLWithPath: "ViT-B-32.pt"))
/// let proj = state.tensors["visual.proj"]  // fp16 (768, 512) in OpenAI's release
/// ```
public enum WeightLoader {
    /// Loads the file or folder at `url`.
    public static func load(_ url: URL) throws -> StateDict {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw WeightError.cannotOpen(file: url.path, reason: "no such file or folder")
        }
        if isDirectory.boolValue {
            return try HuggingFaceFolder.read(url)
        }
        // A FIFO, socket or device is refused by its type, before any open(2) could block.
        let file = try MappedFile(url: url)
        let path = file.path
        let bytes = file.bytes
        var tensors: [String: WeightTensor]
        var format: WeightFormat
        var metadata: [String: String] = [:]
        if ZipArchive.looksLikeZip(bytes) {
            (tensors, format) = try TorchArchive.read(file)
        } else if SafetensorsReader.looksLikeSafetensors(bytes) || url.pathExtension == "safetensors" {
            (tensors, metadata) = try SafetensorsReader.read(file)
            format = .safetensors
        } else if bytes.count >= 2, bytes[0] == 0x80, bytes[1] <= 5 {
            throw WeightError.unrecognizedFormat(
                file: path,
                detail: "a bare pickle (torch.save before torch 1.6, or _use_new_zipfile_serialization=False)")
        } else if bytes.count < 8 {
            throw WeightError.truncated(file: path, detail: "only \(bytes.count) bytes")
        } else {
            throw WeightError.unrecognizedFormat(file: path, detail: "neither a zip archive nor a safetensors header")
        }

        tensors = try stripDataParallelPrefix(tensors, path: path)
        if HuggingFaceKeyMap.isHuggingFace(tensors.keys) {
            tensors = try HuggingFaceKeyMap.toOpenAI(tensors, source: path)
            // A weights file taken out of its HF folder: keep the config beside it if there is one.
            let config = url.deletingLastPathComponent().appendingPathComponent(HuggingFaceFolder.configName)
            if RegularFile.exists(config.path), let data = try? RegularFile.contents(config.path) {
                metadata[StateDict.configJSONKey] = String(decoding: data, as: UTF8.self)
            }
        }
        return StateDict(tensors: tensors, format: format, metadata: metadata)
    }

    /// Removes the `module.` prefix `torch.nn.DataParallel` / DDP add to every key.
    static func stripDataParallelPrefix(_ tensors: [String: WeightTensor], path: String) throws -> [String:
        WeightTensor]
    {
        let prefix = "module."
        guard tensors.keys.contains(where: { $0.hasPrefix(prefix) }) else { return tensors }
        var result: [String: WeightTensor] = [:]
        for (key, tensor) in tensors {
            let stripped = key.hasPrefix(prefix) ? String(key.dropFirst(prefix.count)) : key
            guard result[stripped] == nil else { throw WeightError.duplicateKey(file: path, key: stripped) }
            result[stripped] = tensor
        }
        return result
    }
}
