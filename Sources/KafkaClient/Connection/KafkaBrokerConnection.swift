public import KafkaProtocol
public import Logging
public import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// One TCP connection to one broker, after ApiVersions negotiation.
///
/// Requests are pipelined: any number may be in flight, each matched to its response by
/// correlation id. Each has a timeout; a timeout closes the connection. When the connection closes
/// every pending request fails with ``KafkaClientError/Kind/disconnected`` and later sends fail at
/// once; ``KafkaCluster`` then opens a new connection.
public final class KafkaBrokerConnection: Sendable {
    /// The broker's node id, or `nil` for a bootstrap connection made before metadata was known.
    public let nodeID: Int32?
    /// Where the connection goes.
    public let address: KafkaBrokerAddress
    /// The version ranges the broker advertised.
    public let brokerAPIVersions: KafkaBrokerAPIVersions

    private let transport: KafkaChannelTransport
    private let requestTimeout: Duration

    /// Whether the connection is still open.
    public var isActive: Bool { self.transport.channel.isActive }

    private init(
        nodeID: Int32?, address: KafkaBrokerAddress, brokerAPIVersions: KafkaBrokerAPIVersions,
        transport: KafkaChannelTransport, requestTimeout: Duration
    ) {
        self.nodeID = nodeID
        self.address = address
        self.brokerAPIVersions = brokerAPIVersions
        self.transport = transport
        self.requestTimeout = requestTimeout
    }

