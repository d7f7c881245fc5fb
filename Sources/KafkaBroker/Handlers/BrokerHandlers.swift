#if canImport(Glibc)
import Glibc
#endif
public import Logging
import KafkaProtocol
import NIOCore

/// The request handlers of the single-node broker, one method per API (in `BrokerHandlers+<API>.swift`),
/// over the partition logs (``BrokerLogStore``) and the group coordinator.
public struct BrokerHandlers: Sendable {
    /// Who this broker says it is in Metadata and FindCoordinator.
    public struct Identity: Sendable {
        /// The node id. Default: 0.
        public var nodeId: Int32
        /// The host clients should connect to.
        public var host: String
        /// The port clients should connect to.
        public var port: Int32
        /// The cluster id reported in Metadata.
        public var clusterId: String

        /// Creates an identity.
        public init(nodeId: Int32 = 0, host: String, port: Int32, clusterId: String = "tributary") {
            self.nodeId = nodeId
            self.host = host
            self.port = port
            self.clusterId = clusterId
        }
    }

    /// Topic policy the handlers apply.
    public struct Policy: Sendable {
        /// Whether Metadata may create unknown topics. Default: true.
        public var autoCreateTopics: Bool
        /// Partitions of auto-created topics and of CreateTopics with -1. Default: 1.
        public var defaultPartitions: Int32

        /// Creates a policy.
        public init(autoCreateTopics: Bool = true, defaultPartitions: Int32 = 1) {
            self.autoCreateTopics = autoCreateTopics
            self.defaultPartitions = defaultPartitions
        }
    }

    let identity: Identity
    let policy: Policy
    let store: any BrokerLogStore
    let groups: (any BrokerGroupService)?
    /// SASL authentication, if enabled: connections must authenticate before other requests.
    let sasl: BrokerSASLAuthenticator?
    let logger: Logger

    /// Creates the handlers; `sasl` turns on SASL authentication (default: off).
    public init(
        identity: Identity, policy: Policy = .init(), store: any BrokerLogStore,
        groups: (any BrokerGroupService)?, sasl: BrokerSASLAuthenticator? = nil, logger: Logger
    ) {
        self.identity = identity
        self.policy = policy
        self.store = store
        self.groups = groups
        self.sasl = sasl
        self.logger = logger
    }

    /// Answers one decoded request whose version is accepted.
    func handle(
        _ request: KafkaRequest, header: KafkaRequestHeader, connection: KafkaConnectionInfo
    ) async -> KafkaFrameOutcome {
        let version = header.apiVersion
        switch request {
        case .apiVersions(let body):
            return KafkaResponseEncoding.outcome(ApiVersionsHandler.response(to: body, version: version), header: header)
        case .metadata(let body):
            return KafkaResponseEncoding.outcome(await self.metadata(body, version: version), header: header)
        case .produce(let body):
            let response = await self.produce(body, version: version)
            guard body.acks != 0 else { return .noResponse }
            return KafkaResponseEncoding.outcome(response, header: header)
        case .fetch(let body):
            return KafkaResponseEncoding.outcome(await self.fetch(body, version: version), header: header)
        case .listOffsets(let body):
            return KafkaResponseEncoding.outcome(await self.listOffsets(body, version: version), header: header)
        case .createTopics(let body):
            return KafkaResponseEncoding.outcome(await self.createTopics(body, version: version), header: header)
        case .deleteTopics(let body):
            return KafkaResponseEncoding.outcome(await self.deleteTopics(body, version: version), header: header)
        case .describeConfigs(let body):
            return KafkaResponseEncoding.outcome(await self.describeConfigs(body, version: version), header: header)
        case .alterConfigs(let body):
            return KafkaResponseEncoding.outcome(await self.alterConfigs(body, version: version), header: header)
        case .initProducerId(let body):
            return KafkaResponseEncoding.outcome(await self.initProducerId(body, version: version), header: header)
        case .findCoordinator(let body):
            return KafkaResponseEncoding.outcome(self.findCoordinator(body, version: version), header: header)
        case .saslHandshake(let body):
            if let sasl { return sasl.handshake(body, header: header, connection: connection) }
            // SASL is not configured: no mechanism is enabled (the client reports this clearly).
            return KafkaResponseEncoding.outcome(
                SaslHandshakeResponse(errorCode: KafkaErrorCode.unsupportedSaslMechanism.rawValue, mechanisms: []),
                header: header)
        case .saslAuthenticate(let body):
            if let sasl { return sasl.authenticate(body, header: header, connection: connection) }
            return .close(reason: "SaslAuthenticate without a SASL handshake (SASL is not enabled)")
        case .joinGroup, .syncGroup, .heartbeat, .leaveGroup, .offsetCommit, .offsetFetch:
            return await self.group(request, header: header, connection: connection)
        }
    }

    /// Closes storage and group state; called once after the listener stopped.
    func close() async {
        await self.groups?.close()
        await self.store.close()
    }

    /// Milliseconds since the Unix epoch.
    static func nowMs() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }
}
