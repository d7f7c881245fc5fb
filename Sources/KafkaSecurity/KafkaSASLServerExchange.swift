/// The broker's side of one SASL authentication: checks each SaslAuthenticate token against a
/// ``KafkaSASLUserStore`` and produces the answer to send back.
public struct KafkaSASLServerExchange: Sendable {
    /// One step's result.
    public struct Step: Sendable {
        /// Auth bytes for the SaslAuthenticate response.
        public var token: [UInt8]
        /// Whether the client is now authenticated.
        public var isComplete: Bool
    }

    private enum Mechanism: Sendable {
        case plain
        case scram(SCRAMServer)
    }

    /// The mechanism chosen in SaslHandshake.
    public let mechanism: KafkaSASLMechanism
    private let users: KafkaSASLUserStore
    private var state: Mechanism
    private var user: String?

    /// Starts an exchange for `mechanism`.
    ///
    /// - Throws: ``KafkaSASLError/unsupportedMechanism(_:)`` if `users` does not enable it.
    public init(mechanism: KafkaSASLMechanism, users: KafkaSASLUserStore) throws(KafkaSASLError) {
        guard users.mechanisms.contains(mechanism) else { throw .unsupportedMechanism(mechanism.kafkaName) }
        self.mechanism = mechanism
        self.users = users
        switch mechanism {
        case .plain:
            self.state = .plain
        case .scramSHA256, .scramSHA512:
            let algorithm: SCRAMAlgorithm = mechanism == .scramSHA256 ? .sha256 : .sha512
            self.state = .scram(
                SCRAMServer(algorithm: algorithm) { user in users.scramCredential(user: user, algorithm: algorithm) })
        }
    }

    /// The authenticated user name, once authentication completed.
    public var authenticatedUser: String? { self.user }

    /// Handles the client's next token.
    ///
    /// - Throws: ``KafkaSASLError`` when authentication fails; the exchange is then over.
    public mutating func respond(to clientToken: some Collection<UInt8>) throws(KafkaSASLError) -> Step {
        guard self.user == nil else { throw .unexpectedMessage("\(self.mechanism) token after authentication completed") }
        switch self.state {
        case .plain:
            let message = try SASLPlainMessage(parsing: clientToken)
            guard message.authorizationID.isEmpty || message.authorizationID == message.username else {
                throw .malformedMessage(mechanism: "PLAIN", reason: "authorization identity must be empty or the user name")
            }
            try self.users.verifyPlain(user: message.username, password: message.password)
            self.user = message.username
            return Step(token: [], isComplete: true)
        case .scram(var server):
            defer { self.state = .scram(server) }
            if server.hasSentServerFirst {
                let token = try server.serverFinalMessage(clientFinal: clientToken)
                self.user = server.authenticatedUser
                return Step(token: token, isComplete: true)
            }
            return Step(token: try server.serverFirstMessage(clientFirst: clientToken), isComplete: false)
        }
    }
}
