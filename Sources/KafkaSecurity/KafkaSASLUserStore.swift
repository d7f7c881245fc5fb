/// The users a broker accepts and the mechanisms enabled for them: PLAIN passwords and SCRAM
/// credentials derived once when the store is built (Kafka stores only the SCRAM credentials;
/// PLAIN needs the password, as with Kafka's PlainServerCallbackHandler and a JAAS user list).
public struct KafkaSASLUserStore: Sendable {
    /// The mechanisms offered in SaslHandshake, in the order given.
    public let mechanisms: [KafkaSASLMechanism]
    private let plainPasswords: [String: String]
    private let scramCredentials: [SCRAMAlgorithm: [String: SCRAMCredential]]

    /// Builds the store for `users` (name → password) with `mechanisms` enabled.
    ///
    /// - Throws: ``KafkaSASLError/tooFewIterations(_:minimum:)`` for `iterations` below 4096.
    public init(
        mechanisms: [KafkaSASLMechanism], users: [String: String],
        iterations: Int = SCRAMAlgorithm.minimumIterations
    ) throws(KafkaSASLError) {
        var unique: [KafkaSASLMechanism] = []
        for mechanism in mechanisms where !unique.contains(mechanism) { unique.append(mechanism) }
        self.mechanisms = unique
        self.plainPasswords = unique.contains(.plain) ? users : [:]
        var scram: [SCRAMAlgorithm: [String: SCRAMCredential]] = [:]
        for algorithm in SCRAMAlgorithm.allCases where unique.contains(algorithm.mechanism) {
            var credentials: [String: SCRAMCredential] = [:]
            for (user, password) in users {
                credentials[user] = try SCRAMCredential(algorithm: algorithm, password: password, iterations: iterations)
            }
            scram[algorithm] = credentials
        }
        self.scramCredentials = scram
    }

    /// The SCRAM credential of `user` for `algorithm`, if that mechanism is enabled and the user known.
    public func scramCredential(user: String, algorithm: SCRAMAlgorithm) -> SCRAMCredential? {
        self.scramCredentials[algorithm]?[user]
    }

    /// Checks a PLAIN user name and password (constant time in the password).
    ///
    /// - Throws: ``KafkaSASLError/unknownUser(_:)`` or ``KafkaSASLError/invalidCredentials(user:)``.
    public func verifyPlain(user: String, password: String) throws(KafkaSASLError) {
        guard let expected = self.plainPasswords[user] else { throw .unknownUser(user) }
        guard constantTimeEquals(Array(expected.utf8), Array(password.utf8)) else { throw .invalidCredentials(user: user) }
    }
}
