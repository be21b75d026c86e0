import CLIPModel
import CLIPTensor
import CLIPTestSupport
import CLIPTokenizer
import CLIPWeights
import Foundation
import Testing

// Text that stops at the EOT (TextLengthGroups): encodeText and pooledStates run only the
// positions up to each row's EOT, in length groups, and must give the features of the
// 77-position forward (`model.text(tokens)`, `hiddenStates` then the EOT row). Where inference
// computes rows independently (`Parallel.inferenceRowsAreIndependent`: the packed GEMM and the
// row-wise causal attention) they must be equal bit for bit; on the BLAS path they agree to 2e-6
// of each row's norm, because OpenBLAS rounds a row differently depending on the number of rows
// in the product (see TextLengthGroups). The tests print the difference beside that baseline
// (the same rows at 77 positions one by one).

@Suite struct TextStopsAtEOTTests {
    /// Real prompts of spread lengths, the empty prompt, and one that fills all 77 positions.
    static let prompts = [
        "a photo of a tabby cat.", "", "a dog", "a photo of a large brown bear catching salmon in a fast river",
        String(repeating: "cat ", count: 100), "a blurry photo of the number seven written in red ink",
        "an origami crane", "a close-up photo of a small yellow bird sitting on a branch in the early morning light",
    ]

    /// A mixed batch: every prompt, repeated and shuffled, so groups hold rows from all over.
    static func mixedBatch(_ rows: [[Int32]], count: Int) -> [[Int32]] {
        (0..<count).map { rows[($0 * 5 + $0 / rows.count) % rows.count] }
    }

    /// Max |a − b| / ‖b‖ over rows of width `w`.
    static func relativeDifference(_ a: Tensor, _ b: Tensor) -> Double {
        rowAgreement(a.scalars, b.scalars, width: b.shape[1]).relative
    }

    static let tolerance = 2e-6

    /// Every model checked against its own 77-position forward, at batch 1 and in mixed batches.
    static func checkAgreement(_ model: CLIP, _ tokens: [[Int32]], _ name: String) throws {
        for batch in [[tokens[0]], tokens, mixedBatch(tokens, count: 16), mixedBatch(tokens, count: 70)] {
            let full = try model.text(batch).value  // all 77 positions, one batch
            let stopped = try model.encodeText(batch)
            #expect(stopped.shape == full.shape)
            let d = relativeDifference(stopped, full)
            // Baseline: the same 77-position forward, one row at a time (first 16 rows).
            let some = Array(batch.prefix(16))
            let alone = Tensor.concatenate(try some.map { try model.text([$0]).value }, dim: 0)
            let baseline = relativeDifference(alone, full.sliced(dim: 0, range: 0..<some.count).contiguous())
            print(
                "\(name) batch \(batch.count): stop-at-EOT vs 77 positions max |diff|/norm \(d) "
                    + "(77 positions one by one vs batched: \(baseline); tolerance \(tolerance))")
            #expect(d <= tolerance, "\(name) batch \(batch.count): \(d)")
            // Inference only: a trainable model (fresh weights) records gradients through BLAS.
            if Parallel.inferenceRowsAreIndependent && !model.isTrainable {
                #expect(d == 0 && baseline == 0, "\(name) batch \(batch.count): \(d), one by one \(baseline)")
            }
        }
    }

    /// The fixture CLIPs (vocabulary 100, SOT 98, EOT 99): rows of every length, 0 to 75 ids.
    @Test(arguments: ["vit.safetensors", "rn.safetensors", "hf"]) func fixtureModels(file: String) throws {
        let state = try WeightLoader.load(ModelFixtures.url(file))
        let heads =
            file == "hf" ? nil : (file.hasPrefix("vit") ? ModelFixtures.heads["vit"] : ModelFixtures.heads["rn"])
        let config = try heads.map {
            try CLIPConfiguration.infer(from: state, textHeads: $0.text, visionHeads: $0.vision)
        }
        let model = try CLIP(state: state, configuration: config)
        let tokens: [[Int32]] = [7, 0, 1, 75, 14, 6, 15, 8, 40, 70, 71, 72, 73].map { n in
            var row: [Int32] = [98] + (0..<n).map { Int32(($0 * 37 + n) % 97 + 1) } + [99]
            row += [Int32](repeating: 0, count: 77 - row.count)
            return row
        }
        try Self.checkAgreement(model, tokens, file)
    }

    /// ViT-B/32's text shapes (width 512, 8 heads; 2 of its 12 layers) on real prompts, so the
    /// GEMMs have the sizes and blockings of the released model.
    @Test func fullWidthTextTowerOnRealPrompts() throws {
        let config = CLIPConfiguration(
            embedDim: 512, vision: .vit(imageSize: 32, patchSize: 16, width: 64, layers: 1, heads: 1),
            text: TextConfiguration(width: 512, heads: 8, layers: 2))
        let model = try CLIP(configuration: config, seed: 13)
        let tokens = try CLIP.tokenize(Self.prompts)
        #expect(tokens[4].last == 49407, "the long prompt fills all 77 positions")
        try Self.checkAgreement(model, tokens, "width 512")
        // The library's text-only path takes the same route.
        let tower = try CLIP(
            state: StateDict(
                tensors: Dictionary(uniqueKeysWithValues: try model.stateTensors().map { ($0.key, $0.tensor) }),
                format: .safetensors),
            configuration: config, towers: [.text])
        let d = Self.relativeDifference(try tower.encodeText(tokens), try model.text(tokens).value)
        print("text-only load, stop-at-EOT vs 77 positions: max |diff|/norm \(d)")
        #expect(d <= Self.tolerance)
    }

