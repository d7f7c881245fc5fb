public import NIOCore
import KafkaProtocol

/// What a consumer tells its group in JoinGroup (the `metadata` of each protocol it offers): the
/// topics it subscribes to and, from v1, the partitions it owns.
///
/// The layout is Apache Kafka's `ConsumerProtocolSubscription.json` (versions 0-3, never flexible),
/// preceded by an int16 version as `ConsumerProtocol.serializeSubscription` writes it:
/// `topics: [string]`, `userData: nullable bytes`, v1+ `ownedPartitions: [topic, [int32]]`,
/// v2+ `generationId: int32` (default -1), v3+ `rackId: nullable string`.
public struct ConsumerProtocolSubscription: Hashable, Sendable {
    /// The highest version this implementation writes and reads in full.
    public static let highestVersion: Int16 = 3

    /// Subscribed topics, in the member's order.
    public var topics: [String]
    /// Assignor-specific data; `nil` is written as a null bytes field.
    public var userData: ByteBuffer?
    /// Partitions the member owned in its last generation (v1+).
    public var ownedPartitions: [ConsumerProtocolTopicPartitions]
    /// The generation the owned partitions belong to, or -1 (v2+).
    public var generationID: Int32
    /// The member's rack (v3+).
    public var rackID: String?

    /// Creates a subscription.
    public init(
        topics: [String],
        userData: ByteBuffer? = nil,
        ownedPartitions: [ConsumerProtocolTopicPartitions] = [],
        generationID: Int32 = -1,
        rackID: String? = nil
    ) {
        self.topics = topics
        self.userData = userData
        self.ownedPartitions = ownedPartitions
        self.generationID = generationID
        self.rackID = rackID
    }

    /// The bytes for JoinGroup: int16 `version`, then the fields that version carries.
    ///
    /// - Precondition: `version` is in 0...3 (a programming error otherwise, not input).
    public func encoded(version: Int16 = ConsumerProtocolSubscription.highestVersion) -> ByteBuffer {
        precondition((0...Self.highestVersion).contains(version), "subscription version \(version) is not 0...3")
        var buffer = ByteBuffer()
        buffer.writeInteger(version)
        buffer.writeInteger(Int32(topics.count))
        for topic in topics { buffer.writeConsumerProtocolString(topic) }
        buffer.writeConsumerProtocolNullableBytes(userData)
        if version >= 1 { buffer.writeConsumerProtocolTopicPartitions(ownedPartitions) }
        if version >= 2 { buffer.writeInteger(generationID) }
        if version >= 3 { buffer.writeConsumerProtocolNullableString(rackID) }
        return buffer
    }

    /// Reads a subscription written by any client.
    ///
    /// As Java's `ConsumerProtocol.deserializeSubscription`, versions above 3 are read as v3 (later
    /// versions only append fields) and bytes after the known fields are ignored.
    ///
    /// - Throws: `KafkaDecodingError` naming the field, for a negative version or truncated data.
    public init(decoding bytes: ByteBuffer) throws(KafkaDecodingError) {
        var buffer = bytes
        do throws(KafkaDecodingError) {
            let version = try buffer.readKafkaInteger(as: Int16.self, field: "version")
            guard version >= 0 else {
                throw KafkaDecodingError(.invalidValue, detail: "subscription version \(version) is negative")
            }
            let topicCount = try buffer.readConsumerProtocolCount(field: "topics", minimumElementSize: 2)
            var topics: [String] = []
            topics.reserveCapacity(topicCount)
            for _ in 0..<topicCount { topics.append(try buffer.readKafkaString(compact: false, field: "topics")) }
            self.init(topics: topics)
            userData = try buffer.readKafkaNullableBytes(compact: false, field: "userData")
            if version >= 1 { ownedPartitions = try buffer.readConsumerProtocolTopicPartitions(field: "ownedPartitions") }
            if version >= 2 { generationID = try buffer.readKafkaInteger(as: Int32.self, field: "generationId") }
            if version >= 3 { rackID = try buffer.readKafkaNullableString(compact: false, field: "rackId") }
        } catch {
            throw error.within("ConsumerProtocolSubscription")
        }
    }
}

/// Partitions of one topic, as the consumer protocol lists them (`TopicPartition` in its JSON).
public struct ConsumerProtocolTopicPartitions: Hashable, Sendable {
    /// The topic's name.
    public var topic: String
    /// Partition indexes, in the writer's order.
    public var partitions: [Int32]

    /// Creates an entry.
    public init(topic: String, partitions: [Int32]) {
        self.topic = topic
        self.partitions = partitions
    }

    /// Groups `partitions` by topic, topics and partitions sorted, as Java's assignors emit them.
    public static func grouping(_ partitions: some Sequence<TopicPartition>) -> [ConsumerProtocolTopicPartitions] {
        var byTopic: [String: [Int32]] = [:]
        for partition in partitions { byTopic[partition.topic, default: []].append(partition.partition) }
        return byTopic.keys.sorted(by: javaStringLess).map { topic in
            ConsumerProtocolTopicPartitions(topic: topic, partitions: (byTopic[topic] ?? []).sorted())
        }
    }
}

extension Sequence<ConsumerProtocolTopicPartitions> {
    /// Every topic-partition listed, flattened.
    public var topicPartitions: [TopicPartition] {
        flatMap { entry in entry.partitions.map { TopicPartition(topic: entry.topic, partition: $0) } }
    }
}

extension ByteBuffer {
    mutating func writeConsumerProtocolString(_ string: String) {
        writeInteger(Int16(string.utf8.count))
        writeString(string)
    }

    mutating func writeConsumerProtocolNullableString(_ string: String?) {
        guard let string else {
            writeInteger(Int16(-1))
            return
        }
        writeConsumerProtocolString(string)
    }

    mutating func writeConsumerProtocolNullableBytes(_ bytes: ByteBuffer?) {
        guard var bytes else {
            writeInteger(Int32(-1))
            return
        }
        writeInteger(Int32(bytes.readableBytes))
        writeBuffer(&bytes)
    }

    mutating func writeConsumerProtocolTopicPartitions(_ entries: [ConsumerProtocolTopicPartitions]) {
        writeInteger(Int32(entries.count))
        for entry in entries {
            writeConsumerProtocolString(entry.topic)
            writeInteger(Int32(entry.partitions.count))
            for partition in entry.partitions { writeInteger(partition) }
        }
    }

    /// An int32 array count; a null array (-1) reads as empty, other negative counts are rejected.
    mutating func readConsumerProtocolCount(field: String, minimumElementSize: Int) throws(KafkaDecodingError) -> Int {
        try readKafkaArrayCount(compact: false, minimumElementSize: minimumElementSize, field: field) ?? 0
    }

    mutating func readConsumerProtocolTopicPartitions(field: String) throws(KafkaDecodingError) -> [ConsumerProtocolTopicPartitions] {
        let count = try readConsumerProtocolCount(field: field, minimumElementSize: 6)
        var entries: [ConsumerProtocolTopicPartitions] = []
        entries.reserveCapacity(count)
        for _ in 0..<count {
            let topic = try readKafkaString(compact: false, field: "\(field).topic")
            let partitionCount = try readConsumerProtocolCount(field: "\(field).partitions", minimumElementSize: 4)
            var partitions: [Int32] = []
            partitions.reserveCapacity(partitionCount)
            for _ in 0..<partitionCount {
                partitions.append(try readKafkaInteger(as: Int32.self, field: "\(field).partitions"))
            }
            entries.append(ConsumerProtocolTopicPartitions(topic: topic, partitions: partitions))
        }
        return entries
    }
}
