/// A SASL mechanism Kafka brokers and clients speak, named as Kafka names it.
public enum KafkaSASLMechanism: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case plain = "PLAIN"
    case scramSHA256 = "SCRAM-SHA-256"
    case scramSHA512 = "SCRAM-SHA-512"

    /// Parses a Kafka mechanism name (`PLAIN`, `SCRAM-SHA-256`, `SCRAM-SHA-512`), case-insensitively.
    public init?(kafkaName: String) {
        guard let mechanism = Self(rawValue: kafkaName.uppercased()) else { return nil }
        self = mechanism
    }

    /// The name on the wire (SaslHandshake) and in configuration files.
    public var kafkaName: String { rawValue }

    public var description: String { rawValue }
}
