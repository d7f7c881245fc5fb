public import KafkaProtocol

/// What the consumer's event sequence delivers, in order: for a group, `revoked` before a
/// rebalance and `assigned` after it, each before any records of the new assignment.
///
/// The consumer waits for the caller to come back for the next event after `revoked` (so it can
/// commit what it processed while it still owns the partitions) and after `assigned` (so a `seek`
/// made then decides where fetching starts).
public enum KafkaConsumerEvent: Sendable {
    /// These partitions are now the consumer's. Fetching starts from a `seek` made before the
    /// next event is requested, else from the committed offset, else from `autoOffsetReset`.
    case assigned([TopicPartition])
    /// These partitions are no longer the consumer's (eager protocol: all of them, before every
    /// rebalance). Records of them already delivered may be committed until the next event is
    /// requested.
    case revoked([TopicPartition])
    /// Record batches fetched from one partition.
    case batches(KafkaFetchedBatches)
    /// The consumer's position in the partition reached the high watermark the broker reported:
    /// everything written so far was delivered. Sent once each time the end is reached, only when
    /// `KafkaConsumerConfiguration.reportsEndOfPartition` is set (librdkafka's partition EOF).
    case reachedEnd(TopicPartition, offset: Int64)
}

/// Record batches of one partition from one Fetch response, as the broker sent them: slices of
/// the response buffer, not copied. Control batches are left out (their offsets are consumed).
public struct KafkaFetchedBatches: Sendable {
    /// Where the batches come from.
    public var topicPartition: TopicPartition
    /// The batches, in offset order. The first may start below `fetchOffset`: batches begin at
    /// their base offset, so records below `fetchOffset` in it were already delivered or skipped
    /// by a seek; `forEachRecord` skips them.
    public var batches: [RecordBatch]
    /// The first offset the caller has not seen: the offset fetched from.
    public var fetchOffset: Int64
    /// The offset after the last batch: what to commit once every record here is processed.
    public var nextOffset: Int64
    /// The partition's high watermark when the broker answered.
    public var highWatermark: Int64

    /// Creates a value (the consumer builds these; public for tests and adapters).
    public init(
        topicPartition: TopicPartition, batches: [RecordBatch], fetchOffset: Int64, nextOffset: Int64,
        highWatermark: Int64
    ) {
        self.topicPartition = topicPartition
        self.batches = batches
        self.fetchOffset = fetchOffset
        self.nextOffset = nextOffset
        self.highWatermark = highWatermark
    }

    /// The bytes of all batches: what this value counts against the prefetch bound.
    public var byteCount: Int { batches.reduce(0) { $0 + $1.size } }

    /// Visits every record at or above `fetchOffset`, in order, as borrowed views (no allocation
    /// per record; see `RecordBatch.forEachRecord`).
    ///
    /// - Parameter body: return `false` to stop.
    /// - Returns: the number of records visited.
    /// - Throws: `KafkaDecodingError` for a corrupt batch, or what `body` throws.
    @discardableResult
    public func forEachRecord(
        decompressor: RecordBatchDecompressor? = nil,
        _ body: (borrowing RecordView) throws -> Bool
    ) throws -> Int {
        var visited = 0
        var stopped = false
        for batch in batches where !stopped && batch.header.lastOffset >= fetchOffset {
            _ = try batch.forEachRecord(decompressor: decompressor) { record in
                guard record.offset >= fetchOffset else { return true }
                visited += 1
                if try body(record) { return true }
                stopped = true
                return false
            }
        }
        return visited
    }
}
