import ArgumentParser
import CLIP
import CLISupport
import Foundation

/// `clip preprocess --size N [--exif] IMAGE... -o out.npy`: OpenAI CLIP's image preprocessing
/// (Pillow-exact) into a little-endian float32 NPY array of shape (B, 3, N, N), images in
/// argument order. Errors print one line `error: ...` on stderr and exit non-zero.
struct PreprocessCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preprocess",
        abstract: "Preprocess images exactly like OpenAI CLIP into a (B, 3, N, N) float32 .npy file.",
        discussion: """
            Examples:
              clip preprocess --size 224 cat.jpg dog.png -o pixels.npy
              clip preprocess --size 336 --exif photo.jpg -o pixels.npy
            """
    )

    @Option(name: .long, help: "Output side N (224 for ViT-B/32 and ViT-B/16, 336 for ViT-L/14@336px).")
    var size: Int?

    @Flag(name: .long, help: "Apply the EXIF orientation tag (OpenAI's reference does not).")
    var exif = false

    @Flag(name: .long, help: "Decode large JPEGs with libjpeg DCT scaling (faster; pixels differ from Pillow's).")
    var fastJpeg = false

    @Option(name: .long, help: "Largest width*height accepted, at least 1 (Pillow's limit, 178956970, by default).")
    var maxPixels = DecodeOptions.pillowPixelLimit

    @Option(name: [.short, .long], help: "Output .npy file.")
    var output: String?

    @Argument(help: "Image files (JPEG, PNG, WebP, GIF; recognised by content).")
    var images: [String] = []

    func validate() throws {
        // 0 used to switch the limit off silently; the limit is what stops decompression bombs.
        try OptionRange.check("--max-pixels", maxPixels, 1...Int.max)
    }

    func run() throws {
        guard let size else { throw failure("--size N is required") }
        // 4096 covers every published CLIP input size (224, 288, 336, 384, 448) many times over;
        // larger values only exhaust memory ((B, 3, N, N) floats).
        guard (1...4096).contains(size) else { throw failure("--size must be between 1 and 4096, got \(size)") }
        guard let output else { throw failure("-o OUTPUT.npy is required") }
        guard !images.isEmpty else { throw failure("no images given") }
        var options = DecodeOptions()
        options.applyEXIFOrientation = exif
        options.maxPixels = maxPixels
        var preprocessor = CLIPPreprocessor(size: size, decodeOptions: options)
        preprocessor.fastJPEGDownscale = fastJpeg
        // Chunks keep memory bounded for long file lists; the file appears only when complete.
        let file: OutputFile
        do {
            file = try OutputFile(path: output)
            try file.write(NPY.header(shape: [images.count, 3, size, size]))
            let chunk = 64
            for start in stride(from: 0, to: images.count, by: chunk) {
                let urls = images[start..<min(start + chunk, images.count)].map { URL(fileURLWithPath: $0) }
                let values: [Float]
                do {
                    values = try preprocessor.preprocessBatch(contentsOf: urls)
                } catch {
                    file.discard()
                    // One line naming the file (ImageError's description does).
                    throw failure((error as? LocalizedError)?.errorDescription ?? "\(error)", .input)
                }
                try file.write(NPY.littleEndianBytes(values))
            }
            try file.commit()
        } catch let error as OutputError {
            throw fail(error, .io)
        }
    }

    /// Prints one `error:` line on stderr; throwing the result exits with the documented status
    /// (usage 64 by default, bad image 65, unwritable output 74) and no usage text.
    private func failure(_ message: String, _ kind: CLIExit = .usage) -> ExitCode {
        fail(message, kind)
    }
}
