import CBenchSupport
import Dispatch
import Foundation

/// Timing helpers shared by the benchmarks.
enum Bench {
    /// Median wall time in seconds of `body` over repeated runs (after one warm-up), running
    /// at least `minRuns` times and until about `budget` seconds have passed.
    static func median(minRuns: Int = 3, budget: Double = 1.0, _ body: () -> Void) -> Double {
        body()
        var times: [Double] = []
        let start = DispatchTime.now().uptimeNanoseconds
        repeat {
            let t0 = DispatchTime.now().uptimeNanoseconds
            body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        } while times.count < minRuns
            || (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 < budget && times.count < 1000)
        times.sort()
        return times[times.count / 2]
    }

    /// The machine's Float32 FMA peak in GFLOP/s on `threads` threads, measured with
    /// register-only FMA chains (an upper bound no GEMM can exceed).
    static func fmaPeak(threads: Int) -> Double {
        let iterations: Int64 = 20_000_000
        let seconds = median(minRuns: 3, budget: 0.5) {
            DispatchQueue.concurrentPerform(iterations: threads) { _ in
                var sink: Float = 0
                _ = clip_fma_probe(iterations, &sink)
                if sink == 42 { print("") }
            }
        }
        var sink: Float = 0
        // the probe reports FLOPs per iteration × iterations
        let flopsPerThread = clip_fma_probe(1, &sink) * Double(iterations)
        return flopsPerThread * Double(threads) / seconds / 1e9
    }

    /// Peak resident set size of this process so far, in MiB. On Linux from /proc/self/status
    /// (VmHWM), because getrusage's ru_maxrss survives exec and would report the parent's peak.
    static func peakResidentMegabytes() -> Double {
        #if os(Linux)
            if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
                let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
                let kib = Double(line.split(separator: " ").dropFirst().first ?? "")
            {
                return kib / 1024
            }
            return 0
        #else
            var usage = rusage()
            getrusage(RUSAGE_SELF, &usage)
            return Double(usage.ru_maxrss) / 1_048_576
        #endif
    }

    static var isa: String { String(cString: clip_fma_probe_isa()) }

    static func format(_ x: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", x) }

    static func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
    }
}
