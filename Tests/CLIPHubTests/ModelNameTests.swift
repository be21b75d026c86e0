import CLIPHub
import Foundation
import Testing

/// Model names, cache folders and mirrors.
struct ModelNameTests {
    static let names: [(String, String?)] = [
        ("ViT-B/32", "ViT-B/32"), ("ViT-B-32", "ViT-B/32"), ("vit-b-32", "ViT-B/32"),
        ("ViT-B-32/openai", "ViT-B/32"), ("ViT-B-32-quickgelu/openai", "ViT-B/32"),
        ("RN50x4", "RN50x4"), ("RN50x4/openai", "RN50x4"), ("ViT-L/14@336px", "ViT-L/14@336px"),
        ("ViT-L-14-336", "ViT-L/14@336px"), ("ViT-L-14-336px", "ViT-L/14@336px"), ("ViT-L-14", "ViT-L/14"),
        ("ViT-B-32/laion2b_s34b_b79k", nil), ("RN51", nil), ("model.pt", nil), ("", nil),
    ]

    @Test(arguments: names)
    func resolvesOpenAINames(_ name: String, _ expected: String?) {
        #expect(OpenAIModel.named(name)?.name == expected, "\(name)")
    }

    @Test func registryIsConsistent() {
        #expect(OpenAIModel.all.count == 9)
        for model in OpenAIModel.all {
            #expect(model.sha256.count == 64 && model.sha256.allSatisfy(\.isHexDigit), "\(model.name)")
            #expect(
                model.fileName.hasSuffix(".pt")
                    && model.url.hasPrefix("https://openaipublic.azureedge.net/clip/models/"))
            #expect(OpenAIModel.named(model.name) == model && OpenAIModel.named(model.openCLIPName) == model)
        }
    }

    static let hfNames: [(String, Bool)] = [
        ("hf:openai/clip-vit-base-patch32", true), ("hf:laion/CLIP-ViT-B-32.v2", true),
        ("hf:openai", false), ("hf:a/b/c", false), ("hf:../x", false), ("hf:a/..", false), ("hf:a b/c", false),
        ("hf:/x", false),
    ]

    @Test(arguments: hfNames)
    func parsesHuggingFaceNames(_ name: String, _ valid: Bool) {
        let reference = ModelReference.named(name)
        #expect((reference != nil) == valid, "\(name)")
        if valid { #expect(reference?.displayName == name) }
    }

    @Test func cacheFolderFollowsEnvironment() {
        #expect(ModelStore.cacheDirectory(["CLIP_CACHE": "/c", "XDG_CACHE_HOME": "/x", "HOME": "/h"]).path == "/c")
        #expect(ModelStore.cacheDirectory(["XDG_CACHE_HOME": "/x", "HOME": "/h"]).path == "/x/swift-clip")
        #expect(ModelStore.cacheDirectory(["HOME": "/h"]).path == "/h/.cache/swift-clip")
        #expect(ModelStore.fromEnvironment(["HOME": "/h", "CLIP_OFFLINE": "1"]).offline)
        #expect(!ModelStore.fromEnvironment(["HOME": "/h"]).offline)
    }

    @Test func mirrorReplacesSchemeAndHost() throws {
        let store = ModelStore(cacheDirectory: URL(fileURLWithPath: "/c"), mirror: "http://127.0.0.1:8080/mirror/")
        let vit = try #require(ModelReference.named("ViT-B/32"))
        let file = try #require(store.remoteFiles(for: vit).first)
        #expect(
            file.url.absoluteString
                == "http://127.0.0.1:8080/mirror/clip/models/40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af/ViT-B-32.pt"
        )
        #expect(file.destination.path == "/c/openai/ViT-B-32.pt")
        let hf = try #require(ModelReference.named("hf:openai/clip-vit-base-patch32"))
        #expect(
            store.remoteFiles(for: hf).map(\.url.absoluteString) == [
                "http://127.0.0.1:8080/mirror/openai/clip-vit-base-patch32/resolve/main/config.json",
                "http://127.0.0.1:8080/mirror/openai/clip-vit-base-patch32/resolve/main/model.safetensors",
            ])
        #expect(store.localURL(for: hf).path == "/c/huggingface/openai/clip-vit-base-patch32")
    }
}
