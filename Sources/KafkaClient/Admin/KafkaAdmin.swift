public import KafkaProtocol

/// Topic administration over a ``KafkaCluster``: create, delete, list and describe topics, and
/// describe or change their configs.
///
/// Each failure a broker reports for a topic is thrown as a ``KafkaClientError`` of kind
/// `broker(code)` carrying the broker's own error message.
public struct KafkaAdmin: Sendable {
    /// The cluster the requests go to.
    public let cluster: KafkaCluster

    /// Kafka's `ConfigResource.Type.TOPIC`.
    static let topicResourceType: Int8 = 2

    /// Creates an admin client over `cluster`.
    public init(cluster: KafkaCluster) {
        self.cluster = cluster
    }

    /// Creates topic `name` with `partitions` partitions (-1: the broker's default), replication
    /// factor `replicationFactor` (-1: the broker's default) and topic `configs`.
    ///
    /// - Parameter validateOnly: ask the broker to check the request without creating anything.
    /// - Throws: ``KafkaClientError``, e.g. `broker(TOPIC_ALREADY_EXISTS)` with the broker's message.
    public func createTopic(
        name: String, partitions: Int32 = -1, replicationFactor: Int16 = -1, configs: [String: String] = [:],
        validateOnly: Bool = false
    ) async throws(KafkaClientError) {
        let connection = try await self.controllerConnection()
        let topic = CreateTopicsRequest.CreatableTopic(
            name: name, numPartitions: partitions, replicationFactor: replicationFactor,
            configs: configs.sorted { $0.key < $1.key }.map { .init(name: $0.key, value: $0.value) })
        let request = CreateTopicsRequest(
            topics: [topic], timeoutMs: self.cluster.configuration.requestTimeout.milliseconds, validateOnly: validateOnly)
        let response = try await connection.send(request)
        await self.cluster.invalidateMetadata()
        guard let result = response.topics.first(where: { $0.name == name }) else {
            throw KafkaClientError(.protocolError, "CreateTopics response from \(connection.address) does not mention topic \"\(name)\"")
        }
        try Self.check(result.errorCode, result.errorMessage, "create topic \"\(name)\" on broker \(connection.address)")
    }

    /// Deletes topic `name`.
    ///
    /// - Throws: ``KafkaClientError``, e.g. `broker(UNKNOWN_TOPIC_OR_PARTITION)`.
    public func deleteTopic(_ name: String) async throws(KafkaClientError) {
        let connection = try await self.controllerConnection()
        let version = try connection.version(for: DeleteTopicsRequest.self)
        let request = DeleteTopicsRequest(
            topics: version >= 6 ? [.init(name: name)] : [], topicNames: version >= 6 ? [] : [name],
            timeoutMs: self.cluster.configuration.requestTimeout.milliseconds)
        let response = try await connection.send(request, version: version)
        await self.cluster.invalidateMetadata()
        guard let result = response.responses.first(where: { $0.name == name }) else {
            throw KafkaClientError(.protocolError, "DeleteTopics response from \(connection.address) does not mention topic \"\(name)\"")
        }
        try Self.check(result.errorCode, result.errorMessage, "delete topic \"\(name)\" on broker \(connection.address)")
    }

    /// The names of all topics, sorted; internal topics (`__consumer_offsets`) only if asked.
    public func listTopics(includeInternal: Bool = false) async throws(KafkaClientError) -> [String] {
        let metadata = try await self.cluster.metadata(topics: nil, forceRefresh: true)
        return metadata.topics.values.filter { includeInternal || !$0.isInternal }.map(\.name).sorted()
    }

    /// Fresh metadata of topic `name` (partitions, leaders, replicas).
    ///
    /// - Throws: ``KafkaClientError`` `broker(UNKNOWN_TOPIC_OR_PARTITION)` if it does not exist.
    public func describeTopic(_ name: String) async throws(KafkaClientError) -> KafkaTopicMetadata {
        let metadata = try await self.cluster.metadata(topics: [name], forceRefresh: true)
        guard let topic = metadata.topics[name] else {
            throw KafkaClientError.broker(.unknownTopicOrPartition, context: "describe topic \"\(name)\"")
        }
        if let error = topic.error {
            throw KafkaClientError.broker(error, context: "describe topic \"\(name)\"")
        }
        return topic
    }

    /// Every config of topic `name` with its value (`nil` for sensitive or unset values).
    public func describeTopicConfig(_ name: String) async throws(KafkaClientError) -> [String: String?] {
        var configs: [String: String?] = [:]
        for entry in try await self.describeTopicConfigEntries(name) { configs[entry.name] = .some(entry.value) }
        return configs
    }

