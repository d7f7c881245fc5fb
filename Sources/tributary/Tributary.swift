import ArgumentParser

@main
struct Tributary: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tributary",
        abstract: "Ship logs through Kafka and search them.",
        version: "0.1.0",
        subcommands: [BatchCommand.self, BrokerCommand.self, KafkaCommand.self]
    )
}
