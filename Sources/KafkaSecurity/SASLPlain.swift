/// The PLAIN mechanism's single message (RFC 4616): `[authzid] NUL authcid NUL passwd`, UTF-8.
public struct SASLPlainMessage: Sendable, Hashable {
    /// The authorization identity; empty when the client acts as itself (Kafka requires that or the username).
    public var authorizationID: String
    /// The authentication identity (user name).
    public var username: String
    /// The password.
    public var password: String

    /// Creates a PLAIN message.
    public init(authorizationID: String = "", username: String, password: String) {
        self.authorizationID = authorizationID
        self.username = username
        self.password = password
    }

    /// The message's bytes as the client sends them.
    public func encoded() -> [UInt8] {
        Array(self.authorizationID.utf8) + [0] + Array(self.username.utf8) + [0] + Array(self.password.utf8)
    }

    /// Parses a client's PLAIN message.
    ///
    /// - Throws: ``KafkaSASLError/malformedMessage(mechanism:reason:)`` unless there are exactly two
    ///   NUL separators, valid UTF-8, a non-empty user name and password, each at most 255 bytes.
    public init(parsing bytes: some Collection<UInt8>) throws(KafkaSASLError) {
        let parts = bytes.split(separator: 0, maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 3 else {
            throw .malformedMessage(
                mechanism: "PLAIN", reason: "expected 3 NUL-separated fields, found \(parts.count)")
        }
        func text(_ part: some Collection<UInt8>, _ name: String) throws(KafkaSASLError) -> String {
            guard let string = String(validating: part, as: UTF8.self) else {
                throw .malformedMessage(mechanism: "PLAIN", reason: "\(name) is not valid UTF-8")
            }
            guard part.count <= 255 else {
                throw .malformedMessage(mechanism: "PLAIN", reason: "\(name) is longer than 255 bytes")
            }
            return string
        }
        self.authorizationID = try text(parts[0], "authorization identity")
        self.username = try text(parts[1], "user name")
        self.password = try text(parts[2], "password")
        guard !self.username.isEmpty else { throw .malformedMessage(mechanism: "PLAIN", reason: "user name is empty") }
        guard !self.password.isEmpty else { throw .malformedMessage(mechanism: "PLAIN", reason: "password is empty") }
    }
}