    /// Connects to `address`, then negotiates versions with ApiVersions (v3, falling back to v0
    /// when the broker answers `UNSUPPORTED_VERSION`).
    ///
    /// - Throws: ``KafkaClientError`` `connectionFailed` if the TCP connect fails or takes longer
    ///   than `configuration.connectTimeout`; `timedOut`, `disconnected`, `protocolError` or
    ///   `broker` if the handshake fails. The channel is closed on any failure.
    public static func connect(
        to address: KafkaBrokerAddress, nodeID: Int32? = nil, configuration: KafkaClientConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "tributary.kafka.client")
    ) async throws(KafkaClientError) -> KafkaBrokerConnection {
        let name = nodeID.map { "\(address) (node \($0))" } ?? "\(address)"
        let closeReason = KafkaConnectionCloseReason()
        let channel = try await Self.openChannel(
            to: address, name: name, configuration: configuration, eventLoopGroup: eventLoopGroup,
            closeReason: closeReason)
        let transport = KafkaChannelTransport(
            channel: channel, broker: name, clientID: configuration.clientID, closeReason: closeReason)
        do {
            let versions = try await Self.negotiateAPIVersions(transport, timeout: configuration.connectTimeout)
            logger.debug("connected to broker \(name); ApiVersions lists \(versions.ranges.count) APIs")
            return KafkaBrokerConnection(
                nodeID: nodeID, address: address, brokerAPIVersions: versions, transport: transport,
                requestTimeout: configuration.requestTimeout)
        } catch {
            channel.close(promise: nil)
            throw error
        }
    }

    /// The highest version of `R`'s API both this client and the broker support.
    ///
    /// - Throws: ``KafkaClientError`` `unsupportedVersion` naming both ranges if there is none.
    public func version<R: KafkaRequestMessage>(for type: R.Type) throws(KafkaClientError) -> Int16 {
        try self.brokerAPIVersions.negotiatedVersion(R.apiKey, broker: self.transport.broker)
    }

    /// Sends `request` in the negotiated version (or `version`) and returns the decoded response.
    ///
    /// - Parameter timeout: how long to wait for the response; default: the configuration's
    ///   `requestTimeout`. Long polls (Fetch) pass their wait time plus a margin.
    /// - Throws: ``KafkaClientError``: `timedOut`, `disconnected`, `protocolError`,
    ///   `unsupportedVersion`, `invalidRequest`. Error codes inside the response are not checked.
    public func send<R: KafkaRequestMessage>(
        _ request: R, version: Int16? = nil, timeout: Duration? = nil
    ) async throws(KafkaClientError) -> R.Response {
        let version = try self.resolvedVersion(version, for: R.self)
        return try await self.transport.send(request, version: version, timeout: timeout ?? self.requestTimeout)
    }

    /// Writes `request` (Produce with acks=0) without waiting for a response; returns once written.
    public func sendWithoutResponse<R: KafkaRequestMessage>(
        _ request: R, version: Int16? = nil
    ) async throws(KafkaClientError) {
        let version = try self.resolvedVersion(version, for: R.self)
        try await self.transport.sendWithoutResponse(request, version: version)
    }

    private func resolvedVersion<R: KafkaRequestMessage>(
        _ version: Int16?, for type: R.Type
    ) throws(KafkaClientError) -> Int16 {
        if let version { return version }
        return try self.version(for: R.self)
    }

    /// Closes the connection; pending requests fail with `disconnected`.
    public func close() async {
        try? await self.transport.channel.close()
    }

    // MARK: - Connect and handshake

    private static func openChannel(
        to address: KafkaBrokerAddress, name: String, configuration: KafkaClientConfiguration,
        eventLoopGroup: any EventLoopGroup, closeReason: KafkaConnectionCloseReason
    ) async throws(KafkaClientError) -> any Channel {
        let maximumFrameBytes = configuration.maximumResponseBytes
        let bootstrap = ClientBootstrap(group: eventLoopGroup)
            .connectTimeout(TimeAmount(configuration.connectTimeout))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handlers = channel.pipeline.syncOperations
                    try handlers.addHandler(
                        ByteToMessageHandler(KafkaResponseFrameDecoder(maximumFrameBytes: maximumFrameBytes)))
                    try handlers.addHandler(KafkaRequestPipelineHandler(broker: name, closeReason: closeReason))
                }
            }
        do {
            return try await bootstrap.connect(host: address.host, port: address.port).get()
        } catch {
            throw KafkaClientError(.connectionFailed, "cannot connect to broker \(name): \(Self.describeConnectError(error))")
        }
    }

    /// NIO's connect errors in a few words: `Connection refused`, `connect timed out after 10000 ms`.
    private static func describeConnectError(_ error: any Error) -> String {
        switch error {
        case let error as NIOConnectionError:
            if let dns = error.dnsAAAAError ?? error.dnsAError, error.connectionErrors.isEmpty {
                return "cannot resolve \(error.host): \(dns)"
            }
            let causes = error.connectionErrors.map { Self.describeConnectError($0.error) }
            return causes.isEmpty ? "\(error)" : Array(Set(causes)).sorted().joined(separator: "; ")
        case let error as IOError:
            return String(cString: strerror(error.errnoCode))
        case ChannelError.connectTimeout(let timeout):
            return "connect timed out after \(timeout.nanoseconds / 1_000_000) ms"
        default:
            return "\(error)"
        }
    }

    /// ApiVersions v3; if the broker answers `UNSUPPORTED_VERSION` (in a v0 body, as brokers do
    /// for versions they do not know), again in v0.
    static func negotiateAPIVersions(
        _ transport: KafkaChannelTransport, timeout: Duration
    ) async throws(KafkaClientError) -> KafkaBrokerAPIVersions {
        let request = ApiVersionsRequest(clientSoftwareName: "tributary", clientSoftwareVersion: "1.0")
        let preferred = KafkaClientAPIVersions.supported(.apiVersions).upperBound
        var response = try await Self.apiVersions(request, version: preferred, transport, timeout: timeout)
        if response.errorCode == KafkaErrorCode.unsupportedVersion.rawValue && preferred > 0 {
            response = try await Self.apiVersions(request, version: 0, transport, timeout: timeout)
        }
        guard response.errorCode == 0 else {
            throw KafkaClientError.broker(
                KafkaErrorCode(rawValue: response.errorCode), context: "ApiVersions to broker \(transport.broker)")
        }
        return KafkaBrokerAPIVersions(response.apiKeys)
    }

    /// One ApiVersions round trip; a response that does not decode in `version` is read as v0,
    /// the version brokers answer in when they reject the request's version.
    private static func apiVersions(
        _ request: ApiVersionsRequest, version: Int16, _ transport: KafkaChannelTransport, timeout: Duration
    ) async throws(KafkaClientError) -> ApiVersionsResponse {
        var frame = try await transport.responseFrame(for: request, version: version, timeout: timeout)
        if let decoded = try? KafkaFrame.decodeResponse(ApiVersionsResponse.self, version: version, frame: &frame) {
            return decoded.response
        }
        do {
            return try KafkaFrame.decodeResponse(ApiVersionsResponse.self, version: 0, frame: &frame).response
        } catch {
            throw KafkaClientError(
                .protocolError, "cannot decode the ApiVersions v\(version) response from broker \(transport.broker): \(error)")
        }
    }
}
