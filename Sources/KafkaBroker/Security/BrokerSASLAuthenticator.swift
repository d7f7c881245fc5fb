public import KafkaSecurity
public import Logging
import KafkaProtocol
import NIOCore

/// SASL authentication on the broker: which requests an unauthenticated connection may send,
/// SaslHandshake (v0 and v1), SaslAuthenticate (v0-v2) and the raw-token flow after SaslHandshake v0.
///
/// Failures are logged precisely; the client gets `SASL_AUTHENTICATION_FAILED` with a message that
/// does not reveal whether the user exists, and the connection is closed.
public struct BrokerSASLAuthenticator: Sendable {
    /// The users and enabled mechanisms.
    public let users: KafkaSASLUserStore
    let logger: Logger

    /// Creates an authenticator over `users`.
    public init(users: KafkaSASLUserStore, logger: Logger) {
        self.users = users
        self.logger = logger
    }

    /// Builds the user store from `configuration` (deriving SCRAM credentials).
    ///
    /// - Throws: ``KafkaSASLError`` if a setting is invalid.
    public init(configuration: KafkaBrokerSASLConfiguration, logger: Logger) throws(KafkaSASLError) {
        self.init(users: try KafkaSASLUserStore(mechanisms: configuration.mechanisms, users: configuration.users), logger: logger)
    }

    /// The APIs an unauthenticated connection may use.
    static let allowedBeforeAuthentication: Set<KafkaAPIKey> = [.apiVersions, .saslHandshake, .saslAuthenticate]

    /// `nil` if `apiKey` may proceed on `connection`, else the outcome closing it.
    func gate(_ apiKey: KafkaAPIKey, on connection: KafkaConnectionInfo) -> KafkaFrameOutcome? {
        guard connection.session.authenticatedUser == nil, !Self.allowedBeforeAuthentication.contains(apiKey) else {
            return nil
        }
        return .close(reason: "\(apiKey) before SASL authentication completed")
    }

    /// SaslHandshake: chooses the mechanism for the following tokens.
    func handshake(
        _ request: SaslHandshakeRequest, header: KafkaRequestHeader, connection: KafkaConnectionInfo
    ) -> KafkaFrameOutcome {
        let enabled = self.users.mechanisms.map(\.kafkaName)
        guard case .unauthenticated = connection.session.saslState else {
            return .close(
                reason: "SaslHandshake in the wrong state (already authenticating or authenticated)",
                response: self.encoded(
                    SaslHandshakeResponse(errorCode: KafkaErrorCode.illegalSaslState.rawValue, mechanisms: enabled),
                    header: header))
        }
        guard let mechanism = KafkaSASLMechanism(kafkaName: request.mechanism),
            let exchange = try? KafkaSASLServerExchange(mechanism: mechanism, users: self.users)
        else {
            return .close(
                reason: "SaslHandshake asked for mechanism \"\(request.mechanism)\"; enabled: \(enabled.joined(separator: ", "))",
                response: self.encoded(
                    SaslHandshakeResponse(errorCode: KafkaErrorCode.unsupportedSaslMechanism.rawValue, mechanisms: enabled),
                    header: header))
        }
        connection.session.saslState = .authenticating(exchange, legacy: header.apiVersion == 0)
        return KafkaResponseEncoding.outcome(
            SaslHandshakeResponse(errorCode: KafkaErrorCode.none.rawValue, mechanisms: enabled), header: header)
    }

    /// SaslAuthenticate: one token of the exchange the handshake started.
    func authenticate(
        _ request: SaslAuthenticateRequest, header: KafkaRequestHeader, connection: KafkaConnectionInfo
    ) -> KafkaFrameOutcome {
        guard case .authenticating(var exchange, legacy: false) = connection.session.saslState else {
            return .close(
                reason: "SaslAuthenticate without a SaslHandshake v1 or after authentication",
                response: self.encoded(
                    SaslAuthenticateResponse(
                        errorCode: KafkaErrorCode.illegalSaslState.rawValue,
                        errorMessage: "SaslAuthenticate is only valid after SaslHandshake v1 and before authentication completes"),
                    header: header))
        }
        do {
            let step = try exchange.respond(to: request.authBytes.readableBytesView)
            self.advance(connection, exchange: exchange, step: step, legacy: false)
            return KafkaResponseEncoding.outcome(
                SaslAuthenticateResponse(errorCode: KafkaErrorCode.none.rawValue, authBytes: ByteBuffer(bytes: step.token)),
                header: header)
        } catch {
            return .close(
                reason: self.failureLog(error, exchange: exchange),
                response: self.encoded(
                    SaslAuthenticateResponse(
                        errorCode: KafkaErrorCode.saslAuthenticationFailed.rawValue,
                        errorMessage: Self.clientMessage(error, mechanism: exchange.mechanism)),
                    header: header))
        }
    }

    /// A raw token frame after SaslHandshake v0: answered with a raw size-prefixed token, or the
    /// connection is closed on failure (the v0 flow has no error response).
    func rawToken(_ frame: ByteBuffer, connection: KafkaConnectionInfo) -> KafkaFrameOutcome {
        guard case .authenticating(var exchange, legacy: true) = connection.session.saslState else {
            return .close(reason: "raw SASL token outside the SaslHandshake v0 flow")
        }
        do {
            let step = try exchange.respond(to: frame.readableBytesView)
            self.advance(connection, exchange: exchange, step: step, legacy: true)
            var response = ByteBuffer()
            response.writeInteger(Int32(step.token.count))
            response.writeBytes(step.token)
            return .respond(response)
        } catch {
            return .close(reason: self.failureLog(error, exchange: exchange))
        }
    }

    /// Stores the exchange's progress in the session; logs a completed authentication.
    private func advance(
        _ connection: KafkaConnectionInfo, exchange: KafkaSASLServerExchange, step: KafkaSASLServerExchange.Step,
        legacy: Bool
    ) {
        if step.isComplete, let user = exchange.authenticatedUser {
            connection.session.saslState = .authenticated(user: user, mechanism: exchange.mechanism)
            self.logger.info(
                "SASL authentication succeeded",
                metadata: ["connection": "\(connection)", "user": "\(user)", "mechanism": "\(exchange.mechanism)"])
        } else {
            connection.session.saslState = .authenticating(exchange, legacy: legacy)
        }
    }

    /// The close reason logged for a failed exchange: precise, including the user.
    private func failureLog(_ error: KafkaSASLError, exchange: KafkaSASLServerExchange) -> String {
        "SASL \(exchange.mechanism) authentication failed: \(error)"
    }

    /// The message sent to the client: credentials problems are not told apart (no user enumeration).
    static func clientMessage(_ error: KafkaSASLError, mechanism: KafkaSASLMechanism) -> String {
        switch error {
        case .unknownUser, .invalidCredentials:
            "Authentication failed: Invalid username or password (SASL mechanism \(mechanism))"
        default:
            "Authentication failed (SASL mechanism \(mechanism)): \(error)"
        }
    }

    private func encoded<Response: KafkaResponseMessage>(_ response: Response, header: KafkaRequestHeader) -> ByteBuffer? {
        try? KafkaFrame.encodeResponse(response, header: KafkaResponseHeader(correlationId: header.correlationId), version: header.apiVersion)
    }
}
