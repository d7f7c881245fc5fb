// swift-tools-version:6.0
import PackageDescription

/// Settings every Swift target shares.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "Tributary",
    products: [
        .library(name: "Compression", targets: ["Compression"]),
        .library(name: "KafkaProtocol", targets: ["KafkaProtocol"]),
        .executable(name: "tributary", targets: ["tributary"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        // System libraries from Debian's -dev packages (module maps only).
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CLZ4", pkgConfig: "liblz4", providers: [.apt(["liblz4-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CSnappy", providers: [.apt(["libsnappy-dev"])]),

        // CRC-32C (Castagnoli): SSE4.2 / ARMv8 CRC instructions with a slicing-by-8 fallback.
        .target(name: "CCRC32C", exclude: ["gen-crc32c-tables.py"]),

        // Codecs over the C libraries.
        .target(
            name: "Compression",
            dependencies: [
                "CZlib", "CLZ4", "CZstd", "CSnappy",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Kafka wire types, record batches, requests and responses; no I/O.
        .target(
            name: "KafkaProtocol",
            dependencies: [
                "Compression",
                "CCRC32C",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The embedded single-node broker: partition logs, groups, the network server.
        .target(
            name: "KafkaBroker",
            dependencies: [
                "KafkaProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The systemd journal through libsystemd's sd_journal API, loaded at run time with dlopen (no link dependency).
        .target(
            name: "SystemdJournal",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Fixtures, temp dirs and process helpers for tests; never used by executables.
        .target(
            name: "TributaryTestSupport",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        // The `tributary` command: flags and wiring only.
        .executableTarget(
            name: "tributary",
            dependencies: [
                "KafkaProtocol",
                "KafkaBroker",
                "Compression",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),

        .testTarget(
            name: "CompressionTests",
            dependencies: ["Compression", "TributaryTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "KafkaProtocolTests",
            dependencies: [
                "KafkaProtocol", "Compression", "TributaryTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "KafkaBrokerTests",
            dependencies: [
                "KafkaBroker", "KafkaProtocol", "TributaryTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SystemdJournalTests",
            dependencies: [
                "SystemdJournal", "TributaryTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TributaryCLITests",
            dependencies: ["TributaryTestSupport"],
            swiftSettings: swiftSettings
        ),
    ]
)
