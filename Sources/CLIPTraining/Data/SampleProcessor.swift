import CLIPImage
import CLIPTensor
import CLIPTokenizer
import Foundation

/// Turns one dataset sample into model input: reads and checks the caption, reads, decodes
/// and preprocesses the image (``CLIPPreprocessor`` exactly, or ``RandomResizedCrop`` when
/// augmenting), tokenizes the caption. Every failure becomes a ``SkipReason``; nothing
/// throws, so one bad sample never stops a run.
struct SampleProcessor: Sendable {
    let dataset: any TrainingDataset
    let preprocessor: CLIPPreprocessor
    let tokenizer: Tokenizer
    let contextLength: Int
    let augmentation: RandomResizedCrop?
    let seed: UInt64

    struct Prepared: Sendable {
        var index: Int
        var pixels: [Float]  // (3, S, S)
        var tokens: [Int32]  // (contextLength)
        var caption: String
    }

    enum Outcome: Sendable {
        case ready(Prepared)
        case skipped(index: Int, reason: SkipReason, message: String)
    }

    func process(index: Int, epoch: Int) -> Outcome {
        let sample = dataset.sample(at: index)
        let caption: String
        do {
            guard let text = try sample.caption.read() else {
                return .skipped(index: index, reason: .missingCaption, message: "\(sample.image.name): no caption")
            }
            caption = text
        } catch {
            return .skipped(index: index, reason: .missingCaption, message: Self.describe(error))
        }
        guard !caption.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            return .skipped(index: index, reason: .emptyCaption, message: "\(sample.image.name): empty caption")
        }
        let data: Data
        do {
            data = try sample.image.read()
        } catch {
            return .skipped(index: index, reason: .unreadableImage, message: Self.describe(error))
        }
        let image: DecodedImage
        do {
            image = try ImageDecoder.decode(data: data, name: sample.image.name, options: preprocessor.decodeOptions)
        } catch {
            return .skipped(index: index, reason: .corruptImage, message: Self.describe(error))
        }
        let rgb: [UInt8]
        if let augmentation {
            // Seeded by (seed, epoch, sample): the same crop whichever worker does it and
            // whenever the run is resumed, a new crop every epoch.
            var random = SeededRandom(seed: seed, streams: 1, epoch, index)
            rgb = augmentation.apply(image, preprocessor: preprocessor, random: &random)
        } else {
            rgb = preprocessor.resizeAndCrop(image)
        }
        let plane = 3 * preprocessor.size * preprocessor.size
        let pixels = [Float](unsafeUninitializedCapacity: plane) { buffer, count in
            preprocessor.normalize(rgb, into: buffer)
            count = plane
        }
        let tokens: [Int32]
        do {
            tokens = try tokenizer.tokenize([caption], contextLength: contextLength, truncate: true)[0]
        } catch {
            return .skipped(index: index, reason: .emptyCaption, message: Self.describe(error))
        }
        return .ready(Prepared(index: index, pixels: pixels, tokens: tokens, caption: caption))
    }

    static func describe(_ error: any Error) -> String {
        (error as? LocalizedError)?.errorDescription ?? String(describing: error)
    }
}
