// swift-tools-version:6.1
import PackageDescription

// Hot Swift code needs a target CPU, or fused multiply-adds and Float16 conversions
// become library calls (../shared/design/kernels.md). x86-64-v3 (AVX2/FMA/F16C) keeps
// the binary portable to every x86 machine of the last decade; AVX-512 paths live in
// the C kernels behind runtime dispatch.
#if arch(x86_64)
let hotSwiftSettings: [SwiftSetting] = [.unsafeFlags(["-Xcc", "-march=x86-64-v3"])]
#else
let hotSwiftSettings: [SwiftSetting] = []
#endif

let package = Package(
    name: "Forge",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "forge", targets: ["forge"]),
        .library(name: "ForgeGGUF", targets: ["ForgeGGUF"]),
        .library(name: "ForgeJinja", targets: ["ForgeJinja"]),
        .library(name: "ForgeTokenizer", targets: ["ForgeTokenizer"]),
        .library(name: "ForgeModel", targets: ["ForgeModel"]),
        .library(name: "ForgeGeneration", targets: ["ForgeGeneration"]),
        .library(name: "ForgeGrammar", targets: ["ForgeGrammar"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-atomics", from: "1.3.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    ],
    targets: [
        // File format: GGUF reading (memory-mapped, validated) and writing.
        .target(name: "ForgeGGUF"),
        // Jinja2 subset for chat templates (ordered dicts from swift-collections).
        .target(name: "ForgeJinja", dependencies: [.product(name: "OrderedCollections", package: "swift-collections")]),
        // Tokenizers (byte-level BPE, SentencePiece) and chat-template rendering.
        .target(name: "ForgeTokenizer", dependencies: ["ForgeGGUF", "ForgeJinja"]),
        // SIMD kernels: quantized dot products and row loops (see kernels.md for why C).
        .target(
            name: "CForgeKernels",
            cSettings: [.unsafeFlags(["-O3"])]
        ),
        // Tensor kernels: dequantization, matrix products, thread pool.
        .target(
            name: "ForgeKernels",
            dependencies: ["ForgeGGUF", "CForgeKernels", .product(name: "Atomics", package: "swift-atomics")],
            swiftSettings: hotSwiftSettings
        ),
        // Vulkan host layer in C: loads libvulkan.so.1 at run time and compiles to a stub that says
        // what to install when the Vulkan headers are absent; SPIR-V committed in spirv.c.
        .target(
            name: "CForgeVulkan",
            exclude: ["shaders"],
            linkerSettings: [.linkedLibrary("dl", .when(platforms: [.linux]))]
        ),
        // Vulkan compute backend: devices, buffers, the forward pass's operations as shaders.
        .target(name: "ForgeVulkan", dependencies: ["CForgeVulkan", "ForgeGGUF", "ForgeKernels"]),
        // Architectures, forward pass, KV cache.
        .target(
            name: "ForgeModel",
            dependencies: ["ForgeGGUF", "ForgeKernels", "ForgeVulkan"],
            swiftSettings: hotSwiftSettings
        ),
        // Grammars (GBNF, JSON Schema) and the matcher that masks tokens for constrained decoding.
        .target(name: "ForgeGrammar", swiftSettings: hotSwiftSettings),
        // Sampling and generation sessions: the Swift API the CLI and server use.
        .target(
            name: "ForgeGeneration",
            dependencies: [
                "ForgeGGUF", "ForgeModel", "ForgeTokenizer", "ForgeJinja", "ForgeKernels", "ForgeGrammar",
                .product(name: "Atomics", package: "swift-atomics"),
            ],
            swiftSettings: hotSwiftSettings
        ),
        // OpenAI-compatible HTTP server with continuous batching over parallel KV-cache slots.
        .target(
            name: "ForgeServer",
            dependencies: [
                "ForgeGeneration", "ForgeModel", "ForgeTokenizer", "ForgeJinja", "ForgeKernels", "ForgeGrammar",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Atomics", package: "swift-atomics"),
            ]
        ),
        // Training small llama-architecture models from scratch and exporting them to GGUF.
        .target(
            name: "ForgeTraining",
            dependencies: ["ForgeGGUF", "ForgeTokenizer", "ForgeKernels"],
            swiftSettings: hotSwiftSettings
        ),
        // The model cache and downloads (`forge pull`).
        .target(
            name: "ForgeHub",
            dependencies: [
                "ForgeGGUF",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        // Command-line interface; a library so tests can run command lines in-process.
        .target(
            name: "ForgeCLI",
            dependencies: [
                "ForgeGGUF", "ForgeJinja", "ForgeTokenizer", "ForgeKernels", "ForgeModel", "ForgeGeneration", "ForgeGrammar", "ForgeHub", "ForgeTraining", "ForgeServer",
                "ForgeVulkan",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(name: "forge", dependencies: ["ForgeCLI"]),
        // libFuzzer harness for the GGUF reader; scripts/fuzz-gguf builds and runs it.
        .executableTarget(name: "ForgeGGUFFuzz", dependencies: ["ForgeGGUF"], exclude: ["make-seeds.py"]),

        .testTarget(name: "ForgeGGUFTests", dependencies: ["ForgeGGUF", "ForgeKernels", "ForgeTestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "ForgeJinjaTests", dependencies: ["ForgeJinja", "ForgeKernels"], resources: [.copy("Fixtures")]),
        .testTarget(name: "ForgeTokenizerTests", dependencies: ["ForgeTokenizer", "ForgeGGUF", "ForgeJinja", "ForgeKernels", "ForgeTestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "ForgeKernelsTests", dependencies: ["ForgeKernels", "CForgeKernels", "ForgeGGUF", "ForgeTestSupport", .product(name: "Atomics", package: "swift-atomics")], resources: [.copy("Fixtures")]),
        .testTarget(name: "ForgeModelTests", dependencies: ["ForgeModel", "ForgeGeneration", "ForgeGGUF", "ForgeKernels", "ForgeTokenizer", "ForgeTestSupport", .product(name: "Crypto", package: "swift-crypto")], resources: [.copy("Fixtures")]),
        .testTarget(name: "ForgeVulkanTests", dependencies: ["ForgeVulkan", "ForgeKernels", "ForgeGGUF", "ForgeModel", "ForgeGeneration", "ForgeTokenizer", "ForgeTestSupport"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "ForgeHubTests", dependencies: ["ForgeHub", "ForgeGGUF", .product(name: "Crypto", package: "swift-crypto"), .product(name: "Hummingbird", package: "hummingbird"), .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "ForgeTrainingTests", dependencies: ["ForgeTraining", "ForgeGGUF", "ForgeCLI", "ForgeModel", "ForgeKernels", "ForgeTokenizer", "ForgeGeneration", "ForgeTestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(
            name: "ForgeServerTests",
            dependencies: [
                "ForgeServer", "ForgeGeneration", "ForgeGGUF", "ForgeJinja", "ForgeTokenizer", "ForgeTraining", "ForgeTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(name: "ForgeCLITests", dependencies: [
            "ForgeCLI", "ForgeGGUF", "ForgeHub", "ForgeGeneration", "ForgeGrammar", "ForgeTraining", "ForgeKernels", "ForgeTestSupport",
            "ForgeModel", "ForgeVulkan",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "ForgeGenerationTests", dependencies: ["ForgeGeneration", "ForgeGrammar", "ForgeKernels", "ForgeTestSupport", "ForgeTokenizer", "ForgeJinja"]),
        .testTarget(name: "ForgeGrammarTests", dependencies: ["ForgeGrammar"]),
        // Test helpers more than one test target uses (tiny model files, the real-model locator).
        .target(name: "ForgeTestSupport", dependencies: ["ForgeTraining", "ForgeKernels", "ForgeGGUF"], path: "Tests/ForgeTestSupport"),
    ],
    swiftLanguageModes: [.v6]
)
