import ArgumentParser
import CLIPTextCleaning
import CLIPTokenizer
import Dispatch
import Foundation

/// `clip-bench tokenizer [--repeats R] [--parallel] TEXTS.jsonl`: strings/s and MB/s of
/// `Tokenizer.tokenize(_, truncate: true)` (cleaning included) over JSON Lines of strings.
/// Single-core figures are this thread's CPU time; the optional both-cores figure is wall time.
/// scripts/bench/tokenizer.sh runs OpenAI's Python SimpleTokenizer on the same strings.
struct TokenizerBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenizer",
        abstract:
            "Strings per second of clip.tokenize-equivalent tokenization (run scripts/bench/tokenizer.sh for the comparison)."
    )

    @Option(help: "Timed passes over the texts after the first (cold-cache) pass.") var repeats = 3
    @Flag(help: "Also time the whole list as one batch (tokenize uses all cores for it).") var parallel = false
    @Argument(help: "JSON Lines file, one JSON string per line.") var input: String

    func validate() throws {
        guard repeats > 0 else { throw ValidationError("--repeats must be positive") }
    }

    func run() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: input))
        let texts: [String] = try data.split(separator: UInt8(ascii: "\n")).map { line in
            guard let text = try JSONSerialization.jsonObject(with: Data(line), options: .fragmentsAllowed) as? String
            else {
                throw ValidationError("\(input): every line must be a JSON string")
            }
            return text
        }
        let megabytes = Double(texts.reduce(0) { $0 + $1.utf8.count }) / 1e6

        var start = DispatchTime.now().uptimeNanoseconds
        let tokenizer = try Tokenizer.bundled()
        let loadSeconds = seconds(since: start)

        var checksum = 0
        // One text per call keeps tokenize on this thread (larger batches use all cores).
        func pass() throws {
            for text in texts { checksum &+= Int(try tokenizer.tokenize([text], truncate: true)[0][1]) }
        }
        var cpu = threadCPU()
        try pass()
        let coldSeconds = threadCPU() - cpu
        cpu = threadCPU()
        for _ in 0..<repeats { try pass() }
        let warmSeconds = (threadCPU() - cpu) / Double(repeats)

        print(String(format: "swift-clip: load %.3f s; %d strings, %.3f MB", loadSeconds, texts.count, megabytes))
        report("cold cache, 1 core, CPU time", texts.count, megabytes, coldSeconds)
        report("warm cache, 1 core, CPU time", texts.count, megabytes, warmSeconds)
        print(String(format: "strings_per_second=%.1f", Double(texts.count) / warmSeconds))
        print(String(format: "megabytes_per_second=%.3f", megabytes / warmSeconds))

        // Where the time goes: CLIPTextCleaner.clean alone; the rest is splitting, BPE and rows.
        cpu = threadCPU()
        for _ in 0..<repeats { for text in texts { checksum &+= CLIPTextCleaner.clean(text).utf8.count } }
        let cleanSeconds = (threadCPU() - cpu) / Double(repeats)
        report("of which cleaning", texts.count, megabytes, cleanSeconds)
        report("of which split + BPE", texts.count, megabytes, max(warmSeconds - cleanSeconds, 1e-9))

        if parallel {
            // The whole batch in one call: tokenize spreads it over all cores.
            let cores = ProcessInfo.processInfo.activeProcessorCount
            start = DispatchTime.now().uptimeNanoseconds
            let cpu = processCPU()
            for _ in 0..<repeats { checksum &+= try tokenizer.tokenize(texts, truncate: true).count }
            let wall = seconds(since: start) / Double(repeats)
            let cpuPerPass = (processCPU() - cpu) / Double(repeats)
            report("warm cache, one batch on \(cores) cores, wall time", texts.count, megabytes, wall)
            // Summed over threads: close to the 1-core CPU time when the split costs nothing extra.
            print(String(format: "swift-clip (same, CPU time of all threads): %.4f s per pass", cpuPerPass))
            print(String(format: "parallel_strings_per_second=%.1f", Double(texts.count) / wall))
        }
        print("checksum \(checksum)")
    }

    private func seconds(since start: UInt64) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    private func processCPU() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// CPU time of this thread: the single-core figures use it (as the Python side uses
    /// time.thread_time) so other processes on the shared cores do not skew the ratio.
    private func threadCPU() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    private func report(_ label: String, _ count: Int, _ megabytes: Double, _ seconds: Double) {
        print(
            String(
                format: "swift-clip (%@): %.4f s per pass: %.0f strings/s, %.2f MB/s",
                label, seconds, Double(count) / seconds, megabytes / seconds))
    }
}
