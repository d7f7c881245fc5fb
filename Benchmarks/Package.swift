// swift-tools-version:6.0
import PackageDescription

// Benchmarks live in their own package (as swift-nio's do), so the root package's manifest
// and CI stay free of them. Build release: `swift build -c release --package-path Benchmarks`.
let package = Package(
    name: "TributaryBenchmarks",
    dependencies: [
        // Named, so the products resolve whatever the checkout's directory is called.
        .package(name: "Tributary", path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        // The bare C library calls the codec benchmark compares against (the physical limit).
        .target(
            name: "CBare",
            linkerSettings: [
                .linkedLibrary("lz4"), .linkedLibrary("zstd"), .linkedLibrary("z"), .linkedLibrary("snappy"),
            ]
        ),
        // Record batch encode/decode per codec vs the bare library calls.
        .executableTarget(
            name: "codec-bench",
            dependencies: [
                "CBare",
                .product(name: "Compression", package: "Tributary"),
                .product(name: "KafkaProtocol", package: "Tributary"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: [.enableUpcomingFeature("MemberImportVisibility")]
        ),
    ]
)
