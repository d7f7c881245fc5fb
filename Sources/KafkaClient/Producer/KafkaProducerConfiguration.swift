public import KafkaProtocol

/// Settings of a `KafkaProducer`. Defaults follow the Java client where they fit log shipping:
/// acks=all, idempotence on, at most 5 requests in flight per broker.
public struct KafkaProducerConfiguration: Sendable {
    /// How many replicas must have the records before the broker answers.
    public enum Acks: Int16, Sendable, CaseIterable {
        /// No answer at all: records are reported delivered (offset -1) once written to the socket.
        case none = 0
        /// The leader has appended the records.
        case leader = 1
        /// Every in-sync replica has them (`-1` on the wire).
        case all = -1
    }

    /// Required acknowledgements. Default `.all`; idempotence needs `.all`.
    public var acks: Acks = .all
    /// Idempotent delivery (producer id, per-partition sequences): retries never duplicate records.
    public var idempotent = true
    /// Codec of every batch.
    public var compression: KafkaCompression = .none
    /// The codec's level; `nil` for its default.
    public var compressionLevel: Int? = nil
    /// How long a partition's first record may wait for more before its batch is sent.
    public var linger: Duration = .milliseconds(5)
    /// A batch is closed when the next record would take it past this many bytes (uncompressed,
    /// header included). A single larger record still gets a batch of its own.
    public var maxBatchBytes = 1_000_000
    /// The most bytes of records accepted but not yet reported; `send` suspends beyond it.
    public var bufferBytes = 32 << 20
    /// The most Produce requests awaiting an answer per broker (at most 5 with idempotence).
    public var maxInFlightRequestsPerBroker = 5
    /// First wait before re-sending a batch after a retriable error; doubles per attempt.
    public var retryBackoff: Duration = .milliseconds(100)
    /// Upper bound of the retry backoff.
    public var retryBackoffMax: Duration = .seconds(1)
    /// A record not acknowledged within this time after `send` accepted it fails with
    /// `timedOut`; `nil` retries until `close`.
    public var deliveryTimeout: Duration? = .seconds(120)
    /// The broker's time limit for replicating a Produce request (`timeoutMs`).
    public var requestTimeout: Duration = .seconds(30)
    /// The least time between two metadata refreshes of one topic.
    public var metadataRefreshBackoff: Duration = .milliseconds(100)

    /// The defaults.
    public init() {}

    /// Checks the combination of settings.
    ///
    /// - Throws: `KafkaProducerError` of kind `invalidConfiguration` naming the setting.
    public func validate() throws(KafkaProducerError) {
        if idempotent && acks != .all {
            throw KafkaProducerError(.invalidConfiguration, "an idempotent producer needs acks=all, got acks=\(acks.rawValue)")
        }
        if idempotent && !(1...5).contains(maxInFlightRequestsPerBroker) {
            throw KafkaProducerError(
                .invalidConfiguration,
                "an idempotent producer allows 1 to 5 requests in flight per broker, got \(maxInFlightRequestsPerBroker)")
        }
        if maxInFlightRequestsPerBroker < 1 {
            throw KafkaProducerError(.invalidConfiguration, "maxInFlightRequestsPerBroker must be at least 1")
        }
        if maxBatchBytes < 128 {
            throw KafkaProducerError(.invalidConfiguration, "maxBatchBytes must be at least 128, got \(maxBatchBytes)")
        }
        if bufferBytes < maxBatchBytes {
            throw KafkaProducerError(
                .invalidConfiguration, "bufferBytes (\(bufferBytes)) must be at least maxBatchBytes (\(maxBatchBytes))")
        }
        if linger < .zero {
            throw KafkaProducerError(.invalidConfiguration, "linger must not be negative")
        }
    }
}
