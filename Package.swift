// swift-tools-version:6.0
import PackageDescription

/// Settings every Swift target shares.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("MemberImportVisibility"),
]

/// Settings of the targets on the per-record hot paths (codecs, record batches, producer, agent): release builds
/// skip the run-time exclusivity checks (every stored-property access of a class in a per-line loop otherwise
/// costs a `swift_beginAccess`; measured ~10 % of the agent's read loop). Debug builds and tests keep them.
let hotPathSwiftSettings: [SwiftSetting] = swiftSettings + [
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

let package = Package(
    name: "Tributary",
    products: [
        .library(name: "Compression", targets: ["Compression"]),
        .library(name: "KafkaProtocol", targets: ["KafkaProtocol"]),
        .library(name: "KafkaClient", targets: ["KafkaClient"]),
        .executable(name: "tributary", targets: ["tributary"]),
        .executable(name: "tributary-agent", targets: ["tributary-agent"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    ],
    targets: [
        // System libraries from Debian's -dev packages (module maps only).
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CLZ4", pkgConfig: "liblz4", providers: [.apt(["liblz4-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CSnappy", providers: [.apt(["libsnappy-dev"])]),

        // CRC-32C (Castagnoli): SSE4.2 / ARMv8 CRC instructions with a slicing-by-8 fallback.
        .target(name: "CCRC32C", exclude: ["gen-crc32c-tables.py"]),
        // A software prefetch hint for the record loop (header-only; Swift has no prefetch intrinsic).
        .target(name: "CPrefetch"),

        // Codecs over the C libraries.
        .target(
            name: "Compression",
            dependencies: [
                "CZlib", "CLZ4", "CZstd", "CSnappy",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: hotPathSwiftSettings
        ),
        // Kafka wire types, record batches, requests and responses; no I/O.
        .target(
            name: "KafkaProtocol",
            dependencies: [
                "Compression",
                "CCRC32C",
                "CPrefetch",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: hotPathSwiftSettings
        ),
        // SASL (PLAIN, SCRAM-SHA-256/512) mechanics and TLS context builders, shared by broker and client.
        .target(
            name: "KafkaSecurity",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        // The embedded single-node broker: partition logs, groups, the network server.
        .target(
            name: "KafkaBroker",
            dependencies: [
                "KafkaProtocol",
                "KafkaSecurity",
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Kafka client over SwiftNIO: connections, metadata, admin, producer, consumer.
        .target(
            name: "KafkaClient",
            dependencies: [
                "KafkaProtocol",
                "Compression",
                "KafkaSecurity",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: hotPathSwiftSettings
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
                "KafkaClient",
                "KafkaSecurity",
                "Compression",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),

        // tributary-agent: config, file tailing, positions (issue 5).
        .systemLibrary(name: "CPCRE2", pkgConfig: "libpcre2-8", providers: [.apt(["libpcre2-dev"])]),
        .systemLibrary(name: "CAgentSystem"),
        .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
        .target(
            name: "Agent",
            dependencies: [
                "CPCRE2",
                "CAgentSystem",
                "CYAML",
                "KafkaProtocol",
                "KafkaClient",
                "KafkaSecurity",
                "SystemdJournal",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: hotPathSwiftSettings
        ),
        .executableTarget(
            name: "tributary-agent",
            dependencies: [
                "Agent",
                "CAgentSystem",
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["tributary-agent.order"],
            swiftSettings: swiftSettings,
            // Idle RSS (docs/PERFORMANCE.md, issue 5): the Swift runtime linked in (only the pages used are touched,
            // not every relocated page of libswiftCore & co.); no exported dynamic symbols (-static-stdlib adds
            // --export-dynamic: 1.4 MB of .dynstr/.dynsym the loader reads); lld with packed relative
            // relocations (DT_RELR, glibc >= 2.36: 10 KB instead of 1.1 MB of .rela.dyn); the functions run at
            // start and while tailing placed together (tributary-agent.order, made by
            // Benchmarks/agent-symbol-order.sh), so they fault in few 64 KB windows of the binary.
            linkerSettings: [
                .unsafeFlags([
                    "-static-stdlib", "-use-ld=lld", "-Xlinker", "--no-export-dynamic",
                    "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs",
                    "-Xlinker", "--symbol-ordering-file=\(Context.packageDirectory)/Sources/tributary-agent/tributary-agent.order",
                    "-Xlinker", "--no-warn-symbol-ordering",
                ])
            ]
        ),
        .testTarget(
            name: "AgentTests",
            dependencies: [
                "Agent", "KafkaProtocol", "SystemdJournal", "TributaryTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
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
                "KafkaBroker", "KafkaProtocol", "KafkaSecurity", "TributaryTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "KafkaClientTests",
            dependencies: [
                "KafkaClient", "KafkaBroker", "KafkaProtocol", "KafkaSecurity", "TributaryTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "KafkaSecurityTests",
            dependencies: [
                "KafkaSecurity", "TributaryTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
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
