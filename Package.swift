// swift-tools-version: 6.0
// swift-clip: OpenAI's CLIP in Swift. Targets follow the architecture:
// tensor engine -> tokenizer / images / weights -> models -> command-line tool.
import PackageDescription

let package = Package(
    name: "swift-clip",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "CLIP", targets: ["CLIP"]),
        .executable(name: "clip", targets: ["clip"]),
        .executable(name: "clip-bench", targets: ["clip-bench"]),
        // Photo search on SQLite: its own products, so `clip` (and `clip demo`) never waits for GRDB to build.
        .library(name: "CLIPIndex", targets: ["CLIPIndex"]),
        .executable(name: "clip-index", targets: ["clip-index"]),
        // `clip serve`: the HTTP stack lives in its own product so `swift run clip` stays quick to build.
        .executable(name: "clip-server", targets: ["clip-server"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        // `swift package generate-documentation --target CLIP`; builds compile its two plugin scripts, link nothing.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
        // Embedding server (`clip-server`, CLIPServer): only these targets depend on them.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // C interop shims: no public API.
        .target(
            name: "CBLAS",
            linkerSettings: [
                .linkedLibrary("openblas", .when(platforms: [.linux])),
                .linkedFramework("Accelerate", .when(platforms: [.macOS])),
            ]
        ),
        .target(
            name: "CZlib",
            linkerSettings: [.linkedLibrary("z")]
        ),
        .target(name: "CBenchSupport"),
        .target(name: "CTensorKernels"),
        // Open MPI through dlopen: nothing to link, and a no-op where libmpi is absent.
        .target(name: "CMPI", linkerSettings: [.linkedLibrary("dl", .when(platforms: [.linux]))]),
        .target(
            name: "CImageCodecs",
            linkerSettings: [
                .linkedLibrary("jpeg"), .linkedLibrary("png16"),
                .linkedLibrary("webp"), .linkedLibrary("gif"),
            ]
        ),

        // Libraries.
        .target(name: "CLIPTensor", dependencies: ["CBLAS", "CTensorKernels"]),
        .target(name: "CLIPTextCleaning"),
        .target(
            name: "CLIPTokenizer",
            dependencies: ["CZlib", "CLIPTextCleaning"],
            resources: [.copy("Resources/bpe_simple_vocab_16e6.txt.gz")]
        ),
        .target(name: "CLIPImage", dependencies: ["CImageCodecs"]),
        .target(name: "CLIPOutput"),
        .target(name: "CLIPWeights", dependencies: ["CLIPOutput", "CZlib"]),
        .target(name: "CLIPModel", dependencies: ["CLIPTensor", "CLIPTokenizer", "CLIPImage", "CLIPWeights"]),
        .target(name: "CLIPEvaluation", dependencies: ["CLIPTensor", "CLIPImage", "CLIPModel"]),
        // Training reports (HTML + SVG) and plots (PNG): no model or training code, so a server can render them.
        .target(name: "CLIPReport", dependencies: ["CLIPOutput", "CLIPImage"]),
        .target(
            name: "CLIPTraining",
            dependencies: [
                "CLIPTensor", "CLIPTokenizer", "CLIPImage", "CLIPWeights", "CLIPModel", "CLIPEvaluation", "CLIPReport",
            ]),
        .target(name: "CLIPSynthetic", dependencies: ["CLIPTensor", "CLIPImage", "CLIPTraining"]),
        .target(name: "CLIPHub", dependencies: ["CLIPTensor", "CLIPModel", "CLIPWeights"]),
        .target(name: "CLIPDistributed", dependencies: ["CMPI", "CLIPTensor", "CLIPTraining"]),
        .target(
            name: "CLIPIndex",
            dependencies: [
                "CLIPTensor", "CLIPImage", "CLIPModel", "CLIPHub", .product(name: "GRDB", package: "GRDB.swift"),
            ]),
        .target(
            name: "CLIP",
            dependencies: [
                "CLIPOutput", "CLIPTensor", "CLIPTextCleaning", "CLIPTokenizer", "CLIPImage", "CLIPWeights",
                "CLIPModel", "CLIPEvaluation", "CLIPReport", "CLIPTraining", "CLIPSynthetic", "CLIPHub",
                "CLIPDistributed",
            ]),

        // Executables, and the command-line helpers clip and clip-index share (exit statuses,
        // error lines, global options, checked stdout; package access only).
        .target(
            name: "CLISupport",
            dependencies: ["CLIP", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(
            name: "clip",
            dependencies: ["CLIP", "CLISupport", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            resources: [.copy("Resources/demo")]
        ),
        .executableTarget(
            name: "clip-index",
            dependencies: [
                "CLIP", "CLIPIndex", "CLISupport", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "clip-bench",
            dependencies: [
                "CLIP", "CBLAS", "CBenchSupport", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // Embedding server: the app (CLIPServer, built by `buildApplication`) and its binary.
        .target(
            name: "CLIPServer",
            dependencies: [
                "CLIP", "CLIPIndex",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            // The search page (`clip serve --index`): plain HTML, JS and CSS, served as they are.
            resources: [.copy("Page")]),
        .executableTarget(
            name: "clip-server",
            dependencies: [
                "CLIPServer", "CLIPOutput", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        // Examples: the README's library sample, run by CLIPTests.
        .executableTarget(name: "getting-started", dependencies: ["CLIP"], path: "Examples/GettingStarted"),

        // Tests.
        .target(name: "CLIPTestSupport", dependencies: ["CLIPTensor"], path: "Sources/CLIPTestSupport"),
        .testTarget(name: "CLIPTensorTests", dependencies: ["CLIPTensor", "CLIPTestSupport"]),
        .testTarget(name: "CLIPOutputTests", dependencies: ["CLIPOutput"]),
        .testTarget(
            name: "CLIPReportTests", dependencies: ["CLIPReport", "CLIPImage"], resources: [.copy("Fixtures")]),
        .testTarget(name: "CLIPTextCleaningTests", dependencies: ["CLIPTextCleaning"], resources: [.copy("Fixtures")]),
        .testTarget(
            name: "CLIPTokenizerTests", dependencies: ["CLIPTokenizer", "CLIPTestSupport"],
            resources: [.copy("Fixtures")]),
        .testTarget(
            name: "CLIPImageTests", dependencies: ["CLIPImage", "CLIPTestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(
            name: "CLIPWeightsTests", dependencies: ["CLIPWeights", "CLIPTestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(
            name: "CLIPModelTests", dependencies: ["CLIPModel", "CLIPWeights", "CLIPTensor", "CLIPTestSupport"],
            resources: [.copy("Fixtures")]),
        .testTarget(
            name: "CLIPEvaluationTests",
            dependencies: ["CLIPEvaluation", "CLIPModel", "CLIPTensor", "CLIPImage", "CLIPTestSupport"],
            resources: [.copy("Fixtures")]),
        .testTarget(
            name: "CLIPTrainingTests",
            dependencies: [
                "CLIPTraining", "CLIPEvaluation", "CLIPSynthetic", "CLIPModel", "CLIPTensor", "CLIPWeights",
                "CLIPImage",
                "CLIPTestSupport",
            ],
            resources: [.copy("Fixtures")]),
        .testTarget(
            name: "CLIPHubTests",
            dependencies: ["CLIPHub", "CLIPModel", "CLIPWeights", "CLIPTensor", "CLIPTestSupport"]),
        .testTarget(name: "CLIPIndexTests", dependencies: ["CLIPIndex", "CLIPModel", "CLIPTestSupport"]),
        .testTarget(
            name: "CLIPDistributedTests",
            dependencies: ["CLIPDistributed", "CLIPTraining", "CLIPModel", "CLIPTensor", "CLIPWeights"]),
        .testTarget(name: "CLIPTests", dependencies: ["CLIP", "getting-started"]),
        .testTarget(
            name: "CLITests",
            dependencies: [
                "clip", "clip-index", "CLIP", "CLIPIndex", "CLIPTestSupport", "CLISupport",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]),
        .testTarget(
            name: "CLIPServerTests",
            dependencies: [
                "CLIPServer", "clip-server", "clip", "clip-index", "CLIP", "CLIPIndex", "CLIPTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
    ],
    swiftLanguageModes: [.v6]
)
