import ArgumentParser
import CLIP
import Foundation

/// `clip-bench fast-jpeg-embeddings [--model FILE | --preset NAME --seed S] IMAGE...`: how much
/// the DCT-scaling fast path (`CLIPPreprocessor.fastJPEGDownscale`) moves image embeddings.
/// Each image is preprocessed exactly (Pillow's pixels) and with the fast path, both are
/// encoded, and the cosine similarity of the two embeddings is reported (min / mean / max),
/// next to the mean cosine between *different* images as a scale for what the figure means.
struct FastJPEGEmbeddings: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fast-jpeg-embeddings",
        abstract: "Cosine similarity of image embeddings: exact preprocessing vs the fast JPEG path."
    )

    @Option(help: "Checkpoint to load (any format `clip` reads). Without it, a randomly initialised --preset.")
    var model: String?
    @Option(help: "Architecture preset for the random model (OpenAI name).") var preset = "ViT-B/32"
    @Option(help: "Initialisation seed for the random model.") var seed: UInt64 = 0
    @Argument(help: "JPEG files.") var images: [String] = []

    func validate() throws {
        guard !images.isEmpty else { throw ValidationError("give the JPEG files to compare") }
        if model == nil, CLIPConfiguration.preset(preset) == nil {
            throw ValidationError(
                "unknown preset '\(preset)'; one of \(CLIPConfiguration.presetNames.joined(separator: ", "))")
        }
    }

    func run() throws {
        let clip: CLIP
        let label: String
        if let model {
            clip = try CLIP.load(URL(fileURLWithPath: model))
            label = "\(model) (\(clip.imageSize) px)"
        } else {
            // Validated above; no pretrained weights are available offline, so the full-size
            // architecture is measured with OpenAI's initialisation scheme.
            guard let configuration = CLIPConfiguration.preset(preset) else {
                throw ValidationError("unknown preset '\(preset)'")
            }
            clip = try CLIP(configuration: configuration, seed: seed)
            label = "\(preset), randomly initialised (seed \(seed), \(clip.imageSize) px)"
        }
        let urls = images.map { URL(fileURLWithPath: $0) }
        var fast = clip.preprocessor
        fast.fastJPEGDownscale = true
        let n = clip.imageSize
        let exactPixels = try clip.preprocessor.preprocessBatch(contentsOf: urls)
        let fastPixels = try fast.preprocessBatch(contentsOf: urls)
        let a = try clip.encodeImage(Tensor(shape: [urls.count, 3, n, n], scalars: exactPixels)).scalars
        let b = try clip.encodeImage(Tensor(shape: [urls.count, 3, n, n], scalars: fastPixels)).scalars
        let e = a.count / urls.count
        func unit(_ v: ArraySlice<Float>) -> [Double] {
            let norm = sqrt(v.reduce(0.0) { $0 + Double($1) * Double($1) })
            return v.map { Double($0) / max(norm, 1e-30) }
        }
        let exact = (0..<urls.count).map { unit(a[($0 * e)..<(($0 + 1) * e)]) }
        let approx = (0..<urls.count).map { unit(b[($0 * e)..<(($0 + 1) * e)]) }
        func cosine(_ x: [Double], _ y: [Double]) -> Double { zip(x, y).reduce(0) { $0 + $1.0 * $1.1 } }
        let same = zip(exact, approx).map { cosine($0, $1) }
        var different: [Double] = []
        for i in exact.indices { for j in exact.indices where j > i { different.append(cosine(exact[i], exact[j])) } }
        let pixelDiff = zip(exactPixels, fastPixels).map { abs(Double($0 - $1)) }
        let plane = 3 * n * n
        let changed = urls.indices.filter { i in
            exactPixels[(i * plane)..<((i + 1) * plane)] != fastPixels[(i * plane)..<((i + 1) * plane)]
        }
        print(
            "model: \(label); fast path changed the pixels of \(changed.count) of \(urls.count) images (those with a short side of about \(4 * n) px or more)"
        )
        for (url, c) in zip(urls, same) {
            let name = url.lastPathComponent.padding(
                toLength: max(28, url.lastPathComponent.count), withPad: " ", startingAt: 0)
            print(String(format: "  %@ cosine %.7f (1 - cosine %.1e)", name, c, max(0, 1 - c)))
        }
        let mean = same.reduce(0, +) / Double(same.count)
        print(
            String(
                format:
                    "exact vs fast JPEG, same image: cosine min %.7f, mean %.7f (1 - cosine: max %.1e, mean %.1e) over %d images",
                same.min() ?? .nan, mean, max(0, 1 - (same.min() ?? .nan)), max(0, 1 - mean), same.count))
        if !different.isEmpty {
            // A random model maps all images close together; this says how close.
            let meanDifferent = different.reduce(0, +) / Double(different.count)
            print(
                String(
                    format:
                        "scale: exact embeddings of different images: cosine mean %.6f, max %.6f (1 - cosine: mean %.1e, min %.1e)",
                    meanDifferent, different.max() ?? .nan, 1 - meanDifferent, 1 - (different.max() ?? .nan)))
        }
        print(
            String(
                format: "normalised pixels: mean |diff| %.4f, max %.4f",
                pixelDiff.reduce(0, +) / Double(pixelDiff.count), pixelDiff.max() ?? 0))
    }
}
