import ArgumentParser

/// Release-mode benchmarks: `swift run -c release clip-bench <name>`. Each prints absolute
/// figures and, where a reference is run in the same process or script, the ratio.
@main
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clip-bench",
        abstract: "swift-clip benchmarks (build with -c release).",
        subcommands: [
            EngineBenchmark.self, ModelBenchmark.self, TrainStepBenchmark.self, TokenizerBenchmark.self,
            PreprocessBenchmark.self, FastJPEGEmbeddings.self, HiddenStatesBenchmark.self, StartupBenchmark.self,
            Int8Agreement.self,
        ]
    )
}
