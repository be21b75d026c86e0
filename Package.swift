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
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // `swift package generate-documentation --target CLIP`; builds compile its two plugin scripts, link nothing.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
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
        .target(name: "CLIPWeights"),
        .target(name: "CLIPModel", dependencies: ["CLIPTensor", "CLIPTokenizer", "CLIPImage", "CLIPWeights"]),
        .target(name: "CLIPEvaluation", dependencies: ["CLIPTensor", "CLIPImage", "CLIPModel"]),
        .target(
            name: "CLIPTraining",
            dependencies: ["CLIPTensor", "CLIPTokenizer", "CLIPImage", "CLIPWeights", "CLIPModel", "CLIPEvaluation"]),
        .target(name: "CLIPSynthetic", dependencies: ["CLIPTensor", "CLIPImage", "CLIPTraining"]),
        .target(name: "CLIPHub", dependencies: ["CLIPTensor", "CLIPModel", "CLIPWeights"]),
        .target(name: "CLIPDistributed", dependencies: ["CMPI", "CLIPTensor", "CLIPTraining"]),
        .target(
            name: "CLIP",
            dependencies: [
                "CLIPTensor", "CLIPTextCleaning", "CLIPTokenizer", "CLIPImage", "CLIPWeights", "CLIPModel",
                "CLIPEvaluation", "CLIPTraining", "CLIPSynthetic", "CLIPHub", "CLIPDistributed",
            ]),

        // Executables.
        .executableTarget(
            name: "clip",
            dependencies: ["CLIP", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            resources: [.copy("Resources/demo")]
        ),
        .executableTarget(
            name: "clip-bench",
            dependencies: [
                "CLIP", "CBLAS", "CBenchSupport", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // Examples: the README's library sample, run by CLIPTests.
        .executableTarget(name: "getting-started", dependencies: ["CLIP"], path: "Examples/GettingStarted"),

        // Tests.
        .target(name: "CLIPTestSupport", dependencies: ["CLIPTensor"], path: "Sources/CLIPTestSupport"),
        .testTarget(name: "CLIPTensorTests", dependencies: ["CLIPTensor", "CLIPTestSupport"]),
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
        .testTarget(
            name: "CLIPDistributedTests",
            dependencies: ["CLIPDistributed", "CLIPTraining", "CLIPModel", "CLIPTensor", "CLIPWeights"]),
        .testTarget(name: "CLIPTests", dependencies: ["CLIP", "getting-started"]),
        .testTarget(name: "CLITests", dependencies: ["clip", "CLIP", "CLIPTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
