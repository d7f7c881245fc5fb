public import KafkaProtocol

/// What a Metadata response says about the cluster: brokers, controller, topics and leaders.
public struct KafkaClusterMetadata: Sendable {
    /// Broker addresses by node id.
    public var brokers: [Int32: KafkaBrokerAddress]
    /// The controller's node id, if the broker named one.
    public var controllerID: Int32?
    /// The cluster id, if the broker sent one.
    public var clusterID: String?
    /// Topics by name, each with its own error (such as `UNKNOWN_TOPIC_OR_PARTITION`).
    public var topics: [String: KafkaTopicMetadata]

    /// Creates metadata from its parts.
    public init(
        brokers: [Int32: KafkaBrokerAddress] = [:], controllerID: Int32? = nil, clusterID: String? = nil,
        topics: [String: KafkaTopicMetadata] = [:]
    ) {
        self.brokers = brokers
        self.controllerID = controllerID
        self.clusterID = clusterID
        self.topics = topics
    }

    /// Reads a Metadata response (any version). Topics without a name (by id only) are skipped.
    public init(_ response: MetadataResponse) {
        var brokers: [Int32: KafkaBrokerAddress] = [:]
        for broker in response.brokers {
            brokers[broker.nodeId] = KafkaBrokerAddress(host: broker.host, port: Int(broker.port))
        }
        var topics: [String: KafkaTopicMetadata] = [:]
        for topic in response.topics {
            guard let name = topic.name else { continue }
            let partitions = topic.partitions.map { partition in
                KafkaPartitionMetadata(
                    id: partition.partitionIndex, leader: partition.leaderId, leaderEpoch: partition.leaderEpoch,
                    replicas: partition.replicaNodes, isr: partition.isrNodes,
                    error: KafkaErrorCode(rawValue: partition.errorCode).errorOrNil)
            }.sorted { $0.id < $1.id }
            topics[name] = KafkaTopicMetadata(
                name: name, error: KafkaErrorCode(rawValue: topic.errorCode).errorOrNil, isInternal: topic.isInternal,
                partitions: partitions)
        }
        self.init(
            brokers: brokers, controllerID: response.controllerId >= 0 ? response.controllerId : nil,
            clusterID: response.clusterId, topics: topics)
    }

    /// The node id leading `partition` of `topic`, or `nil` if the topic or partition is unknown
    /// or has no leader right now (leader -1).
    public func leader(topic: String, partition: Int32) -> Int32? {
        guard let partitions = self.topics[topic]?.partitions,
            let entry = partitions.first(where: { $0.id == partition }), entry.leader >= 0
        else { return nil }
        return entry.leader
    }
}

/// One topic of a Metadata response.
public struct KafkaTopicMetadata: Sendable, Hashable {
    /// The topic's name.
    public var name: String
    /// The topic-level error, `nil` when none.
    public var error: KafkaErrorCode?
    /// Whether Kafka marks it internal (`__consumer_offsets`).
    public var isInternal: Bool
    /// Partitions sorted by id.
    public var partitions: [KafkaPartitionMetadata]

    /// Creates topic metadata from its parts.
    public init(name: String, error: KafkaErrorCode? = nil, isInternal: Bool = false, partitions: [KafkaPartitionMetadata]) {
        self.name = name
        self.error = error
        self.isInternal = isInternal
        self.partitions = partitions
    }
}

/// One partition of a topic in a Metadata response.
public struct KafkaPartitionMetadata: Sendable, Hashable {
    /// The partition index.
    public var id: Int32
    /// The leader's node id, -1 when there is none.
    public var leader: Int32
    /// The leader epoch, -1 if the broker did not send one.
    public var leaderEpoch: Int32
    /// Node ids of the replicas.
    public var replicas: [Int32]
    /// Node ids of the in-sync replicas.
    public var isr: [Int32]
    /// The partition-level error, `nil` when none.
    public var error: KafkaErrorCode?

    /// Creates partition metadata from its parts.
    public init(
        id: Int32, leader: Int32, leaderEpoch: Int32 = -1, replicas: [Int32] = [], isr: [Int32] = [],
        error: KafkaErrorCode? = nil
    ) {
        self.id = id
        self.leader = leader
        self.leaderEpoch = leaderEpoch
        self.replicas = replicas
        self.isr = isr
        self.error = error
    }
}

extension KafkaErrorCode {
    /// `self`, or `nil` for `NONE`.
    var errorOrNil: KafkaErrorCode? { self.isError ? self : nil }
}
