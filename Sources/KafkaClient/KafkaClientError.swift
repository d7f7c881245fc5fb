public import KafkaProtocol

/// An error of the Kafka client: what went wrong (``kind``) and a message naming the broker, API,
/// topic or partition involved.
public struct KafkaClientError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The class of failure; callers branch on this, people read ``message``.
    public enum Kind: Hashable, Sendable {
        /// No TCP (or TLS) connection could be made to any address tried.
        case connectionFailed
        /// A request (or the connect) did not complete within its timeout.
        case timedOut
        /// The connection closed while requests were pending, or before a request was sent.
        case disconnected
        /// The broker sent bytes this client cannot decode (malformed frame or message).
        case protocolError
        /// The broker answered with an error code.
        case broker(KafkaErrorCode)
        /// SASL authentication was refused, or TLS could not be established with the given material.
        case authenticationFailed
        /// No version of an API is supported by both the broker and this client.
        case unsupportedVersion
        /// The client configuration (or an argument) is invalid.
        case invalidConfiguration
        /// A request could not be encoded (a value too long or not allowed in the negotiated version).
        case invalidRequest
        /// The client (connection or cluster) was shut down.
        case shutdown
    }

    /// The class of failure.
    public var kind: Kind
    /// A human-readable description naming what failed and where.
    public var message: String

    /// Creates an error of `kind` with `message`.
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// The broker's error code when ``kind`` is ``Kind/broker(_:)``, else `nil`.
    public var brokerErrorCode: KafkaErrorCode? {
        if case .broker(let code) = self.kind { return code }
        return nil
    }

    /// Whether retrying the same operation (after refreshing metadata or reconnecting) may succeed:
    /// timeouts, disconnects, failed connects and retriable broker codes.
    public var isRetriable: Bool {
        switch self.kind {
        case .timedOut, .disconnected, .connectionFailed: true
        case .broker(let code): code.isRetriable
        case .protocolError, .authenticationFailed, .unsupportedVersion, .invalidConfiguration, .invalidRequest, .shutdown:
            false
        }
    }

    /// The message.
    public var description: String { self.message }

    /// An error for a broker's `code`, with the broker's own message when it sent one, else Kafka's
    /// default text for the code; `context` names the operation (`create topic "logs"`).
    public static func broker(_ code: KafkaErrorCode, message: String? = nil, context: String) -> KafkaClientError {
        let detail = (message?.isEmpty == false ? message : nil) ?? code.message
        return KafkaClientError(.broker(code), "\(context): \(code.name): \(detail)")
    }
}
