public import KafkaProtocol
public import NIOCore

/// What the request handlers need from the partition logs, in the handlers' terms.
///
/// The Storage module's `LogManager` is adapted to it in `BrokerLogStore+LogManager.swift`; tests
/// may use an in-memory model. Every failure is a ``BrokerStoreError`` carrying the Kafka error
/// code the client should see.
public protocol BrokerLogStore: Sendable {
    /// Every topic with its partition count.
    func topics() async -> [(name: String, partitions: Int32)]
    /// The partition count of `topic`, or `nil` if it does not exist.
    func partitionCount(of topic: String) async -> Int32?
    /// Creates `topic` (`partitions` < 1 means the broker default) with topic-level `configs`.
    func createTopic(_ topic: String, partitions: Int32, configs: [String: String]) async throws(BrokerStoreError)
    /// Deletes `topic` and its data.
    func deleteTopic(_ topic: String) async throws(BrokerStoreError)
    /// The effective configs of `topic` (only `keys` if given).
    func describeConfigs(of topic: String, keys: [String]?) async throws(BrokerStoreError) -> [BrokerTopicConfig]
    /// Replaces `topic`'s overrides with `configs` (AlterConfigs semantics: unnamed keys revert).
    func alterConfigs(of topic: String, configs: [String: String], validateOnly: Bool) async throws(BrokerStoreError)
    /// A fresh producer id for InitProducerId.
    func allocateProducerId() async throws(BrokerStoreError) -> Int64

    /// Appends the record batches in `records` (as produced) to one partition; offsets are
    /// assigned by the store. Returns once appended (not yet necessarily durable).
    func append(
        topic: String, partition: Int32, records: ByteBuffer, nowMs: Int64
    ) async throws(BrokerStoreError) -> BrokerAppendResult
    /// Returns once everything up to and including `offset` is fsync'd.
    func waitDurable(topic: String, partition: Int32, through offset: Int64) async throws(BrokerStoreError)
    /// Reads whole stored batches from `offset` up to the high watermark.
    func read(
        topic: String, partition: Int32, from offset: Int64, maxBytes: Int, minOneBatch: Bool
    ) async throws(BrokerStoreError) -> BrokerReadResult
    /// Returns when the partition has data after `offset`, or after `timeout`, whichever is first.
    func waitForData(topic: String, partition: Int32, after offset: Int64, timeout: Duration) async
    /// Earliest, latest, or the first offset whose timestamp is at least `timestampMs`.
    func listOffset(topic: String, partition: Int32, timestampMs: Int64) async throws(BrokerStoreError) -> BrokerListedOffset
    /// Deletes segments past their topic's retention; called periodically.
    func enforceRetention(nowMs: Int64) async
    /// Flushes and closes everything.
    func close() async
}

/// A failure with the Kafka error code to send.
public struct BrokerStoreError: Error, Sendable, CustomStringConvertible {
    /// The code clients see.
    public var code: KafkaErrorCode
    /// Details for the log and the response's error message.
    public var message: String

    /// Creates an error.
    public init(_ code: KafkaErrorCode, _ message: String = "") {
        self.code = code
        self.message = message
    }

    public var description: String { message.isEmpty ? code.description : "\(code): \(message)" }
}

/// Where an append landed.
public struct BrokerAppendResult: Sendable {
    /// Offset of the first record appended (or of the original append, for a duplicate).
    public var baseOffset: Int64
    /// Offset of the last record: the one to wait on for durability.
    public var lastOffset: Int64
    /// The broker's append time if the topic uses LogAppendTime, else -1.
    public var logAppendTimeMs: Int64
    /// The partition's log start offset.
    public var logStartOffset: Int64
    /// Whether this was a duplicate of an earlier idempotent batch (nothing appended).
    public var isDuplicate: Bool

    /// Creates a result.
    public init(baseOffset: Int64, lastOffset: Int64, logAppendTimeMs: Int64 = -1, logStartOffset: Int64, isDuplicate: Bool = false) {
        self.baseOffset = baseOffset
        self.lastOffset = lastOffset
        self.logAppendTimeMs = logAppendTimeMs
        self.logStartOffset = logStartOffset
        self.isDuplicate = isDuplicate
    }
}

/// What a read returned.
public struct BrokerReadResult: Sendable {
    /// Whole stored batches, unchanged; empty if none.
    public var records: ByteBuffer
    /// The high watermark (next offset to be written).
    public var highWatermark: Int64
    /// The log start offset.
    public var logStartOffset: Int64

    /// Creates a result.
    public init(records: ByteBuffer, highWatermark: Int64, logStartOffset: Int64) {
        self.records = records
        self.highWatermark = highWatermark
        self.logStartOffset = logStartOffset
    }
}

/// A ListOffsets answer.
public struct BrokerListedOffset: Sendable {
    /// The offset, or -1 if no record has a timestamp that late.
    public var offset: Int64
    /// The record's timestamp, or -1 for earliest/latest.
    public var timestampMs: Int64

    /// Creates an answer.
    public init(offset: Int64, timestampMs: Int64) {
        self.offset = offset
        self.timestampMs = timestampMs
    }
}

/// One topic config as DescribeConfigs shows it.
public struct BrokerTopicConfig: Sendable {
    /// The key, such as `retention.ms`.
    public var name: String
    /// The value.
    public var value: String?
    /// Whether it is the broker's default rather than a topic override.
    public var isDefault: Bool
    /// Whether AlterConfigs may change it.
    public var readOnly: Bool

    /// Creates a config entry.
    public init(name: String, value: String?, isDefault: Bool, readOnly: Bool = false) {
        self.name = name
        self.value = value
        self.isDefault = isDefault
        self.readOnly = readOnly
    }
}
