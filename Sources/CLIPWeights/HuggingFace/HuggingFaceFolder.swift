import Foundation

// Follows transformers 4.46.3 `modeling_utils.py` (`SAFE_WEIGHTS_NAME`, `SAFE_WEIGHTS_INDEX_NAME`,
// `WEIGHTS_NAME`, `WEIGHTS_INDEX_NAME` and the index's "weight_map").

/// Reads a Hugging Face `CLIPModel` folder written by `save_pretrained`; its file names are the
/// ones `clip convert --format hf` writes and `hf:owner/name` downloads.
public enum HuggingFaceFolder {
    /// transformers' `CONFIG_NAME`.
    public static let configName = "config.json"
    /// transformers' `SAFE_WEIGHTS_NAME`.
    public static let safetensorsName = "model.safetensors"
    /// transformers' `WEIGHTS_NAME`.
    public static let pytorchName = "pytorch_model.bin"

    static func read(_ folder: URL) throws -> StateDict {
        let path = folder.path
        func fail(_ detail: String) -> WeightError { .invalidHuggingFaceFolder(folder: path, detail: detail) }
        let manager = FileManager.default
        func exists(_ name: String) -> Bool { manager.fileExists(atPath: folder.appendingPathComponent(name).path) }

        guard exists(configName) else { throw fail("config.json is missing") }
        let configData = try RegularFile.contents(folder.appendingPathComponent(configName).path)
        let configText = String(decoding: configData, as: UTF8.self)

        var raw: [String: WeightTensor] = [:]
        let format: WeightFormat
        func merge(_ tensors: [String: WeightTensor], from name: String) throws {
            for (key, tensor) in tensors {
                guard raw[key] == nil else {
                    throw WeightError.duplicateKey(file: folder.appendingPathComponent(name).path, key: key)
                }
                raw[key] = tensor
            }
        }
        func loadFile(_ name: String) throws -> [String: WeightTensor] {
            let url = folder.appendingPathComponent(name)
            let file = try MappedFile(url: url)
            if name.hasSuffix(".safetensors") { return try SafetensorsReader.read(file).tensors }
            let archive = try TorchArchive.read(file)
            guard archive.format == .pytorchZip else {
                throw fail("\(name) is a TorchScript archive, not a state dict")
            }
            return archive.tensors
        }

        if exists(safetensorsName) {
            try merge(try loadFile(safetensorsName), from: safetensorsName)
            format = .huggingFaceSafetensors
        } else if exists(safetensorsName + ".index.json") {
            try readSharded(folder, index: safetensorsName + ".index.json", loadFile: loadFile, merge: merge)
            format = .huggingFaceSafetensors
        } else if exists(pytorchName) {
            try merge(try loadFile(pytorchName), from: pytorchName)
            format = .huggingFacePyTorch
        } else if exists(pytorchName + ".index.json") {
            try readSharded(folder, index: pytorchName + ".index.json", loadFile: loadFile, merge: merge)
            format = .huggingFacePyTorch
        } else {
            throw fail(
                "no model.safetensors, model.safetensors.index.json, pytorch_model.bin or pytorch_model.bin.index.json")
        }
        // Single towers (diffusers' text_encoder/, image_encoder/) may store their keys without prefix.
        if let object = try? JSONSerialization.jsonObject(with: configData) as? [String: Any],
            let modelType = object["model_type"] as? String
        {
            raw = HuggingFaceKeyMap.addingTowerPrefix(raw, modelType: modelType)
        }
        let tensors = try HuggingFaceKeyMap.toOpenAI(raw, source: path)
        return StateDict(tensors: tensors, format: format, metadata: [StateDict.configJSONKey: configText])
    }

    /// Loads every shard named by an index's "weight_map" and checks each key is in its shard.
    private static func readSharded(
        _ folder: URL, index name: String,
        loadFile: (String) throws -> [String: WeightTensor],
        merge: ([String: WeightTensor], String) throws -> Void
    ) throws {
        let path = folder.appendingPathComponent(name).path
        func fail(_ detail: String) -> WeightError {
            .invalidHuggingFaceFolder(folder: folder.path, detail: "\(name): \(detail)")
        }
        let data = try RegularFile.contents(path)
        guard let object = try? JSONSerialization.jsonObject(with: data), let index = object as? [String: Any],
            let weightMap = index["weight_map"] as? [String: Any]
        else {
            throw fail("not a JSON object with a \"weight_map\"")
        }
        var keysByShard: [String: [String]] = [:]
        for (key, value) in weightMap {
            guard let shard = value as? String, !shard.contains("/"), !shard.hasPrefix(".") else {
                throw fail("weight_map[\(key)] is not a file name in the folder")
            }
            keysByShard[shard, default: []].append(key)
        }
        for shard in keysByShard.keys.sorted() {
            let tensors = try loadFile(shard)
            for key in keysByShard[shard] ?? [] where tensors[key] == nil {
                throw fail("\(key) is listed in \(shard) but missing from it")
            }
            try merge(tensors, shard)
        }
    }
}
