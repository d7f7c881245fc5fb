/// Client-side SASL settings: which mechanism to use and the credentials to present.
public struct KafkaSASLConfiguration: Sendable, Hashable {
    /// The mechanism announced in SaslHandshake and run in SaslAuthenticate.
    public var mechanism: KafkaSASLMechanism
    /// The user name (SCRAM escapes `=` and `,` itself).
    public var username: String
    /// The password.
    public var password: String

    /// Creates SASL settings.
    public init(mechanism: KafkaSASLMechanism, username: String, password: String) {
        self.mechanism = mechanism
        self.username = username
        self.password = password
    }
}

extension KafkaSASLConfiguration: CustomStringConvertible {
    /// Mechanism and user, never the password.
    public var description: String { "\(mechanism) as \(username)" }
}
