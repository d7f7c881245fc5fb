import ArgumentParser

/// `tributary kafka`: talk to any Kafka-compatible broker (topics, produce, consume).
struct KafkaCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kafka",
        abstract: "Administer topics on, produce to and consume from any Kafka-compatible broker.",
        subcommands: [KafkaTopicsCommand.self, KafkaProduceCommand.self, KafkaConsumeCommand.self]
    )
}
