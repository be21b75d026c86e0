// The nine OpenAI releases (openai/CLIP `_MODELS`), with the shapes build_model infers from
// their weights.

extension CLIPConfiguration {
    /// OpenAI's model names, in the order of `clip.available_models()`.
    public static let presetNames = [
        "RN50", "RN101", "RN50x4", "RN50x16", "RN50x64",
        "ViT-B/32", "ViT-B/16", "ViT-L/14", "ViT-L/14@336px",
    ]

    /// The configuration of an OpenAI model by name. Accepts "ViT-B/32", "ViT-B-32" and
    /// open_clip's "ViT-B-32-quickgelu"; nil for an unknown name.
    public static func preset(_ name: String) -> CLIPConfiguration? {
        var key = name.replacingOccurrences(of: "-quickgelu", with: "")
        if let slash = key.range(of: "/openai") { key.removeSubrange(slash) }
        key = key.replacingOccurrences(of: "/", with: "-")
        switch key {
        case "RN50": return resnet(embed: 1024, layers: [3, 4, 6, 3], width: 64, image: 224, text: 512)
        case "RN101": return resnet(embed: 512, layers: [3, 4, 23, 3], width: 64, image: 224, text: 512)
        case "RN50x4": return resnet(embed: 640, layers: [4, 6, 10, 6], width: 80, image: 288, text: 640)
        case "RN50x16": return resnet(embed: 768, layers: [6, 8, 18, 8], width: 96, image: 384, text: 768)
        case "RN50x64": return resnet(embed: 1024, layers: [3, 15, 36, 10], width: 128, image: 448, text: 1024)
        case "ViT-B-32": return vit(embed: 512, image: 224, patch: 32, width: 768, layers: 12, text: 512)
        case "ViT-B-16": return vit(embed: 512, image: 224, patch: 16, width: 768, layers: 12, text: 512)
        case "ViT-L-14": return vit(embed: 768, image: 224, patch: 14, width: 1024, layers: 24, text: 768)
        case "ViT-L-14@336px", "ViT-L-14-336":
            return vit(embed: 768, image: 336, patch: 14, width: 1024, layers: 24, text: 768)
        default: return nil
        }
    }

    private static func resnet(embed: Int, layers: [Int], width: Int, image: Int, text: Int) -> CLIPConfiguration {
        CLIPConfiguration(
            embedDim: embed,
            vision: .resnet(imageSize: image, layers: layers, width: width, heads: width * 32 / 64),
            text: TextConfiguration(width: text, heads: text / 64, layers: 12))
    }

    private static func vit(embed: Int, image: Int, patch: Int, width: Int, layers: Int, text: Int) -> CLIPConfiguration
    {
        CLIPConfiguration(
            embedDim: embed,
            vision: .vit(imageSize: image, patchSize: patch, width: width, layers: layers, heads: width / 64),
            text: TextConfiguration(width: text, heads: text / 64, layers: 12))
    }
}
