import CLIPModel
import CLIPTensor
import CLIPWeights
import Foundation
import Testing

/// Loading one tower (`towers: [.text]` / `[.image]`, the other built on first use) gives the
/// eagerly loaded model's embeddings bit for bit, converts nothing of the other tower, and is
/// still strict about keys and shapes.
@Suite struct LazyTowerTests {
    static let demoModel = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources/clip/Resources/demo/model.safetensors")
    static let texts = ["three small orange crosses on the left", "one large blue triangle in the center", ""]

    /// Every fixture container: fp32 safetensors, fp16 torch.save, fp16 TorchScript, bf16, HF folders.
    static let files = [
        "vit.safetensors", "vit-fp16.pt", "vit-nested.pt", "rn.safetensors", "rn-jit.pt", "rn-bf16.safetensors", "hf",
        "hf-bin", "hf-sharded",
    ]

    static func state(_ file: String) throws -> (StateDict, CLIPConfiguration) {
        let state = try WeightLoader.load(ModelFixtures.url(file))
        let model = file.hasPrefix("vit") ? "vit" : file.hasPrefix("rn") ? "rn" : "hf"
        guard let heads = ModelFixtures.heads[model] else {
            return (state, try CLIP(state: state).configuration)  // HF: config.json
        }
        return (state, try CLIPConfiguration.infer(from: state, textHeads: heads.text, visionHeads: heads.vision))
    }

