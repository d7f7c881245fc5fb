import KafkaProtocol
import NIOCore

/// Encodes requests onto a channel running ``KafkaRequestPipelineHandler`` and decodes responses.
///
/// Shared by the connection handshake (ApiVersions, SASL), before versions are known, and by
/// ``KafkaBrokerConnection`` afterwards. One buffer is allocated per request frame; the response
/// is decoded from the frame slice the pipeline hands over.
struct KafkaChannelTransport: Sendable {
    let channel: any Channel
    /// `host:port` (and node id, if known), for error messages.
    let broker: String
    let clientID: String
    /// Set by the pipeline handler when the connection closes.
    let closeReason: KafkaConnectionCloseReason

    /// Sends `request` in `version` and returns the decoded response.
    func send<R: KafkaRequestMessage>(
        _ request: R, version: Int16, timeout: Duration
    ) async throws(KafkaClientError) -> R.Response {
        var frame = try await self.responseFrame(for: request, version: version, timeout: timeout)
        do {
            return try KafkaFrame.decodeResponse(R.Response.self, version: version, frame: &frame).response
        } catch {
            throw KafkaClientError(
                .protocolError, "cannot decode the \(R.apiKey.name) v\(version) response from broker \(self.broker): \(error)")
        }
    }

    /// Sends `request` in `version` and returns the raw response frame (starting at the response
    /// header), for callers that decode it themselves (the ApiVersions fallback).
    func responseFrame<R: KafkaRequestMessage>(
        for request: R, version: Int16, timeout: Duration
    ) async throws(KafkaClientError) -> ByteBuffer {
        let promise = self.channel.eventLoop.makePromise(of: ByteBuffer.self)
        let outbound = KafkaOutboundRequest(
            frame: try self.encode(request, version: version), apiKey: R.apiKey, apiVersion: version,
            response: promise, timeout: TimeAmount(timeout))
        self.write(outbound, failing: promise)
        do {
            return try await promise.futureResult.get()
        } catch let error as KafkaClientError {
            throw error
        } catch {
            throw KafkaClientError(.disconnected, "\(R.apiKey.name) request to broker \(self.broker) failed: \(error)")
        }
    }

    /// Writes `request` in `version` without expecting a response; returns once it is written.
    func sendWithoutResponse<R: KafkaRequestMessage>(_ request: R, version: Int16) async throws(KafkaClientError) {
        let outbound = KafkaOutboundRequest(
            frame: try self.encode(request, version: version), apiKey: R.apiKey, apiVersion: version,
            response: nil, timeout: .zero)
        do {
            try await self.channel.writeAndFlush(outbound).get()
        } catch let error as KafkaClientError {
            throw error
        } catch {
            throw self.sendFailure(R.apiKey, error)
        }
    }

    private func write(_ outbound: KafkaOutboundRequest, failing promise: EventLoopPromise<ByteBuffer>) {
        // A write that never reaches the pipeline handler (channel already closed) fails here;
        // completing an already completed promise is a no-op in NIO.
        self.channel.writeAndFlush(outbound).whenFailure { error in
            promise.fail(error as? KafkaClientError ?? self.sendFailure(outbound.apiKey, error))
        }
    }

    /// A send that failed because the channel is closed: says why it closed, when known.
    private func sendFailure(_ apiKey: KafkaAPIKey, _ error: any Error) -> KafkaClientError {
        let cause = self.closeReason.value?.message ?? "\(error)"
        return KafkaClientError(.disconnected, "cannot send \(apiKey.name) to broker \(self.broker): \(cause)")
    }

    private func encode<R: KafkaRequestMessage>(_ request: R, version: Int16) throws(KafkaClientError) -> ByteBuffer {
        var frame = self.channel.allocator.buffer(capacity: Self.frameCapacity(for: request))
        let header = KafkaRequestHeader(apiKey: R.apiKey, apiVersion: version, correlationId: 0, clientId: self.clientID)
        do {
            try KafkaFrame.encodeRequest(request, header: header, into: &frame)
        } catch {
            throw KafkaClientError(
                .invalidRequest, "cannot encode \(R.apiKey.name) v\(version) for broker \(self.broker): \(error)")
        }
        return frame
    }

    /// The initial frame capacity: Produce carries its record batches, so the frame is allocated
    /// at their size plus room for names and headers and is never grown (copied) while encoding.
    private static func frameCapacity<R: KafkaRequestMessage>(for request: R) -> Int {
        guard let produce = request as? ProduceRequest else { return 256 }
        var bytes = 128
        for topic in produce.topicData {
            bytes += 64 + topic.name.utf8.count
            for partition in topic.partitionData { bytes += 32 + (partition.records?.readableBytes ?? 0) }
        }
        return bytes
    }
}
