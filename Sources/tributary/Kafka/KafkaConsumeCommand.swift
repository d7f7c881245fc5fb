import ArgumentParser
import KafkaClient
import KafkaProtocol

/// `tributary kafka consume`: print the records of a topic, one per line, like `kcat -C`.
struct KafkaConsumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consume",
        abstract: "Print the records of a topic, one per line.",
        discussion: """
            Without --group, reads every partition of the topic (or --partition) from --from. With --group, \
            joins the consumer group (partitions shared with its other members), starts where the group \
            committed (--from beginning|end only when nothing is committed; an OFFSET seeks every \
            assigned partition) and commits the offsets of what it printed.
            """
    )

    /// Where reading starts.
    enum StartPosition: ExpressibleByArgument, Equatable {
        case beginning
        case end
        case offset(Int64)

        init?(argument: String) {
            switch argument {
            case "beginning": self = .beginning
            case "end": self = .end
            default:
                guard let offset = Int64(argument), offset >= 0 else { return nil }
                self = .offset(offset)
            }
        }
    }

    @OptionGroup var connection: KafkaConnectionOptions

    @Option(help: "The topic to read.")
    var topic: String

    @Option(help: "Join this consumer group, start at its committed offsets and commit what is printed.")
    var group: String?

    @Option(help: ArgumentHelp("Where to start: beginning, end or an offset.", valueName: "beginning|end|OFFSET"))
    var from: StartPosition = .beginning

    @Option(help: "Read only this partition (no group assignment).")
    var partition: Int32?

    @Flag(help: "Exit once every assigned partition reached its high watermark.")
    var exitAtEnd = false

    @Option(help: "Exit after printing this many records.")
    var count: Int?

    @Option(help: ArgumentHelp("Output: value (raw bytes and a newline) or json (one object per line).", valueName: "value|json"))
    var format: String = "value"

    @Option(help: ArgumentHelp("Group assignor: range or roundrobin.", valueName: "range|roundrobin"))
    var assignor: String = "range"

    func validate() throws {
        guard KafkaConsumeRecordFormat(rawValue: format) != nil else {
            throw ValidationError("--format must be value or json, got '\(format)'")
        }
        guard ["range", "roundrobin"].contains(assignor) else {
            throw ValidationError("--assignor must be range or roundrobin, got '\(assignor)'")
        }
        if let count, count < 0 { throw ValidationError("--count must not be negative") }
        if let partition, partition < 0 { throw ValidationError("--partition must not be negative") }
    }

    func run() async throws {
        let clientConfiguration = try connection.clientConfiguration()
        var configuration = KafkaConsumerConfiguration(groupID: group)
        configuration.autoOffsetReset = from == .end ? .latest : .earliest
        configuration.reportsEndOfPartition = exitAtEnd
        configuration.assignors = assignor == "roundrobin" ? [RoundRobinAssignor()] : [RangeAssignor()]

        let cluster = KafkaCluster(configuration: clientConfiguration)
        let consumer: KafkaConsumer
        if group != nil && partition == nil {
            consumer = KafkaConsumer(subscribing: [topic], cluster: cluster, configuration: configuration)
        } else {
            consumer = KafkaConsumer(
                assigning: try await partitionsToRead(cluster: cluster), cluster: cluster, configuration: configuration)
        }
        var session = ConsumeSession(
            consumer: consumer, format: KafkaConsumeRecordFormat(rawValue: format) ?? .value, start: from,
            limit: count, exitAtEnd: exitAtEnd, commits: group != nil)
        do {
            try await session.run()
            await consumer.close()
            await cluster.shutdown()
        } catch {
            await consumer.close()
            await cluster.shutdown()
            throw error
        }
    }

    /// `--partition`, or every partition of the topic.
    private func partitionsToRead(cluster: KafkaCluster) async throws -> [TopicPartition] {
        let metadata = try await cluster.metadata(topics: [topic])
        guard let topicMetadata = metadata.topics[topic], topicMetadata.error == nil, !topicMetadata.partitions.isEmpty else {
            let reason = metadata.topics[topic]?.error.map { "\($0)" } ?? "not in the metadata"
            throw ValidationError("topic '\(topic)': \(reason)")
        }
        if let partition {
            guard topicMetadata.partitions.contains(where: { $0.id == partition }) else {
                throw ValidationError("topic '\(topic)' has no partition \(partition) (it has \(topicMetadata.partitions.count))")
            }
            return [TopicPartition(topic: topic, partition: partition)]
        }
        return topicMetadata.partitions.map { TopicPartition(topic: topic, partition: $0.id) }
    }
}