    static func inputs(_ file: String) throws -> (pixels: Tensor, tokens: [[Int32]]) {
        let name = file.hasPrefix("vit") ? "vit" : file.hasPrefix("rn") ? "rn" : "hf"
        let out = try ModelFixtures.outputs("\(name)-outputs.safetensors")
        let pixels = try Tensor(converting: try #require(out["pixels"]))
        return (pixels, ModelFixtures.tokens(try #require(out["tokens"])))
    }

    static func maxDifference(_ a: Tensor, _ b: Tensor) -> Float {
        zip(a.scalars, b.scalars).map { abs($0 - $1) }.max() ?? 0
    }

    @Test(arguments: files) func textOnlyLoadMatchesEagerAndConvertsNoImageTensor(file: String) throws {
        let (state, config) = try Self.state(file)
        let (pixels, tokens) = try Self.inputs(file)
        let eager = try CLIP(state: state, configuration: config)
        let lazy = try CLIP(state: state, configuration: config, towers: [.text])
        #expect(lazy.builtTowers == [.text])
        let text = try lazy.encodeText(tokens)
        let diff = Self.maxDifference(text, try eager.encodeText(tokens))
        print("\(file): text-only load vs eager: max difference \(diff) (tolerance 0: the same conversion)")
        #expect(text.shape == [tokens.count, config.embedDim] && diff == 0)
        // Nothing of the image tower was converted: no visual.* parameter was handed out.
        #expect(lazy.builtTowers == [.text])
        #expect(!lazy.namedParameters.contains { $0.key.hasPrefix("visual.") })
        #expect(lazy.runningStatistics.isEmpty)
        #expect(lazy.parameterCount == eager.parameterCount && lazy.weightDType == eager.weightDType)
        // The image tower is built on first use, once, and is the eager one.
        let image = try lazy.encodeImage(pixels)
        let imageDiff = Self.maxDifference(image, try eager.encodeImage(pixels))
        print("\(file): image tower built on first use vs eager: max difference \(imageDiff)")
        #expect(imageDiff == 0)
        #expect(lazy.builtTowers == [.image, .text])
        #expect(lazy.namedParameters.map(\.key) == eager.namedParameters.map(\.key))
    }

    @Test(arguments: files) func imageOnlyLoadMatchesEagerAndConvertsNoTextTensor(file: String) throws {
        let (state, config) = try Self.state(file)
        let (pixels, tokens) = try Self.inputs(file)
        let eager = try CLIP(state: state, configuration: config)
        let lazy = try CLIP(state: state, configuration: config, towers: [.image])
        let image = try lazy.encodeImage(pixels)
        let diff = Self.maxDifference(image, try eager.encodeImage(pixels))
        print("\(file): image-only load vs eager: max difference \(diff)")
        #expect(diff == 0)
        #expect(lazy.builtTowers == [.image])
        #expect(lazy.namedParameters.allSatisfy { $0.key.hasPrefix("visual.") || $0.key == "logit_scale" })
        #expect(try Self.maxDifference(lazy.encodeText(tokens), eager.encodeText(tokens)) == 0)
        #expect(lazy.builtTowers == [.image, .text])
    }

    /// int8 reaches a lazily built tower: a text-only int8 load, and the image tower it builds on
    /// first use, give the eager int8 model's features bit for bit (and not the float32 ones).
    @Test(arguments: ["vit.safetensors", "rn.safetensors"]) func int8ReachesTheLazilyBuiltTower(file: String) throws {
        let (state, config) = try Self.state(file)
        let (pixels, tokens) = try Self.inputs(file)
        let eager = try CLIP(state: state, configuration: config, precision: .int8)
        let lazy = try CLIP(state: state, configuration: config, towers: [.text], precision: .int8)
        #expect(lazy.precision == .int8)
        let textDiff = Self.maxDifference(try lazy.encodeText(tokens), try eager.encodeText(tokens))
        let imageDiff = Self.maxDifference(try lazy.encodeImage(pixels), try eager.encodeImage(pixels))
        let fp32Diff = Self.maxDifference(
            try lazy.encodeText(tokens), try CLIP(state: state, configuration: config).encodeText(tokens))
        print("\(file): lazy int8 vs eager int8: text \(textDiff), image \(imageDiff); vs float32 text \(fp32Diff)")
        #expect(textDiff == 0 && imageDiff == 0)
        #expect(fp32Diff > 0, "the lazily loaded text tower computed in float32")
    }

    @Test func textOnlyMatchesTheFullDemoModel() throws {
        let full = try CLIP.load(Self.demoModel).encodeText(Self.texts)
        let tower = try CLIP.load(Self.demoModel, towers: [.text]).encodeText(Self.texts)
        #expect(tower.shape == full.shape)
        let maxDiff = Self.maxDifference(tower, full)
        print("text tower vs full model: max difference \(maxDiff) (tolerance 0: the same code on the same weights)")
        #expect(maxDiff == 0)
    }

    @Test func needsNoImageTowerTensors() throws {
        var state = try WeightLoader.load(Self.demoModel)
        let before = try CLIP(state: state, towers: [.text]).encodeText(Self.texts)
        // Without any visual.* tensor the full model cannot be built, the text tower can.
        state.tensors = state.tensors.filter { !$0.key.hasPrefix("visual.") }
        #expect(throws: (any Error).self) { try CLIP(state: state) }
        let textOnly = try CLIP(state: state, towers: [.text])
        #expect(try textOnly.encodeText(Self.texts).scalars == before.scalars)
        // The image tower's absence surfaces when it is first needed, naming a key.
        #expect(throws: CLIPModelError.self) { try textOnly.visual }
    }

    @Test func strictAboutTheLoadedTowersKeys() throws {
        var state = try WeightLoader.load(Self.demoModel)
        state.tensors["transformer.stray"] = state.tensors["ln_final.bias"]
        #expect(throws: CLIPModelError.unexpectedKeys(["transformer.stray"])) {
            try CLIP(state: state, towers: [.text])
        }
        // A stray key in the lazy tower's namespace fails when that tower is built.
        let imageOnly = try CLIP(state: state, towers: [.image])
        #expect(throws: CLIPModelError.unexpectedKeys(["transformer.stray"])) { try imageOnly.encodeText(Self.texts) }
        // A key of neither tower fails at load, whichever tower is asked for.
        var stray = try WeightLoader.load(Self.demoModel)
        stray.tensors["decoder.weight"] = stray.tensors["ln_final.bias"]
        #expect(throws: CLIPModelError.unexpectedKeys(["decoder.weight"])) { try CLIP(state: stray, towers: [.text]) }
    }

    @Test func shapeMismatchAndNonFiniteWeightsNameTheKey() throws {
        var state = try WeightLoader.load(ModelFixtures.url("vit-fp16.pt"))
        let config = try CLIPConfiguration.infer(from: state, textHeads: 2, visionHeads: 2)
        let original = try #require(state.tensors["ln_final.weight"])
        state.tensors["ln_final.weight"] = WeightTensor(float32: [Float](repeating: 1, count: 3), shape: [3])
        #expect(throws: CLIPModelError.shapeMismatch(key: "ln_final.weight", expected: [32], found: [3])) {
            try CLIP(state: state, configuration: config, towers: [.text])
        }
        state.tensors["ln_final.weight"] = original
        // An fp16 Inf in the lazily converted tower (the count made while widening).
        let proj = try #require(state.tensors["visual.proj"])
        #expect(proj.dtype == .float16)
        var bytes = proj.bytes
        bytes[2] = 0x00
        bytes[3] = 0x7C  // element 1 = +Inf
        state.tensors["visual.proj"] = WeightTensor(dtype: .float16, shape: proj.shape, bytes: bytes)
        let textOnly = try CLIP(state: state, configuration: config, towers: [.text])
        #expect(throws: CLIPModelError.nonFiniteWeight(key: "visual.proj")) { try textOnly.visual }
        #expect(throws: CLIPModelError.nonFiniteWeight(key: "visual.proj")) {
            try CLIP(state: state, configuration: config)
        }
    }

