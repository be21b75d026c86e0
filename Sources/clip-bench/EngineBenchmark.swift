import ArgumentParser
import CBLAS
import CLIPTensor
import Foundation

/// `clip-bench engine`: the tensor engine's matmul beside OpenBLAS called directly and the
/// machine's FMA peak, plus conv2d and attention throughput.
struct EngineBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine",
        abstract: "GEMM, conv2d and attention throughput of the tensor engine (GFLOP/s vs raw BLAS and FMA peak).")

    @Option(help: "Threads for the engine and BLAS (default: all cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Flag(help: "Skip the 4096³ GEMM (it takes a few seconds per run).")
    var quick = false

    func run() throws {
        Parallel.threadCount = threads
        let peak1 = Bench.fmaPeak(threads: 1)
        let peakN = Bench.fmaPeak(threads: threads)
        print(
            "machine: \(ProcessInfo.processInfo.activeProcessorCount) cores, \(threads) threads used, probe ISA \(Bench.isa)"
        )
        print("FMA peak: \(Bench.format(peak1)) GFLOP/s on 1 thread, \(Bench.format(peakN)) GFLOP/s on \(threads)")
        print("")

        print("GEMM (C = A·B, Float32)          engine GFLOP/s   raw BLAS GFLOP/s   engine/BLAS   % of peak")
        var shapes: [(String, Int, Int, Int)] = [("1024³", 1024, 1024, 1024)]
        if !quick { shapes.append(("4096³", 4096, 4096, 4096)) }
        shapes.append(("ViT-B/32 MLP b16 800×768·768×3072", 800, 768, 3072))
        var results: [String: Double] = [:]
        for (name, m, k, n) in shapes {
            var g = SystemRandomNumberGenerator()
            let a = Tensor(shape: [m, k], scalars: (0..<(m * k)).map { _ in Float.random(in: -1...1, using: &g) })
            let b = Tensor(shape: [k, n], scalars: (0..<(k * n)).map { _ in Float.random(in: -1...1, using: &g) })
            let flops = 2.0 * Double(m) * Double(n) * Double(k)
            let budget = m >= 4096 ? 6.0 : 1.5
            let tEngine = Bench.median(minRuns: 2, budget: budget) { _ = Tensor.matmul(a, b) }
            let c = Tensor(zeros: [m, n])
            // Raw OpenBLAS with its own threads (swift-clip pins BLAS to one thread and splits
            // large products itself; see BLAS in CLIPTensor).
            clip_blas_set_threads(Int32(threads))
            defer { clip_blas_set_threads(1) }
            let tRaw = Bench.median(minRuns: 2, budget: budget) {
                cblas_sgemm(
                    CLIPCblasRowMajor, CLIPCblasNoTrans, CLIPCblasNoTrans, Int32(m), Int32(n), Int32(k), 1,
                    a.baseAddress, Int32(k), b.baseAddress, Int32(n), 0, c.baseAddress, Int32(n))
            }
            let ge = flops / tEngine / 1e9, gr = flops / tRaw / 1e9
            results[name] = ge
            print(
                "\(Bench.pad(name, 34)) \(Bench.pad(Bench.format(ge), 16)) \(Bench.pad(Bench.format(gr), 18)) \(Bench.pad(Bench.format(ge / gr, 3), 13)) \(Bench.format(100 * ge / peakN))%"
            )
        }
        if let big = results["4096³"], let mlp = results["ViT-B/32 MLP b16 800×768·768×3072"] {
            print("MLP shape / 4096³: \(Bench.format(100 * mlp / big))%")
        }
        print("")

        // Linear layers x (M, K) · Wᵀ, W (N, K) as stored: the inference kernel (packed GEMM
        // where the CPU has AVX2 or AVX-512, else BLAS), the MLPs of ViT-B/32 at batch 1 and 16
        // and of ViT-B/16 and ViT-L/14 at batch 1.
        print("linear x·Wᵀ (inference kernel)                 engine GFLOP/s   % of peak")
        for (name, m, k, n) in [
            ("ViT-B/32 c_fc b1 50×768 → 3072", 50, 768, 3072), ("ViT-B/32 c_proj b1 50×3072 → 768", 50, 3072, 768),
            ("ViT-B/32 c_fc b16 800×768 → 3072", 800, 768, 3072),
            ("ViT-B/32 c_proj b16 800×3072 → 768", 800, 3072, 768),
            ("ViT-B/16 c_fc b1 197×768 → 3072", 197, 768, 3072), ("ViT-B/16 c_proj b1 197×3072 → 768", 197, 3072, 768),
            ("ViT-L/14 c_fc b1 257×1024 → 4096", 257, 1024, 4096),
            ("ViT-L/14 c_proj b1 257×4096 → 1024", 257, 4096, 1024),
        ] {
            var g = SystemRandomNumberGenerator()
            let x = Tensor(shape: [m, k], scalars: (0..<(m * k)).map { _ in Float.random(in: -1...1, using: &g) })
            let w = Tensor(shape: [n, k], scalars: (0..<(n * k)).map { _ in Float.random(in: -1...1, using: &g) })
            let t = Bench.median(minRuns: 3, budget: 1.5) {
                _ = Tensor.linear(x, weight: w, bias: nil, activation: .none, residual: nil)
            }
            let gf = 2.0 * Double(m * n * k) / t / 1e9
            print("\(Bench.pad(name, 47)) \(Bench.pad(Bench.format(gf), 16)) \(Bench.format(100 * gf / peakN))%")
        }
        print("")

        // conv2d: the ViT-B/32 patchify and an RN50 3×3 bottleneck conv, batch 16.
        print("conv2d (batch 16)                                   ms/call   GFLOP/s")
        let convs: [(String, [Int], [Int], (Int, Int), (Int, Int))] = [
            ("ViT-B/32 patchify 3→768, 32×32/32 on 224²", [16, 3, 224, 224], [768, 3, 32, 32], (32, 32), (0, 0)),
            ("RN50 layer1 3×3 64→64 on 56²", [16, 64, 56, 56], [64, 64, 3, 3], (1, 1), (1, 1)),
            ("RN50 layer3 1×1 1024→256 on 14²", [16, 1024, 14, 14], [256, 1024, 1, 1], (1, 1), (0, 0)),
        ]
        for (name, xs, ws, stride, padding) in convs {
            let x = Tensor(repeating: 0.5, shape: xs), w = Tensor(repeating: 0.01, shape: ws)
            let ho = Tensor.convOutputSize(xs[2], kernel: ws[2], stride: stride.0, padding: padding.0)
            let wo = Tensor.convOutputSize(xs[3], kernel: ws[3], stride: stride.1, padding: padding.1)
            let flops = 2.0 * Double(xs[0] * ws[0] * ho * wo * ws[1] * ws[2] * ws[3])
            let t = Bench.median { _ = Tensor.conv2d(x, weight: w, stride: stride, padding: padding) }
            print("\(Bench.pad(name, 50)) \(Bench.pad(Bench.format(t * 1000, 2), 9)) \(Bench.format(flops / t / 1e9))")
        }
        print("")

        // Attention: ViT-B/32 (T 50), ViT-B/16 (T 197) and the text tower (T 77, causal), 12 heads
        // of 64, batch 16.
        print("attention (batch 16, 12 heads × 64)                 ms/call   GFLOP/s")
        for (name, t, causal) in [
            ("ViT-B/32 image tokens T=50", 50, false), ("ViT-B/16 image tokens T=197", 197, false),
            ("text tokens T=77 causal", 77, true),
        ] {
            let q = Tensor(repeating: 0.1, shape: [16, t, 768])
            let flops = 2.0 * 2.0 * Double(16 * 12 * t * t * 64)
            let s = Bench.median { _ = Tensor.scaledDotProductAttention(q: q, k: q, v: q, heads: 12, causal: causal) }
            print("\(Bench.pad(name, 50)) \(Bench.pad(Bench.format(s * 1000, 2), 9)) \(Bench.format(flops / s / 1e9))")
        }
        print("")

        // Row kernels around the products at ViT-B/16's batch 1: a layer norm of its 197 tokens
        // and the softmax of one layer's scores (12 heads × 197 rows of 197).
        print("row kernels (ViT-B/16, batch 1)                     µs/call   ns/row")
        var g = SystemRandomNumberGenerator()
        let tokens = Tensor(
            shape: [197, 768], scalars: (0..<(197 * 768)).map { _ in Float.random(in: -3...5, using: &g) })
        let (gamma, beta) = (Tensor(repeating: 1.1, shape: [768]), Tensor(repeating: 0.1, shape: [768]))
        let scores = Tensor(
            shape: [12 * 197, 197], scalars: (0..<(12 * 197 * 197)).map { _ in Float.random(in: -8...8, using: &g) })
        for (name, rows, body) in [
            ("layer norm 197 × 768", 197, { _ = Tensor.layerNorm(tokens, weight: gamma, bias: beta) }),
            ("softmax 2364 × 197", 12 * 197, { _ = Tensor.softmax(scores) }),
        ] as [(String, Int, () -> Void)] {
            let s = Bench.median(minRuns: 20, budget: 1, body)
            print(
                "\(Bench.pad(name, 50)) \(Bench.pad(Bench.format(s * 1e6, 1), 9)) \(Bench.format(s * 1e9 / Double(rows), 1))"
            )
        }
    }
}