/// The consume loop: prints records, commits what was printed, decides when to stop.
private struct ConsumeSession {
    let consumer: KafkaConsumer
    let format: KafkaConsumeRecordFormat
    let start: KafkaConsumeCommand.StartPosition
    let limit: Int?
    let exitAtEnd: Bool
    let commits: Bool

    private let output = FileDescriptorWriter(fd: 1, name: "standard output")
    private var printed = 0
    private var assigned: Set<TopicPartition> = []
    private var atEnd: Set<TopicPartition> = []
    private var seen: Set<TopicPartition> = []
    private var jsonPrefixes: [TopicPartition: [UInt8]] = [:]
    private var line: [UInt8] = []

    init(
        consumer: KafkaConsumer, format: KafkaConsumeRecordFormat, start: KafkaConsumeCommand.StartPosition,
        limit: Int?, exitAtEnd: Bool, commits: Bool
    ) {
        self.consumer = consumer
        self.format = format
        self.start = start
        self.limit = limit
        self.exitAtEnd = exitAtEnd
        self.commits = commits
    }

    mutating func run() async throws {
        if limit == 0 { return }
        for try await event in consumer.events {
            switch event {
            case .assigned(let partitions):
                assigned = Set(partitions)
                atEnd = []
                if case .offset(let offset) = start {
                    for partition in partitions where seen.insert(partition).inserted {
                        try await consumer.seek(topic: partition.topic, partition: partition.partition, offset: offset)
                    }
                }
            case .revoked:
                assigned = []
                atEnd = []
            case .reachedEnd(let partition, _):
                atEnd.insert(partition)
            case .batches(let fetched):
                atEnd.remove(fetched.topicPartition)
                let next = try printRecords(of: fetched)
                try output.flush()
                if output.brokenPipe { return }
                if commits, let next { try await consumer.commit([fetched.topicPartition: next]) }
            }
            if let limit, printed >= limit { break }
            if exitAtEnd, !assigned.isEmpty, atEnd.isSuperset(of: assigned) { break }
        }
        try output.flush()
    }

    /// Prints the records of `fetched` (up to the limit); returns the offset after the last printed.
    private mutating func printRecords(of fetched: KafkaFetchedBatches) throws -> Int64? {
        let partition = fetched.topicPartition
        let prefix: [UInt8]
        if format == .json {
            if let cached = jsonPrefixes[partition] {
                prefix = cached
            } else {
                prefix = KafkaConsumeRecordFormat.jsonPrefix(for: partition)
                jsonPrefixes[partition] = prefix
            }
        } else {
            prefix = []
        }
        var next: Int64?
        var line = self.line
        var printed = self.printed
        let limit = self.limit ?? .max
        let format = self.format
        let output = self.output
        defer {
            self.line = line
            self.printed = printed
        }
        try fetched.forEachRecord { record in
            line.removeAll(keepingCapacity: true)
            format.append(record, jsonPrefix: prefix, to: &line)
            try line.withUnsafeBytes { try output.write($0) }
            printed += 1
            next = record.offset + 1
            return printed < limit
        }
        // Everything of the fetch was printed: commit past its control batches and gaps too.
        if printed < limit { next = fetched.nextOffset }
        return next
    }
}
