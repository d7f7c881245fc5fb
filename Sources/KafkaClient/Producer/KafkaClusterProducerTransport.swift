import KafkaProtocol
import NIOConcurrencyHelpers

/// The producer's transport over a `KafkaCluster`: routes from its metadata cache,
/// InitProducerId on any broker, Produce on the partition leader's connection.
public struct KafkaClusterProducerTransport: ProducerTransport {
    /// The cluster requests go through.
    public let cluster: KafkaCluster
    /// Whether a metadata lookup may create a missing topic (the broker decides; Java's
    /// `allow.auto.create.topics`, default true).
    public var allowAutoTopicCreation: Bool
    /// `transactionTimeoutMs` of InitProducerId (unused without transactions; Java's default).
    public var transactionTimeoutMs: Int32 = 60_000
    /// Connections readied by `prepare`, so `produce` writes without suspending first.
    private let connections = NIOLockedValueBox<[Int32: KafkaBrokerConnection]>([:])

    /// Creates a transport over `cluster`.
    public init(cluster: KafkaCluster, allowAutoTopicCreation: Bool = true) {
        self.cluster = cluster
        self.allowAutoTopicCreation = allowAutoTopicCreation
    }

    public func route(topic: String, refresh: Bool) async throws(KafkaProducerError) -> ProducerTopicRoute {
        let metadata: KafkaClusterMetadata
        do {
            if refresh { await cluster.invalidateMetadata() }
            metadata = try await cluster.metadata(
                topics: [topic], allowAutoTopicCreation: allowAutoTopicCreation, forceRefresh: refresh)
        } catch {
            throw Self.translate(error, context: "metadata for topic \(topic)")
        }
        guard let topicMetadata = metadata.topics[topic] else {
            throw KafkaProducerError(.transport, "the metadata response does not mention topic \(topic)")
        }
        if let error = topicMetadata.error, error.isError {
            if error == .unknownTopicOrPartition && !allowAutoTopicCreation {
                throw KafkaProducerError(.unknownTopic, "topic \(topic) does not exist: \(error.name)")
            }
            if error.isRetriable {
                throw KafkaProducerError(.transport, "metadata for topic \(topic): \(error.name)")
            }
            throw KafkaProducerError(.unknownTopic, "topic \(topic): \(error.name): \(error.message)")
        }
        let count = (topicMetadata.partitions.map(\.id).max() ?? -1) + 1
        var leaders = [Int32](repeating: -1, count: Int(max(count, 0)))
        for partition in topicMetadata.partitions where partition.id >= 0 {
            let usable = partition.error.map { !$0.isError } ?? true
            leaders[Int(partition.id)] = usable ? partition.leader : -1
        }
        return ProducerTopicRoute(leaders: leaders)
    }

    public func initProducerId() async throws(KafkaProducerError) -> ProducerIdentity {
        let response: InitProducerIdResponse
        do {
            let connection = try await cluster.anyConnection()
            response = try await connection.send(
                InitProducerIdRequest(
                    transactionalId: nil, transactionTimeoutMs: transactionTimeoutMs, producerId: -1, producerEpoch: -1))
        } catch {
            throw Self.translate(error, context: "InitProducerId")
        }
        let code = KafkaErrorCode(rawValue: response.errorCode)
        guard !code.isError else {
            throw KafkaProducerError(
                code.isRetriable ? .transport : .broker(code), "InitProducerId: \(code.name): \(code.message)")
        }
        return ProducerIdentity(producerId: response.producerId, epoch: response.producerEpoch)
    }

    public func prepare(node: Int32) async {
        guard connections.withLockedValue({ $0[node] }) == nil else { return }
        if let connection = try? await cluster.connection(toNode: node) {
            connections.withLockedValue { $0[node] = connection }
        }
    }

    public func produce(_ request: ProduceRequest, toNode node: Int32) async throws(KafkaProducerError) -> ProduceResponse? {
        do {
            let cached = connections.withLockedValue { $0[node] }
            let connection: KafkaBrokerConnection
            if let cached {
                connection = cached
            } else {
                connection = try await cluster.connection(toNode: node)
            }
            if request.acks == 0 {
                try await connection.sendWithoutResponse(request)
                return nil
            }
            // The broker may take `timeoutMs` to replicate; the answer gets that long plus a margin.
            let timeout = Duration.milliseconds(Int64(request.timeoutMs)) + connectionTimeoutMargin
            return try await connection.send(request, timeout: timeout)
        } catch {
            // The next request asks the cluster again (it reconnects with backoff).
            connections.withLockedValue { $0[node] = nil }
            if error.isRetriable { await cluster.invalidateMetadata() }
            throw Self.translate(error, context: "Produce to node \(node)")
        }
    }

    private var connectionTimeoutMargin: Duration { .seconds(5) }

    public func shutdown() async {
        await cluster.shutdown()
    }

    static func translate(_ error: KafkaClientError, context: String) -> KafkaProducerError {
        KafkaProducerError(error.isRetriable ? .transport : .client, "\(context): \(error.message)")
    }
}

extension KafkaProducer {
    /// Creates a producer sending through `cluster` (which the producer does not shut down).
    public convenience init(
        cluster: KafkaCluster, configuration: KafkaProducerConfiguration = .init(),
        onDelivery: (@Sendable (KafkaProducerDeliveryReport) -> Void)? = nil
    ) throws(KafkaProducerError) {
        try self.init(
            transport: KafkaClusterProducerTransport(cluster: cluster), configuration: configuration,
            ownsTransport: false, onDelivery: onDelivery)
    }
}