    /// transformers' pooler_output from the hidden-state fixtures (both paddings, `eos_token_id`
    /// rule): the pooled rows stop at the EOT and equal the EOT rows of the 77-position states.
    @Test(arguments: ["sd1-text", "sdxl-text2"]) func pooledStatesStopAtTheEOT(name: String) throws {
        let tower = try CLIPTowers.load(HiddenStateFixtures.url(name)).textTower()
        let out = try WeightLoader.load(HiddenStateFixtures.url("\(name)-states.safetensors")).tensors
        for padding in ["eot", "zero"] {
            let tokens = Self.mixedBatch(ModelFixtures.tokens(try #require(out["tokens.\(padding)"])), count: 16)
            for (layer, norm) in [(-1, true), (-2, false), (1, true)] {
                let states = try tower.hiddenStates(tokens, layer: layer, finalNorm: norm)  // (N, 77, C)
                let c = tower.configuration.width, t = tower.configuration.contextLength
                let expected = tokens.enumerated().flatMap { i, row -> ArraySlice<Float> in
                    let e = tower.eotPosition(row)
                    return states.scalars[((i * t + e) * c)..<((i * t + e + 1) * c)]
                }
                let pooled = try tower.pooledStates(tokens, layer: layer, finalNorm: norm)
                #expect(pooled.shape == [tokens.count, c])
                let d = rowAgreement(pooled.scalars, Array(expected), width: c).relative
                print("\(name) \(padding) layer \(layer): pooled stop-at-EOT vs 77 positions max |diff|/norm \(d)")
                #expect(d <= Self.tolerance, "\(name) \(padding) layer \(layer): \(d)")
            }
        }
    }

    @Test(arguments: [(0, 77, 1), (1, 77, 2), (8, 77, 9), (75, 77, 76), (76, 77, 77), (80, 77, 77)])
    func positionsEndAtTheEOT(eot: Int, context: Int, expected: Int) {
        #expect(TextLengthGroups.positions(eot: eot, contextLength: context) == expected)
    }

    /// "a photo of a tabby cat." is SOT, 7 tokens, EOT: 9 positions of 77.
    @Test func theIssuesPrompt() throws {
        let row = try CLIP.tokenize(["a photo of a tabby cat."])[0]
        #expect(TextLengthGroups.positions(eot: TextEncoder.eotPosition(row), contextLength: 77) == 9)
    }

    /// Groups cover every row once, hold at most maxBatch rows, run at least each row's length,
    /// and never cost more than one padded batch (or its maxBatch chunks).
    @Test(arguments: [
        ([], 64), ([9], 64), ([77, 9, 5, 9, 8, 9, 9, 9, 2, 9, 9, 9, 9, 9, 9, 9], 64), ([16, 8, 24, 16, 77, 8], 2),
        ((0..<200).map { [8, 16, 24, 77][$0 % 4] }, 64),
    ])
    func groupsPartitionTheBatch(lengths: [Int], maxBatch: Int) {
        let groups = TextLengthGroups.groups(lengths: lengths, maxBatch: maxBatch)
        #expect(groups.flatMap(\.rows).sorted() == Array(lengths.indices))
        for g in groups {
            #expect(g.rows.count <= maxBatch && !g.rows.isEmpty)
            #expect(g.rows.allSatisfy { lengths[$0] <= g.positions })
        }
        let cost = groups.reduce(0) { $0 + 32 + $1.rows.count * $1.positions }
        let chunks = (lengths.count + maxBatch - 1) / maxBatch
        #expect(cost <= chunks * 32 + lengths.count * (lengths.max() ?? 0), "grouped cost \(cost)")
        if lengths.count == 16 && lengths.filter({ $0 == 77 }).count == 1 {
            // One long prompt among short ones runs on its own.
            #expect(groups.count == 2 && groups[1].rows == [0] && groups[0].positions == 9)
        }
        // Exact groups (batch-invariant inference): each row runs its own length, nothing more.
        let exact = TextLengthGroups.groups(lengths: lengths, maxBatch: maxBatch, exact: true)
        #expect(exact.flatMap(\.rows).sorted() == Array(lengths.indices))
        for g in exact {
            #expect(g.rows.count <= maxBatch && !g.rows.isEmpty)
            #expect(g.rows.allSatisfy { lengths[$0] == g.positions })
        }
        #expect(
            exact.count
                == Set(lengths).reduce(0) { n, l in
                    n + (lengths.filter { $0 == l }.count + maxBatch - 1) / maxBatch
                })
    }
}
