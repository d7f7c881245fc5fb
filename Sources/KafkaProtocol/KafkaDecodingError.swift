/// Why bytes from the wire or from disk could not be decoded as Kafka data.
///
/// Decoders in this module read one complete frame (or one complete batch), so
/// running out of bytes is always malformed input, never "need more data".
/// Every decoder throws this type and nothing else; none of them traps.
public struct KafkaDecodingError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The class of problem.
    public enum Kind: String, Hashable, Sendable {
        /// The input ended before the field did.
        case truncated
        /// A length or count is negative where that is not allowed, or larger than the bytes that remain.
        case invalidLength
        /// A varint ran past its maximum width.
        case varintTooLong
        /// A string is not valid UTF-8.
        case invalidUTF8
        /// A field holds a value the protocol does not allow (wrong magic, unknown enum value, ...).
        case invalidValue
        /// The API version is outside the range this implementation supports.
        case unsupportedVersion
        /// Bytes remained after the message ended.
        case trailingBytes
        /// A record batch failed its CRC-32C check.
        case checksumMismatch
        /// A compressed payload could not be decompressed or is larger than allowed.
        case decompressionFailed
    }

    /// The class of problem.
    public var kind: Kind
    /// Where it happened, outermost first, such as `ProduceRequest v7: topics.partitions.records`.
    public var context: String
    /// What exactly was wrong, with the numbers involved.
    public var detail: String
    /// For errors from `KafkaRequest.decode(frame:)`: the request's API key, version and correlation
    /// id when the frame was long enough to hold them, so a broker can still answer (ApiVersions with
    /// `UNSUPPORTED_VERSION`, for example). `nil` everywhere else.
    public var requestHeaderPrefix: KafkaRequestHeaderPrefix? = nil

    /// Creates an error of `kind` at `context` with a human-readable `detail`.
    public init(_ kind: Kind, context: String = "", detail: String) {
        self.kind = kind
        self.context = context
        self.detail = detail
    }

    /// The same error with `outer` put in front of its context (`outer: context`).
    public func within(_ outer: String) -> KafkaDecodingError {
        var copy = self
        copy.context = context.isEmpty ? outer : "\(outer): \(context)"
        return copy
    }

    public var description: String {
        context.isEmpty ? "\(kind.rawValue): \(detail)" : "\(context): \(kind.rawValue): \(detail)"
    }
}
