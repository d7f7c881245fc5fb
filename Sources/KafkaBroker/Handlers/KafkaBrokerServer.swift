public import KafkaSecurity
public import Logging
public import NIOCore

/// Settings of a whole broker: listener, storage defaults and topic policy.
public struct KafkaBrokerConfiguration: Sendable {
    /// Where and how to listen.
    public var listener: KafkaListener.Configuration
    /// The data directory holding the partition logs and group state.
    public var dataDirectory: String
    /// Partitions of auto-created topics (and CreateTopics with -1). Default: 1.
    public var defaultPartitions: Int32
    /// Whether Metadata may create unknown topics (when the request allows it). Default: true.
    public var autoCreateTopics: Bool
    /// Default `retention.ms`; `nil` keeps the storage default.
    public var retentionMs: Int64?
    /// Default `retention.bytes`; `nil` keeps the storage default.
    public var retentionBytes: Int64?
    /// Default `segment.bytes`; `nil` keeps the storage default.
    public var segmentBytes: Int64?
    /// Largest record batch accepted (`max.message.bytes`). Default: 1 MiB + 12 bytes (Kafka's).
    public var maxMessageBytes: Int32
    /// How long a new group waits for more members before its first rebalance
    /// (`group.initial.rebalance.delay.ms`). Default: 3 s.
    public var groupInitialRebalanceDelay: Duration = .seconds(3)
    /// How often retention runs (`log.retention.check.interval.ms`). Default: 5 minutes.
    public var retentionCheckInterval: Duration = .seconds(300)
    /// SASL authentication (`SASL_PLAINTEXT` / `SASL_SSL` listeners); `nil` (default) leaves it off.
    public var sasl: KafkaBrokerSASLConfiguration?
    /// TLS on the listener (`SSL` / `SASL_SSL`); `nil` (default) leaves it off.
    public var tls: KafkaTLSServerConfiguration?

    /// Creates a configuration; unspecified values take the defaults above.
    public init(
        listener: KafkaListener.Configuration = .init(), dataDirectory: String, defaultPartitions: Int32 = 1,
        autoCreateTopics: Bool = true, retentionMs: Int64? = nil, retentionBytes: Int64? = nil,
        segmentBytes: Int64? = nil, maxMessageBytes: Int32 = 1_048_588
    ) {
        self.listener = listener
        self.dataDirectory = dataDirectory
        self.defaultPartitions = defaultPartitions
        self.autoCreateTopics = autoCreateTopics
        self.retentionMs = retentionMs
        self.retentionBytes = retentionBytes
        self.segmentBytes = segmentBytes
        self.maxMessageBytes = maxMessageBytes
    }
}

/// A running broker: storage opened, listener bound, requests routed to the handlers.
///
/// ``start(configuration:logger:)`` opens and binds; ``run()`` serves until
/// ``triggerGracefulShutdown()``, then closes storage and returns.
public final class KafkaBrokerServer: Sendable {
    private let listener: KafkaListener
    private let handlers: BrokerHandlers
    private let logger: Logger
    private let retentionCheckInterval: Duration

    /// The bound address (with the real port if port 0 was configured).
    public var localAddress: SocketAddress { self.listener.localAddress }

    private init(listener: KafkaListener, handlers: BrokerHandlers, retentionCheckInterval: Duration, logger: Logger) {
        self.retentionCheckInterval = retentionCheckInterval
        self.listener = listener
        self.handlers = handlers
        self.logger = logger
    }

