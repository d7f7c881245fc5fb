/// The fate of one batch of records: where it was stored, or why not.
///
/// Reports of one partition arrive in the order the records were sent. The caller's tokens
/// (given to `send`) come in record order: the record with `tokens[i]` has offset `baseOffset + i`.
public struct KafkaProducerDeliveryReport: Sendable {
    /// The records' topic.
    public var topic: String
    /// The records' partition.
    public var partition: Int32
    /// The offset of the first record (-1 with acks=0), or why the records were not stored.
    public var result: Result<Int64, KafkaProducerError>
    /// The tokens given to `send`, in record order.
    public var tokens: [UInt64]

    /// Creates a report.
    public init(topic: String, partition: Int32, result: Result<Int64, KafkaProducerError>, tokens: [UInt64]) {
        self.topic = topic
        self.partition = partition
        self.result = result
        self.tokens = tokens
    }

    /// Whether the records were stored.
    public var isSuccess: Bool {
        if case .success = result { return true }
        return false
    }
}

/// Where one record was stored.
public struct KafkaProducedRecord: Sendable, Hashable {
    /// The record's topic.
    public var topic: String
    /// The record's partition.
    public var partition: Int32
    /// The record's offset (-1 with acks=0).
    public var offset: Int64
}
