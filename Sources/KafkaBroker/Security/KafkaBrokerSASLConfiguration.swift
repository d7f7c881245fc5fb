public import KafkaSecurity

/// The broker's SASL settings: which mechanisms it offers and the users it accepts.
public struct KafkaBrokerSASLConfiguration: Sendable {
    /// Mechanisms offered in SaslHandshake, in order (e.g. `[.scramSHA256, .scramSHA512]`).
    public var mechanisms: [KafkaSASLMechanism]
    /// User name → password. The broker derives SCRAM credentials at start and keeps only those
    /// (and the passwords themselves when PLAIN is enabled).
    public var users: [String: String]

    /// Creates SASL settings.
    public init(mechanisms: [KafkaSASLMechanism], users: [String: String]) {
        self.mechanisms = mechanisms
        self.users = users
    }
}