    /// Binds the listener and serves `store` and `groups` (defaults: opened from the configuration).
    public static func start(
        configuration: KafkaBrokerConfiguration, store: (any BrokerLogStore)? = nil,
        groups: (any BrokerGroupService)? = nil, logger: Logger
    ) async throws -> KafkaBrokerServer {
        // Settings first: a bad certificate or SASL setting fails before storage is opened.
        let tlsContext = try configuration.tls?.makeServerContext()
        let sasl = try configuration.sasl.map { sasl throws(KafkaSASLError) in
            try BrokerSASLAuthenticator(configuration: sasl, logger: logger)
        }
        let opened: any BrokerLogStore
        if let store { opened = store } else { opened = try await Self.openStore(configuration: configuration, logger: logger) }
        let store = opened
        var groups = groups
        if groups == nil { groups = try await Self.openGroups(configuration: configuration, store: store, logger: logger) }
        let listener: KafkaListener
        do {
            listener = try await KafkaListener.bind(
                configuration: configuration.listener, tlsContext: tlsContext, logger: logger)
        } catch {
            await groups?.close()
            await store.close()
            throw error
        }
        if let tls = configuration.tls {
            let clientCertificates = tls.clientCAFile.map { ", client certificates required (CA \($0))" } ?? ""
            logger.info("TLS on: certificate \(tls.certificateFile)\(clientCertificates)")
        }
        if let sasl = configuration.sasl {
            logger.info(
                "SASL on: \(sasl.mechanisms.map(\.kafkaName).joined(separator: ", ")) for \(sasl.users.count) user(s)")
        }
        let port = Int32(listener.localAddress.port ?? configuration.listener.port)
        let identity = BrokerHandlers.Identity(host: configuration.listener.host, port: port)
        let policy = BrokerHandlers.Policy(
            autoCreateTopics: configuration.autoCreateTopics, defaultPartitions: configuration.defaultPartitions)
        let handlers = BrokerHandlers(
            identity: identity, policy: policy, store: store, groups: groups, sasl: sasl, logger: logger)
        return KafkaBrokerServer(
            listener: listener, handlers: handlers, retentionCheckInterval: configuration.retentionCheckInterval, logger: logger)
    }

    /// Serves until ``triggerGracefulShutdown()``; then closes groups and storage.
    public func run() async throws {
        let handlers = self.handlers
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                if let groups = handlers.groups {
                    group.addTask { await groups.run() }
                }
                let store = handlers.store
                let interval = self.retentionCheckInterval
                group.addTask {
                    // Kafka's log.retention.check.interval.ms: a periodic sweep, not an event.
                    while (try? await Task.sleep(for: interval)) != nil {
                        await store.enforceRetention(nowMs: BrokerHandlers.nowMs())
                    }
                }
                try await self.listener.run(responder: KafkaRequestRouter(broker: handlers, logger: self.logger))
                group.cancelAll()
            }
        } catch {
            await handlers.close()
            throw error
        }
        await handlers.close()
    }

    /// Stops accepting and closes connections once their current request is answered.
    public func triggerGracefulShutdown() {
        self.listener.triggerGracefulShutdown()
    }
}

extension KafkaBrokerServer {
    /// Opens the partition logs in the data directory with the configured topic defaults.
    static func openStore(configuration: KafkaBrokerConfiguration, logger: Logger) async throws -> any BrokerLogStore {
        var storage = LogManager.Configuration(dataDirectory: configuration.dataDirectory)
        var defaults = TopicConfig.kafkaDefaults
        if let value = configuration.retentionMs { defaults.retentionMs = value }
        if let value = configuration.retentionBytes { defaults.retentionBytes = value }
        if let value = configuration.segmentBytes { defaults.segmentBytes = Int(value) }
        defaults.maxMessageBytes = Int(configuration.maxMessageBytes)
        storage.topicDefaults = defaults
        storage.defaultPartitions = configuration.defaultPartitions
        storage.autoCreateTopics = false  // the Metadata handler decides (allowAutoTopicCreation)
        return DurableLogStore(logs: try LogManager(configuration: storage, logger: Logger(label: "tributary.broker.storage")))
    }

    /// The group coordinator for `configuration`, if this build has one.
    static func openGroups(
        configuration: KafkaBrokerConfiguration, store: any BrokerLogStore, logger: Logger
    ) async throws -> (any BrokerGroupService)? {
        let offsets = try OffsetStore(
            dataDirectory: configuration.dataDirectory, logger: Logger(label: "tributary.broker.offsets"))
        return GroupCoordinator(
            configuration: GroupCoordinatorConfiguration(
                nodeId: 0, initialRebalanceDelay: configuration.groupInitialRebalanceDelay),
            offsetStore: offsets, logger: Logger(label: "tributary.broker.groups"))
    }
}
