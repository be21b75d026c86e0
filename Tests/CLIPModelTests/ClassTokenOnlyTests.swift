import CLIPTensor
import CLIPTestSupport
import CLIPWeights
import Foundation
import Testing

@testable import CLIPModel

// A ViT's image features read only the class token, so inference runs the last block on that
// row alone (`ResidualAttentionBlock.firstRowOutput`; float models fold the keys and values
// away with SingleQueryAttention). Checked against the same model with the full last block,
// against clip/model.py's fixture features, and, at ViT-B/32's width, for batch independence.

@Suite struct ClassTokenOnlyTests {
    /// The class-token-only last block vs the full one: rounded differently, nothing more.
    static let tolerance = 1e-5

    /// `model`'s image features with the last block on the class token only, and in full.
    static func bothWays(_ model: CLIP, _ pixels: Tensor) throws -> (classToken: Tensor, full: Tensor) {
        let classToken = try VisionTransformer.$lastBlockOnClassToken.withValue(true) { try model.encodeImage(pixels) }
        let full = try VisionTransformer.$lastBlockOnClassToken.withValue(false) { try model.encodeImage(pixels) }
        return (classToken, full)
    }

    @Test(arguments: ["vit.safetensors", "vit-fp16.pt", "hf"]) func fixtureModels(file: String) throws {
        let model = try Int8ModelTests.load(file, precision: .fp32)
        let out = try ModelFixtures.outputs(Int8ModelTests.outputs(file))
        let pixels = try Tensor(converting: try #require(out["pixels"]))
        let (classToken, full) = try Self.bothWays(model, pixels)
        let e = classToken.shape[1]
        let d = rowAgreement(classToken.scalars, full.scalars, width: e).relative
        let prefix = file.hasSuffix(".pt") ? "fp16_" : ""
        let reference = rowAgreement(
            classToken.scalars, try ModelFixtures.floats(try #require(out[prefix + "image_features"])), width: e)
        print(
            "\(file): class token only vs full last block max |diff|/norm \(d) (tolerance \(Self.tolerance)); "
                + "vs clip/model.py \(reference.relative), min cosine \(reference.cosine)")
        #expect(d <= Self.tolerance)
        #expect(reference.relative <= 1e-4 && reference.cosine >= 0.99999)
        if SingleQueryAttention.isAvailable {
            #expect(model.isTrainable == false)
            // The folded keys round differently: equal bits would mean the path never ran.
            #expect(classToken.scalars != full.scalars, "\(file): the class-token-only block was not taken")
        }
    }

    /// int8 models keep their int8 keys and values (an int8 file and quantising at load stay
    /// bit-identical) and query row 0 only.
    @Test func int8ModelQueriesTheClassTokenOnly() throws {
        let model = try Int8ModelTests.load("vit.safetensors", precision: .int8)
        let pixels = try Tensor(
            converting: try #require(try ModelFixtures.outputs("vit-outputs.safetensors")["pixels"]))
        let (classToken, full) = try Self.bothWays(model, pixels)
        let d = rowAgreement(classToken.scalars, full.scalars, width: classToken.shape[1]).relative
        print("int8 vit.safetensors: class token only vs full last block max |diff|/norm \(d)")
        #expect(d <= Self.tolerance)
    }

    /// ViT-B/32's width and heads (768, 12; two layers on a 96-pixel image, 10 tokens), frozen:
    /// the folded block, the block that keeps the keys and values, and the full block agree,
    /// and an image's features do not depend on the batch around it.
    @Test func fullWidthBlock() throws {
        let config = CLIPConfiguration(
            embedDim: 512, vision: .vit(imageSize: 96, patchSize: 32, width: 768, layers: 2, heads: 12),
            text: TextConfiguration(width: 64, heads: 1, layers: 1))
        let fresh = try CLIP(configuration: config, seed: 7)
        let model = try CLIP(
            state: StateDict(
                tensors: Dictionary(uniqueKeysWithValues: try fresh.stateTensors().map { ($0.key, $0.tensor) }),
                format: .safetensors),
            configuration: config)
        var generator = SeededGenerator(seed: 11)
        let pixels = Tensor.random([3, 3, 96, 96], using: &generator)
        let (classToken, full) = try Self.bothWays(model, pixels)
        let d = rowAgreement(classToken.scalars, full.scalars, width: 512).relative
        print("ViT-B/32 width: class token only vs full last block max |diff|/norm \(d)")
        #expect(d <= Self.tolerance)

        guard case .vit(let vit) = try model.visual else {
            Issue.record("not a ViT")
            return
        }
        let last = try #require(vit.transformer.blocks.last)
        let x = Variable(Tensor.random([2, 10, 768], using: &generator))
        let fullRow = Variable.select(last(x, causal: false), dim: 1, index: 0).value  // (2, 768)
        let kept = last.firstRowOutput(x, keysByHead: nil).value
        let dKept = rowAgreement(kept.scalars, fullRow.contiguous().scalars, width: 768).relative
        print("ViT-B/32 width block: row 0 with keys and values vs full block \(dKept)")
        #expect(dKept <= Self.tolerance)
        if let keys = vit.lastKeys?.byHead {
            let folded = last.firstRowOutput(x, keysByHead: keys).value
            let dFolded = rowAgreement(folded.scalars, fullRow.contiguous().scalars, width: 768).relative
            print("ViT-B/32 width block: row 0 with folded keys vs full block \(dFolded)")
            #expect(dFolded <= Self.tolerance && folded.scalars != kept.scalars)
        }

        if Parallel.inferenceRowsAreIndependent {
            for i in 0..<3 {
                let alone = try model.encodeImage(pixels.sliced(dim: 0, range: i..<(i + 1)).contiguous())
                #expect(alone.scalars == Array(classToken.scalars[(i * 512)..<((i + 1) * 512)]), "image \(i)")
            }
        }
    }

    /// A tower's pooled outputs (transformers' `pooler_output`, `image_embeds`; IP-Adapter's
    /// image embedding) run the pooled block on the class token too: within rounding of row 0
    /// of the full states at every layer, the full block's bits with the switch off, and
    /// `image_embeds` the model's image features bit for bit.
    @Test func visionTowerPooledStates() throws {
        let model = try Int8ModelTests.load("vit.safetensors", precision: .fp32)
        let pixels = try Tensor(
            converting: try #require(try ModelFixtures.outputs("vit-outputs.safetensors")["pixels"]))
        let tower = try VisionTower(try model.visual)
        let layers = tower.transformer.blocks.count
        #expect(layers >= 2)
        for layer in [-1, -2, 1, 0] {
            for norm in [true, false] {
                let pooled = try tower.pooledStates(pixels, layer: layer, finalNorm: norm)  // (B, C)
                let rowZero = try tower.hiddenStates(pixels, layer: layer, finalNorm: norm)
                    .selecting(dim: 1, index: 0).contiguous()
                let whole = try VisionTransformer.$lastBlockOnClassToken.withValue(false) {
                    try tower.pooledStates(pixels, layer: layer, finalNorm: norm)
                }
                let d = rowAgreement(pooled.scalars, rowZero.scalars, width: tower.width).relative
                print("pooled states at layer \(layer), norm \(norm): class token only vs full block \(d)")
                #expect(pooled.shape == [pixels.shape[0], tower.width])
                #expect(d <= Self.tolerance, "layer \(layer) norm \(norm)")
                #expect(whole.scalars == rowZero.scalars, "layer \(layer) norm \(norm): switch off")
                if layer == -1 && SingleQueryAttention.isAvailable {
                    #expect(pooled.scalars != rowZero.scalars, "the folded last block was not taken")
                }
                // Chunks of one image: an image's values do not depend on its batch.
                let oneByOne = try tower.pooledStates(pixels, layer: layer, finalNorm: norm, maxBatch: 1)
                #expect(oneByOne.scalars == pooled.scalars, "layer \(layer) norm \(norm): maxBatch 1")
            }
        }
        let embeds = try #require(try tower.projectedFeatures(pixels))
        #expect(embeds.scalars == (try model.encodeImage(pixels)).scalars)

        // The tower's fields are public: a last block given another `in_proj` weight forms its
        // keys from that weight instead of folding the ones made at load.
        var swapped = tower
        let firstInput = tower.transformer.blocks[0].attention.inProjection
        swapped.transformer.blocks[layers - 1].attention.inProjection = firstInput
        let pooled = try swapped.pooledStates(pixels)
        let rowZero = try swapped.hiddenStates(pixels, finalNorm: true).selecting(dim: 1, index: 0).contiguous()
        let d = rowAgreement(pooled.scalars, rowZero.scalars, width: tower.width).relative
        print("pooled states after replacing the last block's in_proj: vs full block \(d)")
        #expect(d <= Self.tolerance)
    }

    /// A tower read on its own (diffusers' `image_encoder/`) folds its last block's keys as
    /// the whole model does.
    @Test func standaloneVisionTowerFoldsItsLastKeys() throws {
        let c = try #require(HiddenStatesTests.cases.first { $0.model == "ip-image" })
        let tower = try HiddenStatesTests.load(c).visionTower()
        #expect((tower.lastKeys != nil) == SingleQueryAttention.isAvailable)
        let pixels = try Tensor(converting: try #require(try HiddenStatesTests.outputs(c)["pixels"]))
        let pooled = try tower.pooledStates(pixels)
        let rowZero = try tower.hiddenStates(pixels, finalNorm: true).selecting(dim: 1, index: 0).contiguous()
        let d = rowAgreement(pooled.scalars, rowZero.scalars, width: tower.width).relative
        print("ip-image pooled: class token only vs full block \(d)")
        #expect(d <= Self.tolerance)
    }
}
