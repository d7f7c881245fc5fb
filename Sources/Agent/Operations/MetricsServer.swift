public import NIOCore
import NIOHTTP1
import NIOPosix

/// The HTTP/1.1 listener of `metrics.listen`: `GET /metrics` (Prometheus text 0.0.4 from `AgentMetrics`),
/// `GET /health` (200 `ok`, or 503 with the reason), 404 for other paths, 405 for other methods. Every response
/// closes its connection; a malformed request gets 400 and is closed; a connection idle for 10 s is closed.
public final class MetricsServer: Sendable {
    private let channel: any Channel

    /// The address actually bound (port 0 in the config gives a free port).
    public let boundAddress: SocketAddress

    private init(channel: any Channel, boundAddress: SocketAddress) {
        self.channel = channel
        self.boundAddress = boundAddress
    }

    /// Binds `host:port` and serves `metrics`.
    ///
    /// - Throws: the bind error (address in use, not an address of this host, …).
    public static func start(host: String, port: Int, metrics: AgentMetrics) async throws -> MetricsServer {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(allTimeout: .seconds(10)))
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(MetricsHTTPHandler(metrics: metrics))
                }
            }
            .bind(host: host, port: port).get()
        guard let address = channel.localAddress else {
            try? await channel.close().get()
            throw MetricsServerError("metrics.listen \(host):\(port): bound but has no local address")
        }
        return MetricsServer(channel: channel, boundAddress: address)
    }

    /// The bound port.
    public var port: Int { boundAddress.port ?? 0 }

    /// `host:port` of the bound address.
    public var boundDescription: String {
        let host = boundAddress.ipAddress ?? "?"
        let port = boundAddress.port ?? 0
        return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// Stops listening (open connections finish their response).
    public func stop() async {
        try? await channel.close().get()
    }
}

/// Why the metrics listener could not start.
public struct MetricsServerError: Error, Sendable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// Answers one request per connection, then closes it.
final class MetricsHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let metrics: AgentMetrics
    private var request: HTTPRequestHead?

    init(metrics: AgentMetrics) { self.metrics = metrics }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            request = head
        case .body:
            break
        case .end:
            guard let head = request else { return }
            request = nil
            respond(to: head, context: context)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        let status: HTTPResponseStatus
        var contentType = "text/plain; charset=utf-8"
        var body: String
        var extraHeaders: [(String, String)] = []
        switch path {
        case "/metrics", "/health":
            guard head.method == .GET || head.method == .HEAD else {
                status = .methodNotAllowed
                body = "method \(head.method.rawValue) not allowed; use GET\n"
                extraHeaders.append(("Allow", "GET, HEAD"))
                break
            }
            if path == "/metrics" {
                status = .ok
                contentType = PrometheusText.contentType
                body = metrics.render()
            } else {
                let health = metrics.health
                status = health.isHealthy ? .ok : .serviceUnavailable
                body = health.reason + "\n"
            }
        default:
            status = .notFound
            body = "not found; try /metrics or /health\n"
        }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Content-Length", value: String(body.utf8.count))
        headers.add(name: "Connection", value: "close")
        for (name, value) in extraHeaders { headers.add(name: name, value: value) }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
        if head.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
        }
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in bound.value.close(promise: nil) }
    }
}
