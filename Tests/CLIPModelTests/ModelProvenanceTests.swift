import CLIPModel
import CLIPTensor
import CLIPWeights
import Foundation
import Testing

/// `format` and `weightDType` say where a model's weights came from and how they were stored.
struct ModelProvenanceTests {
    static let files: [(String, WeightFormat, WeightDType)] = [
        ("vit.safetensors", .safetensors, .float32),
        ("vit-fp16.pt", .pytorchZip, .float16),
        ("rn-jit.pt", .torchScript, .float16),
        ("rn-bf16.safetensors", .safetensors, .bfloat16),
        ("hf", .huggingFaceSafetensors, .float32),
    ]

    @Test(arguments: files)
    func loadedModelsReportFormatAndElementType(_ file: String, _ format: WeightFormat, _ dtype: WeightDType)
        throws
    {
        let c = try #require(ModelFixtureTests.cases.first { $0.file == file })
        let model = try ModelFixtureTests().load(c)
        #expect(model.format == format && model.weightDType == dtype, "\(file): \(model.format), \(model.weightDType)")
    }

    @Test func freshModelDoesNotClaimAFile() throws {
        let configuration = CLIPConfiguration(
            embedDim: 16, vision: .vit(imageSize: 32, patchSize: 8, width: 32, layers: 1, heads: 2),
            text: TextConfiguration(contextLength: 77, vocabularySize: 100, width: 32, heads: 2, layers: 1))
        let model = try CLIP(configuration: configuration, seed: 1)
        #expect(model.format == .initialized && model.weightDType == .float32)
    }
}
