/// How a `KafkaConsumer` joins its group, where it starts reading and how much it prefetches.
public struct KafkaConsumerConfiguration: Sendable {
    /// Where to start when a partition has no committed offset, or its offset is out of range
    /// (Kafka's `auto.offset.reset`).
    public enum OffsetReset: String, Sendable, Hashable {
        /// The log start offset (ListOffsets timestamp -2).
        case earliest
        /// The high watermark: only records produced from now on (ListOffsets timestamp -1).
        case latest
        /// Fail with `partitionError(OFFSET_OUT_OF_RANGE)` instead of guessing.
        case none
    }

    /// The group's id (`group.id`). Required to subscribe and to commit.
    public var groupID: String?
    /// Assignors offered when joining, preferred first (`partition.assignment.strategy`).
    public var assignors: [any ConsumerPartitionAssignor] = [RangeAssignor()]
    /// `session.timeout.ms`: without a heartbeat for this long the coordinator removes the member.
    public var sessionTimeout: Duration = .seconds(10)
    /// `max.poll.interval.ms`: how long the coordinator waits for members to rejoin a rebalance.
    public var rebalanceTimeout: Duration = .seconds(30)
    /// `heartbeat.interval.ms`: a third of the session timeout or less.
    public var heartbeatInterval: Duration = .seconds(3)
    /// `auto.offset.reset`.
    public var autoOffsetReset: OffsetReset = .latest
    /// `fetch.max.wait.ms`: how long the broker holds a Fetch while fewer than `fetchMinBytes` are there.
    public var fetchMaxWait: Duration = .milliseconds(500)
    /// `fetch.min.bytes`.
    public var fetchMinBytes: Int32 = 1
    /// `fetch.max.bytes`: the most one Fetch response may carry.
    public var fetchMaxBytes: Int32 = 50 * 1024 * 1024
    /// `max.partition.fetch.bytes`: the most one partition contributes to a Fetch response.
    public var partitionMaxBytes: Int32 = 1024 * 1024
    /// The prefetch bound: record batch bytes fetched but not yet taken by the caller never exceed
    /// this (unless one batch alone is larger, which is then fetched only into an empty buffer).
    /// When the caller is slow, fetching stops: that is the consumer's backpressure.
    public var maxBufferedBytes: Int = 16 * 1024 * 1024
    /// Pause after a retriable error (a moved leader, a coordinator loading, a lost connection).
    public var retryBackoff: Duration = .milliseconds(100)
    /// Whether `.reachedEnd` events are delivered.
    public var reportsEndOfPartition = false
    /// Whether each batch's CRC-32C is checked (`check.crcs`).
    public var verifyChecksums = true

    /// Creates a configuration; `groupID` is needed for `subscribe` and `commit`.
    public init(groupID: String? = nil) {
        self.groupID = groupID
    }
}
