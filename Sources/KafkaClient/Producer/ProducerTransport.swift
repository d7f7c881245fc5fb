public import KafkaProtocol

/// The leaders of a topic's partitions, as the producer routes by them.
public struct ProducerTopicRoute: Sendable, Hashable {
    /// Leader node id per partition (index = partition id); -1 while a partition has no leader.
    public var leaders: [Int32]

    /// Creates a route.
    public init(leaders: [Int32]) {
        self.leaders = leaders
    }

    /// The number of partitions.
    public var partitionCount: Int32 { Int32(leaders.count) }
}

/// The producer identity granted by InitProducerId.
public struct ProducerIdentity: Sendable, Hashable {
    /// The producer id.
    public var producerId: Int64
    /// The producer epoch.
    public var epoch: Int16

    /// Creates an identity.
    public init(producerId: Int64, epoch: Int16) {
        self.producerId = producerId
        self.epoch = epoch
    }
}

/// What a `KafkaProducer` needs from the cluster: topic routes, producer ids and Produce requests
/// to a node. `KafkaCluster` provides it over the network; tests can script one.
public protocol ProducerTransport: Sendable {
    /// The route of `topic`; `refresh` asks for fresh metadata instead of a cached answer.
    ///
    /// - Throws: `.unknownTopic` if the cluster does not have the topic, `.transport` otherwise.
    func route(topic: String, refresh: Bool) async throws(KafkaProducerError) -> ProducerTopicRoute
    /// A new producer identity (InitProducerId without a transactional id).
    func initProducerId() async throws(KafkaProducerError) -> ProducerIdentity
    /// Readies the connection to `node` (connecting if needed), so that a following `produce`
    /// can write without waiting. Failures surface in `produce`.
    func prepare(node: Int32) async
    /// Sends `request` to the leader `node`; `nil` when `request.acks` is 0 (no response).
    ///
    /// After `prepare(node:)`, the request must be written before the first suspension point:
    /// the producer starts requests to a node in sequence order and relies on them reaching the
    /// socket in that order (idempotence).
    ///
    /// - Throws: `.transport` when the request could not be sent or answered.
    func produce(_ request: ProduceRequest, toNode node: Int32) async throws(KafkaProducerError) -> ProduceResponse?
    /// Releases connections the transport owns.
    func shutdown() async
}

extension ProducerTransport {
    /// Nothing to ready by default.
    public func prepare(node: Int32) async {}
}
