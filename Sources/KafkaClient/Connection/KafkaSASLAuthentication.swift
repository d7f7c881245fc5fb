import KafkaProtocol
import KafkaSecurity
import NIOCore

/// SASL authentication on a fresh connection, after ApiVersions: SaslHandshake v1 names the
/// mechanism, then SaslAuthenticate requests carry the tokens of KafkaSecurity's exchange (PLAIN,
/// SCRAM-SHA-256, SCRAM-SHA-512) until it completes.
enum KafkaSASLAuthentication {
    /// Runs the exchange for `configuration` over `transport`.
    ///
    /// - Throws: ``KafkaClientError`` `authenticationFailed` with the broker's message when the
    ///   broker refuses the mechanism or the credentials, or when its SCRAM proof does not verify;
    ///   `unsupportedVersion` if the broker does not speak SaslHandshake v1 / SaslAuthenticate.
    static func authenticate(
        _ transport: KafkaChannelTransport, versions: KafkaBrokerAPIVersions, configuration: KafkaSASLConfiguration,
        timeout: Duration
    ) async throws(KafkaClientError) {
        let broker = transport.broker
        let context = "SASL \(configuration.mechanism.kafkaName) authentication as \"\(configuration.username)\" to broker \(broker)"
        let handshakeVersion = try versions.negotiatedVersion(.saslHandshake, broker: broker)
        let handshake = try await transport.send(
            SaslHandshakeRequest(mechanism: configuration.mechanism.kafkaName), version: handshakeVersion, timeout: timeout)
        guard handshake.errorCode == 0 else {
            let code = KafkaErrorCode(rawValue: handshake.errorCode)
            let offered = handshake.mechanisms.isEmpty ? "none" : handshake.mechanisms.joined(separator: ", ")
            throw KafkaClientError(
                .authenticationFailed, "\(context) failed: \(code.name): the broker offers mechanisms: \(offered)")
        }
        let authenticateVersion = try versions.negotiatedVersion(.saslAuthenticate, broker: broker)
        var exchange = KafkaSASLClientExchange(configuration: configuration)
        var token: [UInt8]? = exchange.initialResponse()
        while let outgoing = token {
            let response = try await transport.send(
                SaslAuthenticateRequest(authBytes: ByteBuffer(bytes: outgoing)), version: authenticateVersion,
                timeout: timeout)
            guard response.errorCode == 0 else {
                let code = KafkaErrorCode(rawValue: response.errorCode)
                let message = response.errorMessage.flatMap { $0.isEmpty ? nil : $0 } ?? code.message
                throw KafkaClientError(.authenticationFailed, "\(context) failed: \(code.name): \(message)")
            }
            do {
                token = try exchange.respond(to: response.authBytes.readableBytesView)
            } catch {
                throw KafkaClientError(.authenticationFailed, "\(context) failed: \(error)")
            }
        }
    }
}
