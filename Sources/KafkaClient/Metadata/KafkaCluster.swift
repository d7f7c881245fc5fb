public import KafkaProtocol
public import Logging
public import NIOCore
import NIOPosix

/// A client's view of a Kafka cluster: bootstrap, a metadata cache, one connection per broker
/// (reconnecting with exponential backoff and jitter) and the group coordinator lookup.
///
/// Producers, consumers and ``KafkaAdmin`` share one cluster; it is an actor, so concurrent
/// callers asking for the same broker share one connection attempt.
public actor KafkaCluster {
    /// The configuration every connection uses.
    public nonisolated let configuration: KafkaClientConfiguration
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger
    private let clock = ContinuousClock()

    private enum Slot {
        case ready(KafkaBrokerConnection)
        case connecting(Task<KafkaBrokerConnection, any Error>)
    }

    private var cache = KafkaClusterMetadata()
    /// When each topic's metadata was last fetched without error; missing means stale.
    private var topicFetchedAt: [String: ContinuousClock.Instant] = [:]
    /// When the whole topic list, and the broker list, were last fetched.
    private var allTopicsFetchedAt: ContinuousClock.Instant?
    private var brokersFetchedAt: ContinuousClock.Instant?
    /// The Metadata fetch in progress, which callers with stale caches wait for before fetching.
    private var refreshing: Task<KafkaClusterMetadata, any Error>?

    private var slots: [Int32: Slot] = [:]
    private var backoffs: [Int32: KafkaReconnectBackoff] = [:]
    private var bootstrapConnection: KafkaBrokerConnection?
    private var bootstrapBackoff: KafkaReconnectBackoff
    /// Addresses learned from FindCoordinator for nodes the metadata does not list.
    private var extraAddresses: [Int32: KafkaBrokerAddress] = [:]
    private var coordinators: [String: Int32] = [:]
    private var isShutdown = false

    /// Creates a cluster client; nothing connects until the first call that needs a broker.
    public init(
        configuration: KafkaClientConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "tributary.kafka.client")
    ) {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        self.bootstrapBackoff = KafkaReconnectBackoff(
            base: configuration.reconnectBackoff, maximum: configuration.reconnectBackoffMax)
    }

    // MARK: - Metadata

    /// Metadata for `topics` (`nil`: every topic; `[]`: brokers only), from the cache when it holds
    /// them, fetched less than `metadataMaxAge` ago and without error, else from a broker.
    ///
    /// The returned value is the whole cache: it may hold more topics than asked for. Topic-level
    /// errors (`UNKNOWN_TOPIC_OR_PARTITION`) are in each topic's `error`, not thrown.
    ///
    /// - Throws: ``KafkaClientError`` if no broker answers.
    public func metadata(
        topics: [String]?, allowAutoTopicCreation: Bool = false, forceRefresh: Bool = false
    ) async throws(KafkaClientError) -> KafkaClusterMetadata {
        try self.checkOpen()
        if !forceRefresh {
            if self.isFresh(topics: topics) { return self.cache }
            // Many callers go stale at once (after invalidateMetadata); let one fetch run, then
            // look again: it often brought what the others need.
            if let running = self.refreshing {
                _ = await running.result
                if self.isFresh(topics: topics) { return self.cache }
            }
        }
        // The task merges before it completes, so its waiters find the cache updated.
        let fetch = Task {
            let response = try await self.fetchMetadata(topics: topics, allowAutoTopicCreation: allowAutoTopicCreation)
            self.merge(response, requested: topics)
            return self.cache
        }
        self.refreshing = fetch
        defer { if self.refreshing == fetch { self.refreshing = nil } }
        return try await Self.value(of: fetch)
    }

    /// Marks all cached metadata stale; the next ``metadata(topics:allowAutoTopicCreation:forceRefresh:)``
    /// fetches. Call it on `NOT_LEADER_OR_FOLLOWER`, `UNKNOWN_TOPIC_OR_PARTITION` and the like.
    public func invalidateMetadata() {
        self.topicFetchedAt.removeAll()
        self.allTopicsFetchedAt = nil
        self.brokersFetchedAt = nil
    }

    private func isFresh(topics: [String]?) -> Bool {
        let now = self.clock.now
        let maxAge = self.configuration.metadataMaxAge
        func fresh(_ instant: ContinuousClock.Instant?) -> Bool {
            guard let instant else { return false }
            return now - instant < maxAge
        }
        guard let topics else { return fresh(self.allTopicsFetchedAt) }
        guard fresh(self.brokersFetchedAt) else { return false }
        return topics.allSatisfy { fresh(self.topicFetchedAt[$0]) }
    }

    /// Sends Metadata to any broker; on a connection failure, once more to another one.
    private func fetchMetadata(
        topics: [String]?, allowAutoTopicCreation: Bool
    ) async throws(KafkaClientError) -> MetadataResponse {
        var attempt = 0
        while true {
            attempt += 1
            let connection = try await self.anyConnection()
            do {
                let version = try connection.version(for: MetadataRequest.self)
                let request = MetadataRequest(
                    topics: topics.map { $0.map { MetadataRequest.MetadataRequestTopic(name: $0) } },
                    // Versions before 4 cannot say "do not create"; the broker's setting decides.
                    allowAutoTopicCreation: version >= 4 ? allowAutoTopicCreation : true)
                return try await connection.send(request, version: version)
            } catch {
                guard attempt < 2, error.kind == .disconnected || error.kind == .timedOut else { throw error }
                self.logger.debug("metadata request to \(connection.address) failed, trying another broker: \(error)")
            }
        }
    }

    private func merge(_ response: MetadataResponse, requested: [String]?) {
        let now = self.clock.now
        let fetched = KafkaClusterMetadata(response)
        self.cache.brokers = fetched.brokers
        self.cache.controllerID = fetched.controllerID
        self.cache.clusterID = fetched.clusterID ?? self.cache.clusterID
        self.brokersFetchedAt = now
        if requested == nil {
            self.cache.topics = fetched.topics
            self.topicFetchedAt.removeAll()
            self.allTopicsFetchedAt = now
        }
        for (name, topic) in fetched.topics {
            self.cache.topics[name] = topic
            let healthy = topic.error == nil && topic.partitions.allSatisfy { $0.error == nil && $0.leader >= 0 }
            self.topicFetchedAt[name] = healthy ? now : nil
        }
        for name in requested ?? [] where fetched.topics[name] == nil {
            self.cache.topics[name] = nil
            self.topicFetchedAt[name] = nil
        }
    }

    // MARK: - Connections

    /// The connection to broker `nodeID`, opened (or reopened after a disconnect) if needed.
    ///
    /// After a failed connect the next attempt to that broker waits a backoff that doubles per
    /// failure (from `reconnectBackoff` up to `reconnectBackoffMax`, ±20 % jitter); concurrent
    /// callers share one attempt.
    ///
    /// - Throws: ``KafkaClientError`` `connectionFailed` if the broker is unknown or cannot be
    ///   reached, or any handshake error.
    public func connection(toNode nodeID: Int32) async throws(KafkaClientError) -> KafkaBrokerConnection {
        try self.checkOpen()
        if let existing = try await self.existingConnection(toNode: nodeID) { return existing }
        let address = try await self.address(ofNode: nodeID)
        // The lookup may have suspended; another caller may have started connecting meanwhile.
        if let existing = try await self.existingConnection(toNode: nodeID) { return existing }
        let delay = self.backoffs[nodeID]?.remainingDelay(now: self.clock.now) ?? .zero
        let task = self.connectTask(to: address, nodeID: nodeID, after: delay)
        self.slots[nodeID] = .connecting(task)
        do throws(KafkaClientError) {
            let connection = try await Self.value(of: task)
            guard case .connecting(task)? = self.slots[nodeID], !self.isShutdown else {
                await connection.close()
                throw KafkaClientError(.shutdown, "the Kafka client was shut down while connecting to node \(nodeID)")
            }
            self.slots[nodeID] = .ready(connection)
            self.backoffs[nodeID] = nil
            return connection
        } catch {
            if case .connecting(task)? = self.slots[nodeID] { self.slots[nodeID] = nil }
            self.backoffs[nodeID, default: self.newBackoff()].recordFailure(now: self.clock.now)
            // The broker may have moved or left: learn the cluster again before the next attempt.
            self.invalidateMetadata()
            throw error
        }
    }

    /// A ready, open connection to `nodeID`, the result of an attempt in progress, or `nil`.
    private func existingConnection(toNode nodeID: Int32) async throws(KafkaClientError) -> KafkaBrokerConnection? {
        switch self.slots[nodeID] {
        case .ready(let connection)?:
            if connection.isActive { return connection }
            self.slots[nodeID] = nil
            return nil
        case .connecting(let task)?:
            return try await Self.value(of: task)
        case nil:
            return nil
        }
    }

    /// Any open connection, preferring existing ones; else the known brokers, then the bootstrap
    /// servers in order. Used for Metadata and FindCoordinator.
    ///
    /// - Throws: ``KafkaClientError`` `connectionFailed` naming every address tried.
    public func anyConnection() async throws(KafkaClientError) -> KafkaBrokerConnection {
        try self.checkOpen()
        for (_, slot) in self.slots.sorted(by: { $0.key < $1.key }) {
            if case .ready(let connection) = slot, connection.isActive { return connection }
        }
        if let connection = self.bootstrapConnection, connection.isActive { return connection }
        var failures: [String] = []
        for nodeID in self.cache.brokers.keys.sorted() where (self.backoffs[nodeID]?.failures ?? 0) == 0 {
            do {
                return try await self.connection(toNode: nodeID)
            } catch {
                failures.append(error.message)
            }
        }
        return try await self.connectToBootstrapServers(failures: failures)
    }

    /// Tries the bootstrap servers in order; the first that connects becomes the bootstrap connection.
    private func connectToBootstrapServers(failures: [String]) async throws(KafkaClientError) -> KafkaBrokerConnection {
        var failures = failures
        let delay = self.bootstrapBackoff.remainingDelay(now: self.clock.now)
        if delay > .zero {
            do { try await Task.sleep(for: delay) } catch {
                throw KafkaClientError(.shutdown, "cancelled while waiting to reconnect to the bootstrap servers")
            }
        }
        for address in self.configuration.bootstrapServers {
            do {
                let connection = try await KafkaBrokerConnection.connect(
                    to: address, configuration: self.configuration, eventLoopGroup: self.eventLoopGroup,
                    logger: self.logger)
                try self.checkOpen()
                if let previous = self.bootstrapConnection, previous !== connection { await previous.close() }
                self.bootstrapConnection = connection
                self.bootstrapBackoff = self.newBackoff()
                return connection
            } catch {
                self.logger.debug("bootstrap server \(address) failed: \(error)")
                failures.append(error.message)
            }
        }
        self.bootstrapBackoff.recordFailure(now: self.clock.now)
        let list = self.configuration.bootstrapServers.map(\.description).joined(separator: ",")
        throw KafkaClientError(
            .connectionFailed,
            "no broker reachable (bootstrap servers \(list.isEmpty ? "none configured" : list)): "
                + failures.joined(separator: "; "))
    }

    private func address(ofNode nodeID: Int32) async throws(KafkaClientError) -> KafkaBrokerAddress {
        if let address = self.cache.brokers[nodeID] ?? self.extraAddresses[nodeID] { return address }
        let metadata = try await self.metadata(topics: [], forceRefresh: true)
        if let address = metadata.brokers[nodeID] ?? self.extraAddresses[nodeID] { return address }
        let known = metadata.brokers.keys.sorted().map(String.init).joined(separator: ", ")
        throw KafkaClientError(
            .connectionFailed, "broker node \(nodeID) is not in the cluster metadata (known nodes: \(known))")
    }

    private func connectTask(
        to address: KafkaBrokerAddress, nodeID: Int32, after delay: Duration
    ) -> Task<KafkaBrokerConnection, any Error> {
        let configuration = self.configuration
        let group = self.eventLoopGroup
        let logger = self.logger
        return Task {
            if delay > .zero { try await Task.sleep(for: delay) }
            return try await KafkaBrokerConnection.connect(
                to: address, nodeID: nodeID, configuration: configuration, eventLoopGroup: group, logger: logger)
        }
    }

    /// The task's value; errors other than ``KafkaClientError`` mean it was cancelled.
    private static func value<T: Sendable>(of task: Task<T, any Error>) async throws(KafkaClientError) -> T {
        do {
            return try await task.value
        } catch let error as KafkaClientError {
            throw error
        } catch {
            throw KafkaClientError(.shutdown, "cancelled: \(error)")
        }
    }

    private func newBackoff() -> KafkaReconnectBackoff {
        KafkaReconnectBackoff(base: self.configuration.reconnectBackoff, maximum: self.configuration.reconnectBackoffMax)
    }

    // MARK: - Group coordinator

    /// The connection to the coordinator of consumer group `groupID`, found with FindCoordinator
    /// and cached until ``invalidateCoordinator(forGroup:)`` (call it on `NOT_COORDINATOR` or
    /// `COORDINATOR_NOT_AVAILABLE`). While the broker answers a retriable error (the coordinator
    /// is still loading) the lookup is retried until `requestTimeout`.
    ///
    /// - Throws: ``KafkaClientError`` with the broker's error and message, or a connection error.
    public func coordinatorConnection(forGroup groupID: String) async throws(KafkaClientError) -> KafkaBrokerConnection {
        try self.checkOpen()
        if let nodeID = self.coordinators[groupID] {
            do {
                return try await self.connection(toNode: nodeID)
            } catch {
                self.coordinators[groupID] = nil
                throw error
            }
        }
        let deadline = self.clock.now + self.configuration.requestTimeout
        var backoff = self.newBackoff()
        while true {
            do {
                let nodeID = try await self.findCoordinator(groupID)
                self.coordinators[groupID] = nodeID
                return try await self.connection(toNode: nodeID)
            } catch {
                guard error.isRetriable, self.clock.now < deadline else { throw error }
                backoff.recordFailure(now: self.clock.now)
                do { try await Task.sleep(for: backoff.remainingDelay(now: self.clock.now)) } catch {
                    throw KafkaClientError(.shutdown, "cancelled while looking up the coordinator of group \"\(groupID)\"")
                }
            }
        }
    }

    /// Forgets the cached coordinator of `groupID`.
    public func invalidateCoordinator(forGroup groupID: String) {
        self.coordinators[groupID] = nil
    }

    private func findCoordinator(_ groupID: String) async throws(KafkaClientError) -> Int32 {
        let connection = try await self.anyConnection()
        let version = try connection.version(for: FindCoordinatorRequest.self)
        let batched = version >= 4
        let request = FindCoordinatorRequest(key: batched ? "" : groupID, keyType: 0, coordinatorKeys: batched ? [groupID] : [])
        let response = try await connection.send(request, version: version)
        let code: Int16
        let message: String?
        let nodeID: Int32
        let address: KafkaBrokerAddress
        if batched {
            guard let entry = response.coordinators.first(where: { $0.key == groupID }) else {
                throw KafkaClientError(
                    .protocolError, "FindCoordinator v\(version) response from \(connection.address) has no entry for group \"\(groupID)\"")
            }
            (code, message, nodeID) = (entry.errorCode, entry.errorMessage, entry.nodeId)
            address = KafkaBrokerAddress(host: entry.host, port: Int(entry.port))
        } else {
            (code, message, nodeID) = (response.errorCode, response.errorMessage, response.nodeId)
            address = KafkaBrokerAddress(host: response.host, port: Int(response.port))
        }
        guard code == 0 else {
            throw KafkaClientError.broker(
                KafkaErrorCode(rawValue: code), message: message,
                context: "FindCoordinator for group \"\(groupID)\" via broker \(connection.address)")
        }
        if self.cache.brokers[nodeID] != address { self.extraAddresses[nodeID] = address }
        return nodeID
    }

    // MARK: - Shutdown

    /// Closes every connection; later calls throw ``KafkaClientError/Kind/shutdown``.
    public func shutdown() async {
        self.isShutdown = true
        let slots = self.slots
        self.slots.removeAll()
        for (_, slot) in slots {
            switch slot {
            case .ready(let connection): await connection.close()
            case .connecting(let task): task.cancel()
            }
        }
        await self.bootstrapConnection?.close()
        self.bootstrapConnection = nil
    }

    private func checkOpen() throws(KafkaClientError) {
        guard !self.isShutdown else { throw KafkaClientError(.shutdown, "the Kafka client was shut down") }
    }
}
