import KafkaProtocol
import NIOCore

/// One request on its way to the broker: its encoded frame and where its response goes.
struct KafkaOutboundRequest: Sendable {
    /// The whole frame, size prefix included, encoded with correlation id 0; the pipeline handler
    /// writes the real id in place (bytes 8...11 of the frame) when it assigns one.
    var frame: ByteBuffer
    /// The API and version, for error messages.
    var apiKey: KafkaAPIKey
    var apiVersion: Int16
    /// Completed with the response frame (a slice, without size prefix, starting at the response
    /// header); `nil` when no response is expected (Produce with acks=0).
    var response: EventLoopPromise<ByteBuffer>?
    /// How long to wait for the response before failing it and closing the connection.
    var timeout: TimeAmount
}

/// Pipelines requests over one connection: assigns correlation ids, keeps a table of pending
/// requests, matches each response frame to its request by correlation id, times requests out,
/// and fails every pending request when the connection closes.
///
/// A timed-out request closes the connection (as the Java client does): the broker or the path to
/// it is stuck, and the other pending requests fail with `disconnected` so callers reconnect.
final class KafkaRequestPipelineHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = KafkaOutboundRequest
    typealias OutboundOut = ByteBuffer

    private struct Pending {
        var promise: EventLoopPromise<ByteBuffer>
        var apiKey: KafkaAPIKey
        var apiVersion: Int16
        var timeout: Scheduled<Void>
    }

    /// The broker, for error messages.
    private let broker: String
    private var nextCorrelationID: Int32 = 0
    private var pending: [Int32: Pending] = [:]
    /// Why the connection is closing, once known; pending and later requests fail with it.
    private let closeReason: KafkaConnectionCloseReason

    init(broker: String, closeReason: KafkaConnectionCloseReason) {
        self.broker = broker
        self.closeReason = closeReason
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        var request = self.unwrapOutboundIn(data)
        if let reason = self.closeReason.value {
            request.response?.fail(reason)
            promise?.fail(reason)
            return
        }
        let id = self.nextCorrelationID
        self.nextCorrelationID = id == Int32.max ? 0 : id + 1
        request.frame.setInteger(id, at: request.frame.readerIndex + 8)
        if let response = request.response {
            let loop = context.eventLoop.assumeIsolated()
            let timeoutAmount = request.timeout
            let timeout = loop.scheduleTask(in: timeoutAmount) { [self] in
                self.timeOut(correlationID: id, after: timeoutAmount, context: context)
            }
            self.pending[id] = Pending(
                promise: response, apiKey: request.apiKey, apiVersion: request.apiVersion, timeout: timeout)
        }
        let writePromise = promise ?? context.eventLoop.makePromise(of: Void.self)
        if let response = request.response {
            let broker = self.broker
            let apiName = request.apiKey.name
            writePromise.futureResult.assumeIsolated().whenFailure { error in
                response.fail(KafkaClientError(.disconnected, "cannot send \(apiName) to broker \(broker): \(error)"))
            }
        }
        context.writeAndFlush(self.wrapOutboundOut(request.frame), promise: writePromise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = self.unwrapInboundIn(data)
        guard let id = frame.getInteger(at: frame.readerIndex, as: Int32.self) else {
            self.close(context: context, reason: KafkaClientError(
                .protocolError, "broker \(self.broker) sent a response frame of \(frame.readableBytes) bytes, too short for a header"))
            return
        }
        guard let entry = self.pending.removeValue(forKey: id) else {
            self.close(context: context, reason: KafkaClientError(
                .protocolError, "broker \(self.broker) answered correlation id \(id), which no pending request has"))
            return
        }
        entry.timeout.cancel()
        entry.promise.succeed(frame)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let reason =
            (error as? KafkaClientError)
            ?? KafkaClientError(
                error is KafkaResponseFrameError ? .protocolError : .disconnected,
                "connection to broker \(self.broker) failed: \(error)")
        self.close(context: context, reason: reason)
    }

    func channelInactive(context: ChannelHandlerContext) {
        let reason = self.closeReason.record(KafkaClientError(.disconnected, "connection to broker \(self.broker) closed"))
        self.failAll(reason)
        context.fireChannelInactive()
    }

    /// Fails request `correlationID` as timed out and closes the connection.
    private func timeOut(correlationID: Int32, after timeout: TimeAmount, context: ChannelHandlerContext) {
        guard let entry = self.pending.removeValue(forKey: correlationID) else { return }
        let millis = timeout.nanoseconds / 1_000_000
        entry.promise.fail(KafkaClientError(
            .timedOut,
            "\(entry.apiKey.name) v\(entry.apiVersion) request to broker \(self.broker) got no response within \(millis) ms"))
        self.close(context: context, reason: KafkaClientError(
            .disconnected,
            "connection to broker \(self.broker) closed after a \(entry.apiKey.name) request timed out"))
    }

    private func close(context: ChannelHandlerContext, reason: KafkaClientError) {
        self.failAll(self.closeReason.record(reason))
        context.close(promise: nil)
    }

    private func failAll(_ reason: KafkaClientError) {
        let entries = self.pending
        self.pending.removeAll()
        for (_, entry) in entries {
            entry.timeout.cancel()
            entry.promise.fail(reason)
        }
    }
}
