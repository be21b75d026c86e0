import Foundation

// Follows diffusers' `DiffusionPipeline.save_pretrained` layout: a root folder with
// `model_index.json` mapping each component name to [library, class], one sub-folder per component.

/// A diffusers pipeline folder (`model_index.json`) and its CLIP components.
///
/// ```swift
/// let folder = try DiffusersPipeline.component(root, named: "text_encoder_2")
/// ```
public enum DiffusersPipeline {
    public static let indexName = "model_index.json"

    /// The transformers CLIP classes a component can hold.
    public static let clipClasses: Set<String> = [
        "CLIPTextModel", "CLIPTextModelWithProjection", "CLIPVisionModel", "CLIPVisionModelWithProjection",
    ]

    /// Whether `folder` is a pipeline root.
    public static func isPipeline(_ folder: URL) -> Bool {
        FileManager.default.fileExists(atPath: folder.appendingPathComponent(indexName).path)
    }

    /// Component name → transformers class for every CLIP component of the pipeline at `root`.
    public static func clipComponents(_ root: URL) throws -> [String: String] {
        let path = root.appendingPathComponent(indexName).path
        guard let data = FileManager.default.contents(atPath: path),
            let index = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else {
            throw WeightError.invalidHuggingFaceFolder(folder: root.path, detail: "\(indexName) is not a JSON object")
        }
        var result: [String: String] = [:]
        for (name, value) in index {
            if let pair = value as? [Any], pair.count == 2, let cls = pair[1] as? String, clipClasses.contains(cls) {
                result[name] = cls
            }
        }
        return result
    }

    /// The folder of component `name` (required when the pipeline has more than one CLIP
    /// component; one is taken by itself).
    public static func component(_ root: URL, named name: String?) throws -> URL {
        let components = try clipComponents(root)
        let listed = components.keys.sorted().map { "\($0) (\(components[$0]!))" }.joined(separator: ", ")
        let chosen: String
        if let name {
            guard components[name] != nil else {
                throw WeightError.invalidHuggingFaceFolder(
                    folder: root.path,
                    detail:
                        "\(indexName) has no CLIP component '\(name)'; its CLIP components: \(listed.isEmpty ? "none" : listed)"
                )
            }
            chosen = name
        } else if components.count == 1, let only = components.keys.first {
            chosen = only
        } else {
            throw WeightError.invalidHuggingFaceFolder(
                folder: root.path,
                detail: "a pipeline folder needs --component, one of: \(listed.isEmpty ? "none" : listed)")
        }
        return root.appendingPathComponent(chosen)
    }
}
