import ArgumentParser
import CLIPImage
import Dispatch
import Foundation

/// `clip-bench preprocess [--size N] [--repeats R] [--serial] [--fast-jpeg] IMAGE...`:
/// images/s of decode + CLIP preprocessing, as `clip preprocess` runs it (both cores), or
/// on one core with `--serial`. scripts/bench/preprocess.sh runs Pillow on the same files.
struct PreprocessBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preprocess",
        abstract:
            "Images per second for decode + CLIP preprocessing (run scripts/bench/preprocess.sh for the comparison)."
    )

    @Option(help: "Output side N.") var size = 224
    @Option(help: "Timed passes over the files (after one warm-up pass).") var repeats = 3
    @Flag(help: "One image at a time on one core instead of the batch API on all cores.") var serial = false
    @Flag(help: "libjpeg DCT-scaling fast path (pixels differ from Pillow's).") var fastJpeg = false
    @Argument(help: "Image files.") var images: [String] = []

    func validate() throws {
        guard !images.isEmpty else { throw ValidationError("give the image files to preprocess") }
        guard size > 0, repeats > 0 else { throw ValidationError("--size and --repeats must be positive") }
    }

    func run() throws {
        var preprocessor = CLIPPreprocessor(size: size)
        preprocessor.fastJPEGDownscale = fastJpeg
        let urls = images.map { URL(fileURLWithPath: $0) }
        var checksum: Float = 0
        let stride = 3 * size * size
        func pass() throws {
            if serial {
                for url in urls { checksum += try preprocessor.preprocess(contentsOf: url)[0] }
            } else {
                let batch = try preprocessor.preprocessBatch(contentsOf: urls)
                for i in urls.indices { checksum += batch[i * stride] }
            }
        }
        try pass()  // warm-up: page cache, allocator
        let start = DispatchTime.now().uptimeNanoseconds
        let cpuStart = Self.cpuSeconds()
        for _ in 0..<repeats { try pass() }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let cpu = Self.cpuSeconds() - cpuStart
        let images = Double(urls.count * repeats)
        let how = serial ? "1 core" : "\(ProcessInfo.processInfo.activeProcessorCount) cores"
        print(
            "swift-clip (\(how)\(fastJpeg ? ", fast JPEG" : "")): \(urls.count) images x \(repeats) in \(String(format: "%.3f", seconds)) s wall, \(String(format: "%.3f", cpu)) s CPU: \(String(format: "%.1f", images / seconds)) images/s, \(String(format: "%.1f", images / cpu)) images per CPU-second (checksum \(checksum))"
        )
        print("images_per_second=\(String(format: "%.2f", images / seconds))")
        print("images_per_cpu_second=\(String(format: "%.2f", images / cpu))")
        if fastJpeg { try reportFastPathDifference(urls) }
    }

    /// User + system CPU time of this process: under load from other processes, work per
    /// CPU-second compares implementations better than wall-clock rates.
    static func cpuSeconds() -> Double {
        var usage = rusage()
        #if os(Linux)
            getrusage(RUSAGE_SELF.rawValue, &usage)  // Glibc imports the constant as an enum
        #else
            getrusage(RUSAGE_SELF, &usage)
        #endif
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// How far the DCT-scaling fast path moves the uint8 pixels ToTensor sees, per file.
    private func reportFastPathDifference(_ urls: [URL]) throws {
        let exact = CLIPPreprocessor(size: size)
        var fastOptions = DecodeOptions()
        fastOptions.jpegMinimumShortSide = 2 * size
        var total = 0, sum = 0, worst = 0, changed = 0
        for url in urls {
            let a = exact.resizeAndCrop(try ImageDecoder.decode(contentsOf: url))
            let b = exact.resizeAndCrop(try ImageDecoder.decode(contentsOf: url, options: fastOptions))
            for (x, y) in zip(a, b) {
                let d = abs(Int(x) - Int(y))
                sum += d
                worst = max(worst, d)
                if d != 0 { changed += 1 }
            }
            total += a.count
        }
        print(
            String(
                format: "fast JPEG path vs exact: mean |diff| %.3f, max |diff| %d (of 255), %.1f%% of values changed",
                Double(sum) / Double(total), worst, 100 * Double(changed) / Double(total)))
    }
}