    /// Every config of topic `name` with its value and whether it is set on the topic (an
    /// override) or a default, sorted by name.
    public func describeTopicConfigEntries(_ name: String) async throws(KafkaClientError) -> [KafkaConfigEntry] {
        let connection = try await self.cluster.anyConnection()
        let version = try connection.version(for: DescribeConfigsRequest.self)
        let request = DescribeConfigsRequest(
            resources: [.init(resourceType: Self.topicResourceType, resourceName: name, configurationKeys: nil)])
        let response = try await connection.send(request, version: version)
        guard let result = response.results.first(where: { $0.resourceName == name }) else {
            throw KafkaClientError(
                .protocolError, "DescribeConfigs response from \(connection.address) does not mention topic \"\(name)\"")
        }
        try Self.check(result.errorCode, result.errorMessage, "describe configs of topic \"\(name)\" on broker \(connection.address)")
        return result.configs.map { config in
            // v0 says isDefault; v1+ say where the value comes from (5 = DEFAULT_CONFIG,
            // 1 = DYNAMIC_TOPIC_CONFIG, others are broker-level sources).
            let isOverride = version == 0 ? !config.isDefault : config.configSource == 1
            return KafkaConfigEntry(
                name: config.name, value: config.value, isOverride: isOverride, isReadOnly: config.readOnly,
                isSensitive: config.isSensitive)
        }.sorted { $0.name < $1.name }
    }

    /// Sets the configs in `set` on topic `name` and removes the overrides named in `remove`
    /// (they fall back to the broker's defaults); other overrides are kept.
    ///
    /// AlterConfigs replaces a topic's whole set of overrides, so this reads the current
    /// overrides first and sends them merged with the change (as `kafka-configs.sh` did before
    /// IncrementalAlterConfigs); a concurrent change between the two requests can be lost.
    ///
    /// - Throws: ``KafkaClientError``, e.g. `broker(INVALID_CONFIG)` with the broker's message.
    public func alterTopicConfig(
        _ name: String, set: [String: String], remove: [String] = [], validateOnly: Bool = false
    ) async throws(KafkaClientError) {
        var overrides: [String: String] = [:]
        for entry in try await self.describeTopicConfigEntries(name) where entry.isOverride {
            if let value = entry.value { overrides[entry.name] = value }
        }
        for key in remove { overrides[key] = nil }
        for (key, value) in set { overrides[key] = value }
        let connection = try await self.cluster.anyConnection()
        let request = AlterConfigsRequest(
            resources: [
                .init(
                    resourceType: Self.topicResourceType, resourceName: name,
                    configs: overrides.sorted { $0.key < $1.key }.map { .init(name: $0.key, value: $0.value) })
            ],
            validateOnly: validateOnly)
        let response = try await connection.send(request)
        guard let result = response.responses.first(where: { $0.resourceName == name }) else {
            throw KafkaClientError(
                .protocolError, "AlterConfigs response from \(connection.address) does not mention topic \"\(name)\"")
        }
        try Self.check(result.errorCode, result.errorMessage, "alter configs of topic \"\(name)\" on broker \(connection.address)")
    }

    /// The controller (CreateTopics and DeleteTopics must reach it on older Kafka), else any broker.
    private func controllerConnection() async throws(KafkaClientError) -> KafkaBrokerConnection {
        let metadata = try await self.cluster.metadata(topics: [])
        if let controller = metadata.controllerID, metadata.brokers[controller] != nil {
            return try await self.cluster.connection(toNode: controller)
        }
        return try await self.cluster.anyConnection()
    }

    private static func check(_ code: Int16, _ message: String?, _ context: String) throws(KafkaClientError) {
        guard code != 0 else { return }
        throw KafkaClientError.broker(KafkaErrorCode(rawValue: code), message: message, context: context)
    }
}

/// One config of a topic as DescribeConfigs reports it.
public struct KafkaConfigEntry: Sendable, Hashable {
    /// The config key, such as `retention.ms`.
    public var name: String
    /// The value; `nil` if sensitive or unset.
    public var value: String?
    /// Whether the value is set on the topic itself (not a broker or built-in default).
    public var isOverride: Bool
    /// Whether it can be changed.
    public var isReadOnly: Bool
    /// Whether the broker hides its value (passwords).
    public var isSensitive: Bool

    /// Creates an entry from its parts.
    public init(name: String, value: String?, isOverride: Bool, isReadOnly: Bool = false, isSensitive: Bool = false) {
        self.name = name
        self.value = value
        self.isOverride = isOverride
        self.isReadOnly = isReadOnly
        self.isSensitive = isSensitive
    }
}

extension Duration {
    /// Whole milliseconds, clamped to `Int32` (Kafka's `timeoutMs` fields).
    var milliseconds: Int32 {
        let millis = self.components.seconds * 1000 + self.components.attoseconds / 1_000_000_000_000_000
        return Int32(clamping: millis)
    }
}
