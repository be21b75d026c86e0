import CLIPWeights
import Foundation

// The nine releases of openai/CLIP `clip/clip.py` `_MODELS` (commit dcba3cb, 2022). Each URL's
// second-to-last path component is the SHA-256 of the file. Parameter counts were computed with
// open_clip 2.29.0 (sum of `numel` over `parameters()`); download sizes are approximate (MiB as
// clip.py's tqdm bar shows them), not exact byte counts.

/// One of OpenAI's nine released CLIP checkpoints.
///
/// ```swift
/// let info = OpenAIModel.named("ViT-B-32/openai")!
/// print(info.name, info.url, info.sha256)   // "ViT-B/32", https://openaipublic..., "40d3..."
/// ```
public struct OpenAIModel: Sendable, Hashable {
    /// OpenAI's name, as `clip.available_models()` prints it ("ViT-B/32").
    public let name: String
    /// The official download URL.
    public let url: String
    /// Input image side.
    public let imageSize: Int
    /// Embedding width.
    public let embedDim: Int
    /// Learnable parameters.
    public let parameters: Int
    /// Approximate size of the download in MiB.
    public let approximateMiB: Int

    /// The file's SHA-256 (lowercase hex), taken from the URL.
    public var sha256: String { url.split(separator: "/").dropLast().last.map(String.init) ?? "" }
    /// The file name of the download ("ViT-B-32.pt").
    public var fileName: String { url.split(separator: "/").last.map(String.init) ?? "" }
    /// The dash spelling open_clip uses ("ViT-B-32", "ViT-L-14-336").
    public var openCLIPName: String {
        name == "ViT-L/14@336px" ? "ViT-L-14-336" : name.replacingOccurrences(of: "/", with: "-")
    }
    /// Whether the image tower is a modified ResNet (no Hugging Face export exists for those).
    public var isResNet: Bool { name.hasPrefix("RN") }

    /// The nine models in `clip.available_models()` order.
    public static let all: [OpenAIModel] = [
        .init(
            name: "RN50", url: base + "afeb0e10f9e5a86da6080e35cf09123aca3b358a0c3e3b6c78a7b63bc04b6762/RN50.pt",
            imageSize: 224, embedDim: 1024, parameters: 102_007_137, approximateMiB: 244),
        .init(
            name: "RN101", url: base + "8fa8567bab74a42d41c5915025a8e4538c3bdbe8804a470a72f30b0d94fab599/RN101.pt",
            imageSize: 224, embedDim: 512, parameters: 119_688_033, approximateMiB: 278),
        .init(
            name: "RN50x4", url: base + "7e526bd135e493cef0776de27d5f42653e6b4c8bf9e0f653bb11773263205fdd/RN50x4.pt",
            imageSize: 288, embedDim: 640, parameters: 178_300_601, approximateMiB: 402),
        .init(
            name: "RN50x16", url: base + "52378b407f34354e150460fe41077663dd5b39c54cd0bfd2b27167a4a06ec9aa/RN50x16.pt",
            imageSize: 384, embedDim: 768, parameters: 290_979_217, approximateMiB: 630),
        .init(
            name: "RN50x64", url: base + "be1cfb55d75a9666199fb2206c106743da0f6468c9d327f3e0d0a543a9919d9c/RN50x64.pt",
            imageSize: 448, embedDim: 1024, parameters: 623_258_305, approximateMiB: 1260),
        .init(
            name: "ViT-B/32",
            url: base + "40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af/ViT-B-32.pt",
            imageSize: 224, embedDim: 512, parameters: 151_277_313, approximateMiB: 338),
        .init(
            name: "ViT-B/16",
            url: base + "5806e77cd80f8b59890b7e101eabd078d9fb84e6937f9e85e4ecb61988df416f/ViT-B-16.pt",
            imageSize: 224, embedDim: 512, parameters: 149_620_737, approximateMiB: 335),
        .init(
            name: "ViT-L/14",
            url: base + "b8cca3fd41ae0c99ba7e8951adf17d267cdb84cd88be6f7c2e0eca1737a03836/ViT-L-14.pt",
            imageSize: 224, embedDim: 768, parameters: 427_616_513, approximateMiB: 890),
        .init(
            name: "ViT-L/14@336px",
            url: base + "3035c92b350959924f9f00213499208652fc7ea050643e8b385c2dac08641f02/ViT-L-14-336px.pt",
            imageSize: 336, embedDim: 768, parameters: 427_944_193, approximateMiB: 891),
    ]

    private static let base = "https://openaipublic.azureedge.net/clip/models/"

    /// Finds a model by any accepted spelling: "ViT-B/32", "ViT-B-32", "vit-b-32",
    /// "ViT-L/14@336px", "ViT-L-14-336", open_clip's "ViT-B-32/openai" and
    /// "ViT-B-32-quickgelu/openai" tags; nil when none matches.
    public static func named(_ name: String) -> OpenAIModel? {
        var key = name.trimmingCharacters(in: .whitespaces)
        if key.lowercased().hasSuffix("/openai") { key = String(key.dropLast("/openai".count)) }
        if key.lowercased().hasSuffix("-quickgelu") { key = String(key.dropLast("-quickgelu".count)) }
        let canonical = key.lowercased().replacingOccurrences(of: "/", with: "-")
        return all.first { model in
            [model.name, model.openCLIPName, model.fileName.replacingOccurrences(of: ".pt", with: "")]
                .contains { $0.lowercased().replacingOccurrences(of: "/", with: "-") == canonical }
        }
    }
}

/// A model that can be fetched by name: an OpenAI release or a Hugging Face repository.
///
/// ```swift
/// ModelReference.named("RN50x4")              // .openAI(RN50x4)
/// ModelReference.named("hf:openai/clip-vit-base-patch32")  // .huggingFace(owner: "openai", name: "clip-vit-base-patch32")
/// ModelReference.named("./model.pt")          // nil: a path, not a name
/// ```
public enum ModelReference: Sendable, Hashable {
    /// One of OpenAI's releases, fetched as a single TorchScript `.pt` file.
    case openAI(OpenAIModel)
    /// A Hugging Face `CLIPModel` repository, fetched as `config.json` + `model.safetensors`.
    case huggingFace(owner: String, name: String)

    /// The files of a Hugging Face `CLIPModel` repository that swift-clip fetches.
    public static let huggingFaceFiles = [HuggingFaceFolder.configName, HuggingFaceFolder.safetensorsName]

    /// Parses a model name; nil when `text` names no known model.
    public static func named(_ text: String) -> ModelReference? {
        if text.hasPrefix("hf:") {
            let parts = text.dropFirst(3).split(separator: "/", omittingEmptySubsequences: false)
            let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-_."))
            guard parts.count == 2,
                parts.allSatisfy({ part in
                    !part.isEmpty && !part.hasPrefix(".") && part.unicodeScalars.allSatisfy(allowed.contains)
                })
            else { return nil }
            return .huggingFace(owner: String(parts[0]), name: String(parts[1]))
        }
        return OpenAIModel.named(text).map(ModelReference.openAI)
    }

    /// The spelling users type ("ViT-B/32", "hf:owner/name").
    public var displayName: String {
        switch self {
        case .openAI(let model): model.name
        case .huggingFace(let owner, let name): "hf:\(owner)/\(name)"
        }
    }
}