    /// fp16 checkpoints are computed from the mapped fp16 values (no Float32 copy of the linear
    /// and patch-embedding weights) where the packed GEMM reads fp16: the embeddings equal those of the same model
    /// with every weight widened first, on the first call (fp16 in place) and the second (panels
    /// packed from fp16); and an Inf in a mapped fp16 file is still refused by name.
    @Test(arguments: ["vit-fp16.pt", "rn-jit.pt"]) func fp16WeightsAreReadInPlace(file: String) throws {
        guard Tensor.readsHalfWeightsInPlace else { return }
        let (state, config) = try Self.state(file)
        let (pixels, tokens) = try Self.inputs(file)
        let model = try CLIP(state: state, configuration: config)
        let first = (try model.encodeImage(pixels), try model.encodeText(tokens))
        let second = (try model.encodeImage(pixels), try model.encodeText(tokens))
        // The ViT's patch embedding is a convolution that reads its fp16 weights in place too
        // (a ResNet's convolutions fold batch norm into new Float32 weights at load).
        // A ResNet's attention pool regroups Wk per head from the fp16 values (session 10; it
        // widened the whole weight before).
        let linearWeights = model.namedParameters.filter {
            $0.key.hasSuffix("in_proj_weight") || $0.key.hasSuffix("c_fc.weight")
                || (file == "vit-fp16.pt" && $0.key == "visual.conv1.weight")
                || $0.key == "visual.attnpool.k_proj.weight"
        }
        #expect(linearWeights.count(where: { $0.key == "visual.conv1.weight" }) == (file == "vit-fp16.pt" ? 1 : 0))
        #expect(
            linearWeights.count(where: { $0.key == "visual.attnpool.k_proj.weight" }) == (file == "rn-jit.pt" ? 1 : 0))
        #expect(!linearWeights.isEmpty)
        #expect(
            linearWeights.allSatisfy { !$0.variable.value.storage.isWidened },
            "linear weights of \(file) were widened to Float32")
        // The same model with every weight widened (any Float32 read does it).
        let widened = try CLIP(state: state, configuration: config)
        for (_, v) in widened.namedParameters { _ = v.value.baseAddress }
        #expect(widened.namedParameters.allSatisfy { $0.variable.value.storage.isWidened })
        let expected = (try widened.encodeImage(pixels), try widened.encodeText(tokens))
        for (name, got) in [("first call", first), ("second call", second)] {
            let d = (Self.maxDifference(got.0, expected.0), Self.maxDifference(got.1, expected.1))
            print("\(file) \(name): fp16 in place vs widened: image \(d.0), text \(d.1) (tolerance 0)")
            #expect(d.0 == 0 && d.1 == 0, "\(file) \(name)")
        }
        // A mapped fp16 file with an Inf in a linear weight fails naming the key.
        let key = "transformer.resblocks.0.mlp.c_fc.weight"
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let mapped = try Self.mapped(state, infAt: (key, 2), in: folder)
        #expect(mapped.tensors[key]?.isMemoryMapped == true)
        #expect(throws: CLIPModelError.nonFiniteWeight(key: key)) {
            try CLIP(state: mapped, configuration: config)
        }
    }

    static func temporaryFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("clip-fp16-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    /// `state` written as safetensors into `folder`, with +Inf as element `infAt.element` of the
    /// fp16 or fp32 tensor `infAt.key` (−1: the last; nil: unchanged), and loaded back
    /// memory-mapped, so that fp32 inference reads its fp16 weights in place.
    static func mapped(_ state: StateDict, infAt: (key: String, element: Int)?, in folder: URL) throws -> StateDict {
        let url = folder.appendingPathComponent("weights-\(UUID().uuidString).safetensors")
        let tensors = try state.tensors.sorted { $0.key < $1.key }.map { name, tensor in
            guard let infAt, name == infAt.key else { return (name, tensor) }
            try #require(tensor.dtype == .float16 || tensor.dtype == .float32)
            var bytes = tensor.bytes
            let i = infAt.element < 0 ? tensor.elementCount - 1 : infAt.element
            try #require(i < tensor.elementCount)
            // +Inf, little-endian.
            let inf: [UInt8] = tensor.dtype == .float16 ? [0x00, 0x7C] : [0x00, 0x00, 0x80, 0x7F]
            for (j, byte) in inf.enumerated() { bytes[inf.count * i + j] = byte }
            return (name, WeightTensor(dtype: tensor.dtype, shape: tensor.shape, bytes: bytes))
        }
        try SafetensorsWriter.write(tensors, metadata: [:], to: url)
        return try WeightLoader.load(url)
    }

    /// `weightCheck: .whenRead`: a mapped fp16 file with an Inf loads (nothing is scanned), and
    /// every embedding through the damaged tower throws naming the key (the first call reads the
    /// weights in place, the second packs them into panels), while the other tower embeds as the
    /// `.atLoad` model does; `text` / `visual` and `verifyWeights()` scan and throw. The keys: a
    /// linear weight of each tower (the bad value in the value rows of `in_proj_weight`), the
    /// patch embedding, tensors widened on their first read (projections, a bias) and the
    /// float32 token embedding (the bad value in the row of the first prompt's first token).
    /// Loaded eagerly and with the damaged tower built on first use.
    @Test(arguments: [
        "transformer.resblocks.0.mlp.c_fc.weight", "visual.transformer.resblocks.1.attn.in_proj_weight",
        "visual.conv1.weight", "text_projection", "visual.proj", "transformer.resblocks.1.mlp.c_fc.bias",
        "token_embedding.weight",
    ])
    func whenReadFindsANonFiniteWeightAsTheKernelsReadIt(key: String) throws {
        guard Tensor.readsHalfWeightsInPlace else { return }
        let (state, config) = try Self.state("vit-fp16.pt")
        let (pixels, tokens) = try Self.inputs("vit-fp16.pt")
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let width = config.text.width
        let element = key == "token_embedding.weight" ? Int(tokens[0][1]) * width + 5 : -1
        let damaged = try Self.mapped(state, infAt: (key, element), in: folder)
        let clean = try CLIP(state: try Self.mapped(state, infAt: nil, in: folder), configuration: config)
        #expect(throws: CLIPModelError.nonFiniteWeight(key: key)) { try CLIP(state: damaged, configuration: config) }
        let imageIsBad = key.hasPrefix("visual.")
        for towers in [Set(CLIP.Tower.allCases), [imageIsBad ? .text : .image]] {
            let model = try CLIP(state: damaged, configuration: config, towers: towers, weightCheck: .whenRead)
            for call in 1...2 {
                if imageIsBad {
                    #expect(throws: CLIPModelError.nonFiniteWeight(key: key), "call \(call)") {
                        try model.encodeImage(pixels)
                    }
                    let text = try model.encodeText(tokens)
                    #expect(Self.maxDifference(text, try clean.encodeText(tokens)) == 0)
                } else {
                    #expect(throws: CLIPModelError.nonFiniteWeight(key: key), "call \(call)") {
                        try model.encodeText(tokens)
                    }
                    let image = try model.encodeImage(pixels)
                    #expect(Self.maxDifference(image, try clean.encodeImage(pixels)) == 0)
                }
            }
            #expect(throws: CLIPModelError.nonFiniteWeight(key: key)) { try model.verifyWeights() }
            #expect(throws: CLIPModelError.nonFiniteWeight(key: key)) {
                if imageIsBad { _ = try model.visual } else { _ = try model.text }
            }
        }
        // Checked by `visual` before a tower call returns anything: its scan finds the value
        // before any kernel has read it.
        let unread = try CLIP(state: damaged, configuration: config, weightCheck: .whenRead)
        #expect(throws: CLIPModelError.nonFiniteWeight(key: key)) {
            if imageIsBad { _ = try unread.visual } else { _ = try unread.text }
        }
    }

    /// Under `.whenRead` only the token-embedding rows a prompt reads are checked: an Inf in a
    /// row no prompt uses leaves the embeddings as they are, and `verifyWeights()` (a scan)
    /// still finds it.
    @Test func whenReadChecksTheTokenEmbeddingRowsThatAreRead() throws {
        guard Tensor.readsHalfWeightsInPlace else { return }
        let (state, config) = try Self.state("vit-fp16.pt")
        let (_, tokens) = try Self.inputs("vit-fp16.pt")
        let unused = try #require((0..<Int32(config.text.vocabularySize)).first { id in !tokens.joined().contains(id) })
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let key = "token_embedding.weight"
        let damaged = try Self.mapped(state, infAt: (key, Int(unused) * config.text.width), in: folder)
        let model = try CLIP(state: damaged, configuration: config, towers: [.text], weightCheck: .whenRead)
        let clean = try CLIP(state: try Self.mapped(state, infAt: nil, in: folder), configuration: config)
        #expect(Self.maxDifference(try model.encodeText(tokens), try clean.encodeText(tokens)) == 0)
        #expect(throws: CLIPModelError.nonFiniteWeight(key: key)) { try model.verifyWeights() }
        #expect(throws: CLIPModelError.nonFiniteWeight(key: key)) { try CLIP(state: damaged, configuration: config) }
    }

    /// A clean fp16 file loaded with `.whenRead` embeds the `.atLoad` model's bits, and its
    /// towers and `verifyWeights()` pass (also after the weights were read).
    @Test func whenReadOnACleanFileGivesTheSameEmbeddings() throws {
        guard Tensor.readsHalfWeightsInPlace else { return }
        let (state, config) = try Self.state("vit-fp16.pt")
        let (pixels, tokens) = try Self.inputs("vit-fp16.pt")
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let mapped = try Self.mapped(state, infAt: nil, in: folder)
        let atLoad = try CLIP(state: mapped, configuration: config)
        let whenRead = try CLIP(state: mapped, configuration: config, weightCheck: .whenRead)
        for call in 1...2 {
            let d = (
                Self.maxDifference(try whenRead.encodeImage(pixels), try atLoad.encodeImage(pixels)),
                Self.maxDifference(try whenRead.encodeText(tokens), try atLoad.encodeText(tokens))
            )
            print("whenRead vs atLoad, call \(call): image \(d.0), text \(d.1) (tolerance 0)")
            #expect(d.0 == 0 && d.1 == 0)
        }
        try whenRead.verifyWeights()
        _ = try whenRead.visual
        _ = try whenRead.text
    }

    /// The tokenizer is built on first use (image-only loads never need it): a model loaded
    /// for images tokenizes, through ``CLIP/tokenizer`` and `encodeText`, exactly as
    /// `CLIP.tokenize` does, and its text embeddings are the eager model's bit for bit.
    @Test func imageOnlyLoadTokenizesOnFirstUse() throws {
        let eager = try CLIP.load(Self.demoModel)
        let imageOnly = try CLIP.load(Self.demoModel, towers: [.image])
        let ids = try imageOnly.tokenizer.tokenize(Self.texts)
        #expect(ids == (try CLIP.tokenize(Self.texts)))
        let diff = Self.maxDifference(try imageOnly.encodeText(Self.texts), try eager.encodeText(Self.texts))
        print("image-only load, texts tokenized on first use vs eager: max difference \(diff) (tolerance 0)")
        #expect(diff == 0)
        #expect(imageOnly.builtTowers == [.image, .text])
    }
}
