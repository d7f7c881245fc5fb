public import KafkaProtocol

/// Why a record was not delivered, or why a producer call failed.
public struct KafkaProducerError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The class of failure.
    public enum Kind: Hashable, Sendable {
        /// The broker answered the batch with a non-retriable error code.
        case broker(KafkaErrorCode)
        /// The idempotent producer's state was rejected (`OUT_OF_ORDER_SEQUENCE_NUMBER`,
        /// `UNKNOWN_PRODUCER_ID`, `INVALID_PRODUCER_EPOCH`): the batch failed and the producer
        /// re-initialised its producer id before sending more.
        case producerFenced(KafkaErrorCode)
        /// Not acknowledged within the delivery timeout.
        case timedOut
        /// Connection, metadata or request failure talking to the cluster (retried).
        case transport
        /// The client layer refused the request for good (unsupported version, authentication,
        /// shut down).
        case client
        /// The topic does not exist (or is not visible) in the cluster.
        case unknownTopic
        /// The record itself cannot be sent (partition out of range, too large).
        case invalidRecord
        /// The producer settings do not fit together.
        case invalidConfiguration
        /// The producer was closed before the record could be delivered.
        case closed
    }

    /// The class of failure.
    public var kind: Kind
    /// What failed and where (topic, partition, broker).
    public var message: String

    /// Creates an error.
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
