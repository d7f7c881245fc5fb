/// The client's side of one SASL authentication for any supported mechanism: the tokens to put
/// into SaslAuthenticate requests, and the checks on the broker's answers.
///
/// Send ``initialResponse()``; while ``respond(to:)`` returns a token, send it and pass the
/// broker's next auth bytes back in. When it returns `nil`, authentication succeeded.
public struct KafkaSASLClientExchange: Sendable {
    private enum Mechanism: Sendable {
        case plain(SASLPlainMessage, sent: Bool)
        case scram(SCRAMClient, sentFinal: Bool)
    }

    /// The settings this exchange runs.
    public let configuration: KafkaSASLConfiguration
    private var mechanism: Mechanism
    private var complete = false

    /// Starts an exchange for `configuration`; `scramNonce` is for tests.
    public init(configuration: KafkaSASLConfiguration, scramNonce: String? = nil) {
        self.configuration = configuration
        switch configuration.mechanism {
        case .plain:
            self.mechanism = .plain(
                SASLPlainMessage(username: configuration.username, password: configuration.password), sent: false)
        case .scramSHA256, .scramSHA512:
            let algorithm: SCRAMAlgorithm = configuration.mechanism == .scramSHA256 ? .sha256 : .sha512
            self.mechanism = .scram(
                SCRAMClient(
                    algorithm: algorithm, username: configuration.username, password: configuration.password,
                    nonce: scramNonce),
                sentFinal: false)
        }
    }

    /// Whether the broker accepted the credentials (and, for SCRAM, proved it knows them).
    public var isComplete: Bool { self.complete }

    /// The first token: the PLAIN message, or SCRAM's client-first message.
    public mutating func initialResponse() -> [UInt8] {
        switch self.mechanism {
        case .plain(let message, _):
            self.mechanism = .plain(message, sent: true)
            return message.encoded()
        case .scram(var client, _):
            let token = client.clientFirstMessage()
            self.mechanism = .scram(client, sentFinal: false)
            return token
        }
    }

    /// Handles the broker's auth bytes: returns the next token to send, or `nil` when authentication is complete.
    ///
    /// - Throws: ``KafkaSASLError`` when the broker's answer is malformed or fails verification.
    public mutating func respond(to serverToken: some Collection<UInt8>) throws(KafkaSASLError) -> [UInt8]? {
        switch self.mechanism {
        case .plain(_, let sent):
            guard sent, !self.complete else { throw .unexpectedMessage("PLAIN expects one server answer after the client's message") }
            self.complete = true
            return nil
        case .scram(var client, let sentFinal):
            if sentFinal {
                try client.verifyServerFinal(serverToken)
                self.mechanism = .scram(client, sentFinal: true)
                self.complete = true
                return nil
            }
            let token = try client.clientFinalMessage(serverFirst: serverToken)
            self.mechanism = .scram(client, sentFinal: true)
            return token
        }
    }
}
