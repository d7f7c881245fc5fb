public import Logging
public import NIOCore
import Synchronization
public import NIOPosix
public import NIOSSL

/// The broker's TCP listener: accepts connections, cuts frames, hands each request to a
/// ``KafkaFrameResponder`` and writes the answers back in order.
///
/// Each connection is served by its own task: it reads one request, waits for its outcome, writes
/// the response, then reads the next. So responses leave in request order (Kafka clients pipeline
/// and match responses by order), and a long-poll Fetch holds up only its own connection. A
/// connection's errors (bad frames, a peer reset) are caught and logged, so no client can stop the
/// listener.
///
/// Usage: ``bind(configuration:logger:group:)``, read ``localAddress``, `await` ``run(responder:)``;
/// ``triggerGracefulShutdown()`` stops accepting, closes idle connections, lets each busy one
/// finish the request it is working on and then closes it and makes ``run(responder:)`` return.
public final class KafkaListener: Sendable {
    /// Listener settings.
    public struct Configuration: Sendable {
        /// Host to bind. Default: `127.0.0.1`.
        public var host: String
        /// Port to bind; 0 picks a free one (see ``KafkaListener/localAddress``). Default: 9092.
        public var port: Int
        /// Largest request frame accepted, without the 4-byte size (`socket.request.max.bytes`).
        /// Default: 100 MiB.
        public var maximumFrameBytes: Int
        /// A connection with no reads or writes for this long is closed (`connections.max.idle.ms`).
        /// Default: 10 minutes.
        public var idleTimeout: Duration

        /// Creates a configuration; every parameter has the default documented on its property.
        public init(
            host: String = "127.0.0.1", port: Int = 9092,
            maximumFrameBytes: Int = KafkaFrameDecoder.defaultMaximumFrameBytes,
            idleTimeout: Duration = .seconds(600)
        ) {
            self.host = host
            self.port = port
            self.maximumFrameBytes = maximumFrameBytes
            self.idleTimeout = idleTimeout
        }
    }

    private typealias Connection = NIOAsyncChannel<ByteBuffer, ByteBuffer>

    /// Mutable state shared by the accept loop, the connections and ``triggerGracefulShutdown()``.
    private struct State {
        /// Open connections by number, and whether each is working on a request: shutdown closes
        /// the idle ones and lets the busy ones close themselves after answering.
        var connections: [UInt64: (channel: Channel, isBusy: Bool)] = [:]
        var nextConnectionNumber: UInt64 = 1
        var isShuttingDown = false
    }

    private let serverChannel: NIOAsyncChannel<Connection, Never>
    private let logger: Logger
    private let state = Mutex(State())

    /// The address actually bound (with the real port when port 0 was asked for).
    public let localAddress: SocketAddress

    private init(
        serverChannel: NIOAsyncChannel<Connection, Never>, logger: Logger
    ) {
        self.serverChannel = serverChannel
        self.logger = logger
        self.localAddress = serverChannel.channel.localAddress!
    }

