// swift-tools-version: 6.0
// libFuzzer targets for swift-clip's parsers of untrusted input. A separate package, so that the
// main package's `swift build` and `swift test` never build fuzzers; build and run one target
// with `scripts/fuzz/run TARGET SECONDS` (it adds -sanitize=fuzzer,address and -enable-testing,
// which `@testable import` needs to reach the internal parsers).
import PackageDescription

/// One executable per target: Sources/fuzz-NAME/Fuzz.swift.
let fuzzers = [
    "safetensors", "pickle", "zip", "torch", "png", "jpeg", "gif", "webp", "tokenizer", "csv", "tar",
]

let package = Package(
    name: "swift-clip-fuzz",
    platforms: [.macOS(.v14)],
    dependencies: [.package(name: "swift-clip", path: "..")],
    targets: [
        .target(name: "FuzzSupport", dependencies: [.product(name: "CLIP", package: "swift-clip")])
    ]
        + fuzzers.map { fuzzer in
            // The library modules are reached through the umbrella product (the only library
            // product); `import CLIPWeights` etc. then finds their modules in the build folder.
            .executableTarget(
                name: "fuzz-\(fuzzer)",
                dependencies: ["FuzzSupport", .product(name: "CLIP", package: "swift-clip")],
                // libFuzzer supplies main(); the target only defines LLVMFuzzerTestOneInput.
                swiftSettings: [.unsafeFlags(["-parse-as-library"])]
            )
        },
    swiftLanguageModes: [.v6]
)
