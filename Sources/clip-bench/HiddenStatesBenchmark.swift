import ArgumentParser
import CLIP
import Foundation

/// `clip-bench hidden-states`: per-token text states (SD 1.x conditioning: last layer, ln_final)
/// of a text tower at several batch sizes, printed as JSON for scripts/bench/hidden_states.py,
/// which times transformers' CLIPTextModel on the same weights and alternates the two.
struct HiddenStatesBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hidden-states",
        abstract: "Time TextTower.hiddenStates of a text tower (JSON out; see scripts/bench/hidden_states.py).")

    @Option(help: "A text tower folder (diffusers text_encoder/) or any checkpoint with a text tower.")
    var model: String

    @Option(help: "safetensors file with 'tokens' (N, 77) int64.")
    var inputs: String

    @Option(help: "Comma-separated batch sizes.")
    var batches: String = "1,16"

    @Option(help: "Threads for the engine and BLAS.")
    var threads: Int = 2

    @Option(help: "Seconds to spend per measurement.")
    var budget: Double = 3

    @Flag(help: "Also print the states of all input rows (for the agreement check).")
    var states = false

    @Flag(help: "Measure the process's CPU time instead of wall time (other load on the machine cancels out).")
    var cpuTime = false

    func run() throws {
        Parallel.threadCount = threads
        let tower = try CLIPTowers.load(URL(fileURLWithPath: model), modality: .text).textTower()
        let w = try require(WeightLoader.load(URL(fileURLWithPath: inputs)).tensors["tokens"], "tokens")
        let ids: [Int64] = w.withUnsafeBytes { raw in
            (0..<w.elementCount).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self) }
        }
        let t = w.shape[1]
        let tokens = (0..<w.shape[0]).map { r in ids[(r * t)..<((r + 1) * t)].map { Int32($0) } }
        var results: [String: Any] = ["threads": threads]
        for b in batches.split(separator: ",").compactMap({ Int($0) }) {
            let rows = Array(tokens.prefix(b))
            let run = { _ = try? tower.hiddenStates(rows, layer: -1, finalNorm: true) }
            results["b\(b)_seconds"] = cpuTime ? Self.cpuMedian(run) : Bench.median(minRuns: 3, budget: budget, run)
        }
        if states { results["states"] = try tower.hiddenStates(tokens).scalars.map(Double.init) }
        let data = try JSONSerialization.data(withJSONObject: results, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }
}

extension HiddenStatesBenchmark {
    /// Median process CPU seconds of `body` over 5 runs after a warm-up.
    static func cpuMedian(_ body: () -> Void) -> Double {
        func now() -> Double {
            var t = timespec()
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
            return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
        }
        body()
        let times = (0..<5).map { _ in
            let t0 = now()
            body()
            return now() - t0
        }.sorted()
        return times[2]
    }
}

/// `try #require`-like unwrapping for the command line.
private func require<T>(_ value: T?, _ what: String) throws -> T {
    guard let value else { throw ValidationError("missing \(what)") }
    return value
}