    /// Binds the listening socket; connections queue until ``run(responder:)`` accepts them.
    /// With `tlsContext`, every connection speaks TLS (the TLS handler comes first in the pipeline).
    ///
    /// - Throws: if the host cannot be resolved or the address cannot be bound.
    public static func bind(
        configuration: Configuration, tlsContext: NIOSSLContext? = nil, logger: Logger,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> KafkaListener {
        let maximumFrameBytes = configuration.maximumFrameBytes
        let idle = TimeAmount.nanoseconds(
            configuration.idleTimeout.components.seconds * 1_000_000_000
                + configuration.idleTimeout.components.attoseconds / 1_000_000_000)
        let idleLogger = logger
        let serverChannel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 256)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: configuration.host, port: configuration.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handlers = channel.pipeline.syncOperations
                    if let tlsContext { try handlers.addHandler(NIOSSLServerHandler(context: tlsContext)) }
                    try handlers.addHandler(IdleStateHandler(allTimeout: idle))
                    try handlers.addHandler(IdleConnectionCloser(logger: idleLogger))
                    try handlers.addHandler(
                        ByteToMessageHandler(KafkaFrameDecoder(maximumFrameBytes: maximumFrameBytes)))
                    return try Connection(wrappingChannelSynchronously: channel)
                }
            }
        return KafkaListener(serverChannel: serverChannel, logger: logger)
    }

    /// Accepts connections and serves their requests with `responder` until
    /// ``triggerGracefulShutdown()``; returns once every connection is closed.
    public func run(responder: any KafkaFrameResponder) async throws {
        try await self.serverChannel.executeThenClose { inbound in
            try await withThrowingDiscardingTaskGroup { group in
                for try await connection in inbound {
                    guard let number = self.register(connection.channel) else {
                        try? await connection.channel.close()
                        continue
                    }
                    group.addTask {
                        await self.serve(connection, number: number, responder: responder)
                    }
                }
            }
        }
        self.logger.info("listener stopped")
    }

    /// Stops accepting; idle connections close now, busy ones after answering their request.
    public func triggerGracefulShutdown() {
        let (idle, busy) = self.state.withLock { state -> ([Channel], Int) in
            state.isShuttingDown = true
            let idle = state.connections.values.filter { !$0.isBusy }.map(\.channel)
            return (idle, state.connections.count - idle.count)
        }
        self.logger.info(
            "shutting down: closing the listener and \(idle.count) idle connection(s); \(busy) finish their request first")
        self.serverChannel.channel.close(promise: nil)
        for channel in idle {
            channel.close(promise: nil)
        }
    }

    /// Adds a new connection; `nil` if shutting down.
    private func register(_ channel: Channel) -> UInt64? {
        self.state.withLock { state in
            guard !state.isShuttingDown else { return nil }
            let number = state.nextConnectionNumber
            state.nextConnectionNumber += 1
            state.connections[number] = (channel, false)
            return number
        }
    }

    /// Marks connection `number` busy or idle; `false` if the listener is shutting down (the
    /// connection should close instead).
    private func setBusy(_ number: UInt64, _ isBusy: Bool) -> Bool {
        self.state.withLock { state in
            guard !state.isShuttingDown else { return false }
            state.connections[number]?.isBusy = isBusy
            return true
        }
    }

    private func serve(_ connection: Connection, number: UInt64, responder: any KafkaFrameResponder) async {
        let info = KafkaConnectionInfo(remoteAddress: connection.channel.remoteAddress, connectionNumber: number)
        var logger = self.logger
        logger[metadataKey: "connection"] = "\(info)"
        logger.debug("connection opened")
        defer { _ = self.state.withLock { $0.connections.removeValue(forKey: number) } }
        do {
            try await connection.executeThenClose { inbound, outbound in
                for try await frame in inbound {
                    // Busy from here until the answer is written, so shutdown waits for it.
                    guard self.setBusy(number, true) else { return }
                    switch await responder.respond(to: frame, on: info) {
                    case .respond(let response):
                        try await outbound.write(response)
                    case .noResponse:
                        break
                    case .close(let reason, let response):
                        if let response { try await outbound.write(response) }
                        logger.warning("closing connection: \(reason)")
                        return
                    }
                    guard self.setBusy(number, false) else { return }
                }
            }
            logger.debug("connection closed")
        } catch let error as KafkaFrameDecoderError {
            logger.warning("closing connection: bad frame: \(error)")
        } catch let error as NIOSSLError {
            logger.warning("closing connection: TLS failed: \(error)")
        } catch {
            // Usually the peer went away mid-request (reset, or I/O on a closed channel).
            logger.debug("connection ended: \(error)")
        }
    }
}

/// Closes a connection when `IdleStateHandler` reports it idle, with a log line.
final class IdleConnectionCloser: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let logger: Logger

    init(logger: Logger) { self.logger = logger }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            self.logger.warning(
                "closing idle connection", metadata: ["peer": "\(context.remoteAddress.map { "\($0)" } ?? "?")"])
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}
