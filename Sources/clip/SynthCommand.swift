import ArgumentParser
import CLIPSynthetic
import CLISupport
import Foundation

/// `clip synth --output DIR --count N [--size 64] [--seed S] [--holdout-fraction 0.1] ...`:
/// writes the synthetic shapes dataset (train.csv / val.csv in open_clip's layout, zero-shot
/// class folders, optional WebDataset shards and sidecar folders) and prints its summary as JSON.
struct SynthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth",
        abstract: "Generate a synthetic captioned shapes dataset for training and zero-shot tests.",
        discussion: """
            Images show one to three shapes of one colour and size in one region, captioned from their \
            attributes ("two small red circles on the left"). A share of the colour-shape combinations \
            never appears in train or val, only in zeroshot_unseen/<class>/. Same settings, same files.

            Examples:
              clip synth -o shapes --count 1000
              clip synth -o shapes --count 5000 --size 96 --seed 7 --webdataset
            """
    )

    @Option(name: [.short, .long], help: "Output folder (created if needed).")
    var output: String

    @Option(name: .long, help: "Images in train + val.")
    var count: Int

    @Option(name: .long, help: "Image side in pixels (16...1024).")
    var size = 64

    @Option(name: .long, help: "Random seed; the same seed gives the same files.")
    var seed: UInt64 = 0

    @Option(name: .long, help: "Share of the colour-shape combinations held out for the zero-shot split (0...0.5).")
    var holdoutFraction = 0.1

    @Option(name: .long, help: "Share of the images that go to val.csv (0...0.9).")
    var valFraction = 0.1

    @Option(name: .long, help: "Images per class in the zero-shot folders.")
    var zeroshotPerClass = 20

    @Flag(name: .long, help: "Also write WebDataset tar shards under shards/.")
    var webdataset = false

    @Option(name: .long, help: "Samples per tar shard.")
    var shardSize = 1000

    @Flag(name: .long, help: "Also write sidecar/<split>/ folders of images with .txt captions.")
    var sidecar = false

    func run() throws {
        var configuration = SyntheticDatasetConfiguration(count: count)
        configuration.imageSize = size
        configuration.seed = seed
        configuration.holdoutFraction = holdoutFraction
        configuration.valFraction = valFraction
        configuration.zeroShotPerClass = zeroshotPerClass
        configuration.webDataset = webdataset
        configuration.shardSize = shardSize
        configuration.sidecar = sidecar
        let generator: SyntheticDatasetGenerator
        do {
            generator = try SyntheticDatasetGenerator(configuration: configuration)
        } catch {
            throw fail(error, .usage)
        }
        let summary: SyntheticDatasetSummary
        do {
            summary = try generator.write(to: URL(fileURLWithPath: output))
        } catch {
            throw fail(error, .io)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        var text = (try? encoder.encode(summary)) ?? Data()
        text.append(0x0A)
        try Output.write(text, to: nil)
        let images = summary.trainCount + summary.valCount + summary.zeroShotUnseenCount + summary.zeroShotAllCount
        guard GlobalOptions.verbosity > .quiet else { return }
        standardError(
            String(
                format: "wrote %d images in %.2f s (%.0f images/s)\n", images, summary.seconds,
                Double(images) / max(summary.seconds, 1e-9)))
    }
}
