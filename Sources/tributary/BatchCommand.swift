import ArgumentParser
import Compression
import KafkaProtocol

/// `tributary batch …`: write and inspect files of Kafka record batches.
struct BatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batch",
        abstract: "Write and inspect files of Kafka v2 record batches.",
        subcommands: [EncodeBatches.self, DumpBatches.self]
    )
}

extension KafkaCompression: ExpressibleByArgument {
    public init?(argument: String) {
        guard let value = Self.allCases.first(where: { "\($0)" == argument }) else { return nil }
        self = value
    }

    public static var allValueStrings: [String] { allCases.map { "\($0)" } }
}
