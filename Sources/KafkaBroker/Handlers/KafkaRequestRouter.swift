public import Logging
public import NIOCore
import KafkaProtocol

/// Decodes request frames, applies the broker's version rules and hands each request to its
/// handler; the network layer's ``KafkaFrameResponder``.
///
/// Kafka's rules for requests it cannot serve: ApiVersions in a version too new gets a v0
/// response with `UNSUPPORTED_VERSION`; any other unknown API key, unsupported version or
/// malformed body closes the connection (with a log line), as the Java broker does. With SASL
/// enabled, a connection that has not authenticated may only send ApiVersions, SaslHandshake and
/// SaslAuthenticate (after SaslHandshake v0: raw tokens); anything else closes it.
public struct KafkaRequestRouter: KafkaFrameResponder {
    /// Everything the handlers need.
    let broker: BrokerHandlers
    let logger: Logger

    /// Creates a router over `broker`'s handlers.
    public init(broker: BrokerHandlers, logger: Logger) {
        self.broker = broker
        self.logger = logger
    }

    public func respond(to frame: ByteBuffer, on connection: KafkaConnectionInfo) async -> KafkaFrameOutcome {
        if let sasl = self.broker.sasl, connection.session.expectsRawSASLToken {
            return sasl.rawToken(frame, connection: connection)
        }
        var frame = frame
        let header: KafkaRequestHeader
        let request: KafkaRequest
        do {
            (header, request) = try KafkaRequest.decode(frame: &frame)
        } catch {
            return self.undecodable(error)
        }
        guard BrokerAPIVersions.accepted(header.apiKey).contains(header.apiVersion) else {
            return .close(
                reason: "\(header.apiKey) v\(header.apiVersion) is not supported "
                    + "(accepted \(BrokerAPIVersions.accepted(header.apiKey)))")
        }
        if let sasl = self.broker.sasl, let refusal = sasl.gate(header.apiKey, on: connection) {
            return refusal
        }
        return await self.broker.handle(request, header: header, connection: connection)
    }

    /// The outcome for a frame `KafkaRequest.decode(frame:)` rejected.
    private func undecodable(_ error: KafkaDecodingError) -> KafkaFrameOutcome {
        guard let prefix = error.requestHeaderPrefix else {
            return .close(reason: "malformed request: \(error)")
        }
        if prefix.apiKey == KafkaAPIKey.apiVersions.rawValue, error.kind == .unsupportedVersion {
            self.logger.info("ApiVersions v\(prefix.apiVersion) is not supported; answering UNSUPPORTED_VERSION in v0")
            return KafkaResponseEncoding.outcome(
                ApiVersionsHandler.unsupportedVersionResponse(), correlationId: prefix.correlationId, version: 0)
        }
        return .close(
            reason: "undecodable request (api key \(prefix.apiKey) v\(prefix.apiVersion), "
                + "correlation id \(prefix.correlationId)): \(error)")
    }
}

/// Response framing shared by the handlers.
enum KafkaResponseEncoding {
    /// `response` framed for `correlationId` in `version`, or a close if it cannot be encoded.
    static func outcome<Response: KafkaResponseMessage>(
        _ response: Response, correlationId: Int32, version: Int16
    ) -> KafkaFrameOutcome {
        do {
            return .respond(
                try KafkaFrame.encodeResponse(response, header: KafkaResponseHeader(correlationId: correlationId), version: version))
        } catch {
            return .close(reason: "cannot encode \(Response.self) v\(version): \(error)")
        }
    }

    /// `response` framed as the answer to the request with `header`.
    static func outcome<Response: KafkaResponseMessage>(
        _ response: Response, header: KafkaRequestHeader
    ) -> KafkaFrameOutcome {
        outcome(response, correlationId: header.correlationId, version: header.apiVersion)
    }
}
