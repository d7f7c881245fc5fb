import ArgumentParser
import KafkaClient
import KafkaProtocol

/// `tributary kafka topics`: list, describe, create, delete and alter topics, with output in the
/// shape `kafka-topics.sh` and `kafka-configs.sh` print.
struct KafkaTopicsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topics",
        abstract: "List, describe, create, delete and alter topics.",
        subcommands: [List.self, Describe.self, Create.self, Delete.self, Alter.self]
    )

    /// `topics list`: one topic name per line, sorted.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the name of every topic, one per line.")

        @OptionGroup var connection: KafkaConnectionOptions

        @Flag(help: "Include internal topics such as __consumer_offsets.")
        var includeInternal: Bool = false

        func run() async throws {
            let names = try await connection.withCluster { cluster in
                try await KafkaAdmin(cluster: cluster).listTopics(includeInternal: includeInternal)
            }
            for name in names { print(name) }
        }
    }

    /// `topics describe [T...]`: partitions, leaders and config overrides.
    struct Describe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Describe topics (all when none is named): partitions, leaders, replicas, config overrides.")

        @OptionGroup var connection: KafkaConnectionOptions

        @Argument(help: "Topics to describe.")
        var topics: [String] = []

        func run() async throws {
            let lines = try await connection.withCluster { cluster in
                let admin = KafkaAdmin(cluster: cluster)
                let names = topics.isEmpty ? try await admin.listTopics() : topics
                var lines: [String] = []
                for name in names {
                    let topic = try await admin.describeTopic(name)
                    let overrides = try await admin.describeTopicConfigEntries(name).filter(\.isOverride)
                    lines += Self.describe(topic, overrides: overrides)
                }
                return lines
            }
            for line in lines { print(line) }
        }

        /// `kafka-topics.sh --describe` lines for `topic`.
        static func describe(_ topic: KafkaTopicMetadata, overrides: [KafkaConfigEntry]) -> [String] {
            let configs = overrides.map { "\($0.name)=\($0.value ?? "")" }.joined(separator: ",")
            let replication = topic.partitions.first?.replicas.count ?? 0
            var lines = [
                "Topic: \(topic.name)\tPartitionCount: \(topic.partitions.count)\tReplicationFactor: \(replication)\tConfigs: \(configs)"
            ]
            for partition in topic.partitions {
                let replicas = partition.replicas.map(String.init).joined(separator: ",")
                let isr = partition.isr.map(String.init).joined(separator: ",")
                lines.append(
                    "\tTopic: \(topic.name)\tPartition: \(partition.id)\tLeader: \(partition.leader < 0 ? "none" : String(partition.leader))"
                        + "\tReplicas: \(replicas)\tIsr: \(isr)")
            }
            return lines
        }
    }

    /// `topics create T --partitions N [--replication-factor R] [--config k=v ...]`.
    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a topic.")

        @OptionGroup var connection: KafkaConnectionOptions

        @Argument(help: "The topic's name.")
        var topic: String

        @Option(help: "Number of partitions (default: the broker's num.partitions).")
        var partitions: Int32?

        @Option(help: "Replication factor (default: the broker's default.replication.factor).")
        var replicationFactor: Int16?

        @Option(help: ArgumentHelp("A topic config override; repeatable.", valueName: "KEY=VALUE"))
        var config: [String] = []

        @Flag(help: "Succeed without changes if the topic already exists.")
        var ifNotExists: Bool = false

        func validate() throws {
            if let partitions, partitions < 1 { throw ValidationError("--partitions must be at least 1") }
            if let replicationFactor, replicationFactor < 1 { throw ValidationError("--replication-factor must be at least 1") }
            _ = try KafkaTopicsCommand.parseConfigs(config)
        }

        func run() async throws {
            let configs = try KafkaTopicsCommand.parseConfigs(config)
            let created = try await connection.withCluster { cluster in
                do {
                    try await KafkaAdmin(cluster: cluster).createTopic(
                        name: topic, partitions: partitions ?? -1, replicationFactor: replicationFactor ?? -1,
                        configs: configs)
                    return true
                } catch let error as KafkaClientError where ifNotExists && error.kind == .broker(.topicAlreadyExists) {
                    return false
                }
            }
            if created { print("Created topic \(topic).") }
        }
    }

    /// `topics delete T`.
    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a topic and its data.")

        @OptionGroup var connection: KafkaConnectionOptions

        @Argument(help: "The topic to delete.")
        var topic: String

        @Flag(help: "Succeed without changes if the topic does not exist.")
        var ifExists: Bool = false

        func run() async throws {
            let deleted = try await connection.withCluster { cluster in
                do {
                    try await KafkaAdmin(cluster: cluster).deleteTopic(topic)
                    return true
                } catch let error as KafkaClientError where ifExists && error.kind == .broker(.unknownTopicOrPartition) {
                    return false
                }
            }
            if deleted { print("Deleted topic \(topic).") }
        }
    }

    /// `topics alter T --config k=v ... [--delete-config k ...]`.
    struct Alter: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set or remove config overrides of a topic (retention.ms, retention.bytes, ...); others are kept.")

        @OptionGroup var connection: KafkaConnectionOptions

        @Argument(help: "The topic to change.")
        var topic: String

        @Option(help: ArgumentHelp("A config override to set; repeatable.", valueName: "KEY=VALUE"))
        var config: [String] = []

        @Option(help: ArgumentHelp("A config override to remove (back to the default); repeatable.", valueName: "KEY"))
        var deleteConfig: [String] = []

        func validate() throws {
            guard !config.isEmpty || !deleteConfig.isEmpty else {
                throw ValidationError("nothing to change: give --config KEY=VALUE or --delete-config KEY")
            }
            _ = try KafkaTopicsCommand.parseConfigs(config)
        }

        func run() async throws {
            let configs = try KafkaTopicsCommand.parseConfigs(config)
            try await connection.withCluster { cluster in
                try await KafkaAdmin(cluster: cluster).alterTopicConfig(topic, set: configs, remove: deleteConfig)
            }
            print("Completed updating config for topic \(topic).")
        }
    }

    /// `KEY=VALUE` strings as a dictionary (split at the first `=`).
    static func parseConfigs(_ pairs: [String]) throws -> [String: String] {
        var configs: [String: String] = [:]
        for pair in pairs {
            guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                throw ValidationError("--config must be KEY=VALUE, got '\(pair)'")
            }
            configs[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
        }
        return configs
    }
}
