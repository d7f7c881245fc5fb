import KafkaProtocol
import NIOConcurrencyHelpers
import NIOCore

/// The producer's mutable state: topics and their partition queues, the buffer budget, the
/// idempotence identity, requests in flight and the waiters of `send`, `flush` and the sender.
///
/// Every method and property is used with `lock` held (callers write `core.lock.withLock { … }`).
final class ProducerCore: @unchecked Sendable {
    // @unchecked: all stored properties are only read or written while `lock` is held.

    let lock = NIOLock()

    var topics: [String: ProducerTopicState] = [:]
    /// Builders whose batches were encoded, for the next batches (they keep their scratch buffers
    /// and codec contexts).
    var builderPool: [RecordBatchBuilder] = []
    /// Bytes of records accepted and not yet reported.
    var bufferedBytes = 0
    /// Records accepted and not yet reported.
    var pendingRecords = 0
    var spaceWaiters: [CheckedContinuation<Void, Never>] = []
    var flushWaiters: [CheckedContinuation<Void, Never>] = []
    var closed = false

    /// The idempotent identity; `nil` until InitProducerId answered (or without idempotence).
    var identity: ProducerIdentity?
    /// Idempotent and without a usable identity (first start, or after a sequence gap).
    var needsIdentity: Bool
    var initializingIdentity = false
    /// Why the last InitProducerId failed, for the errors of batches that time out meanwhile.
    var identityError: KafkaProducerError?
    /// Produce requests awaiting an answer, per node.
    var requestsInFlight: [Int32: Int] = [:]
    var totalRequestsInFlight = 0

    /// Batches (and their records) sent again after a retriable failure, since the start.
    var retriedBatches = 0
    var retriedRecords = 0

    /// The last topic `append` looked up, and `topicsGeneration` then.
    var lastTopic: (name: String, slot: Dictionary<String, ProducerTopicState>.Index, generation: Int)?
    /// Changes whenever a topic is added to `topics` (which invalidates its indices).
    var topicsGeneration = 0

    /// Reports ready to be handed to the delivery handler, in order.
    var reports: [KafkaProducerDeliveryReport] = []

    var senderWaiter: CheckedContinuation<Void, Never>?
    var senderSignalled = false
    /// The earliest wake-up timer running, if any.
    var timerDeadline: ContinuousClock.Instant?

    var generator = SystemRandomNumberGenerator()

    init(needsIdentity: Bool) {
        self.needsIdentity = needsIdentity
    }

    // MARK: Accepting records

    enum AppendOutcome {
        /// Appended; wake the sender when a batch was closed or a new one opened.
        case appended(wakeSender: Bool)
        case needsRoute
        /// The record (of this many buffer bytes) does not fit the buffer now.
        case bufferFull(Int)
        case failed(KafkaProducerError)
    }

    func append(
        topic: String, partition requested: Int32?, key: ByteBuffer?, value: ByteBuffer?,
        headers: EncodedRecordHeaders?, timestamp: Int64, token: UInt64,
        waiter: CheckedContinuation<KafkaProducedRecord, any Error>?,
        configuration: KafkaProducerConfiguration, clock: ContinuousClock
    ) -> AppendOutcome {
        if closed { return .failed(KafkaProducerError(.closed, "send to \(topic) after the producer was closed")) }
        guard let slot = topicSlot(topic) else { return .needsRoute }
        return appendRecord(
            to: &topics.values[slot], topic: topic, partition: requested, key: key, value: value, headers: headers,
            timestamp: timestamp, token: token, waiter: waiter, configuration: configuration, clock: clock)
    }

    /// The slot of `topic` in `topics`; the last one found is remembered (records usually come in runs of one
    /// topic), valid until a topic is added.
    private func topicSlot(_ topic: String) -> Dictionary<String, ProducerTopicState>.Index? {
        if let last = lastTopic, last.generation == topicsGeneration, last.name == topic { return last.slot }
        guard let slot = topics.index(forKey: topic) else { return nil }
        lastTopic = (topic, slot, topicsGeneration)
        return slot
    }

    private func appendRecord(
        to state: inout ProducerTopicState, topic: String, partition requested: Int32?, key: ByteBuffer?,
        value: ByteBuffer?, headers: EncodedRecordHeaders?, timestamp: Int64, token: UInt64,
        waiter: CheckedContinuation<KafkaProducedRecord, any Error>?,
        configuration: KafkaProducerConfiguration, clock: ContinuousClock
    ) -> AppendOutcome {
        let partitionCount = state.route.partitionCount
        let partition: Int32
        if let requested {
            guard requested >= 0, requested < partitionCount else {
                return .failed(
                    KafkaProducerError(
                        .invalidRecord, "partition \(requested) of \(topic) does not exist (\(partitionCount) partitions)"))
            }
            partition = requested
        } else if let key {
            partition = key.withUnsafeReadableBytes {
                KafkaKeyPartitioner.partition(forKey: $0, partitionCount: partitionCount)
            }
        } else {
            partition = state.sticky.partition(partitionCount: partitionCount, using: &generator)
        }
        let index = Int(partition)
        var wake = false
        var batch: ProducerBatch
        var knownSize: Int?
        if let open = state.partitions[index].open, let builder = open.builder {
            let size = builder.encodedSize(
                ofRecordWithTimestamp: timestamp, keyLength: key?.readableBytes, valueLength: value?.readableBytes,
                headers: headers)
            if builder.sizeInBytes + size > configuration.maxBatchBytes {
                close(openBatchOf: &state, partition: partition)
                wake = true
                batch = openBatch(topic: topic, partition: partition, configuration: configuration, now: clock.now)
                state.partitions[index].open = batch
            } else {
                batch = open
                knownSize = size
            }
        } else {
            batch = openBatch(topic: topic, partition: partition, configuration: configuration, now: clock.now)
            state.partitions[index].open = batch
            wake = true
        }
        guard let builder = batch.builder else {
            return .failed(KafkaProducerError(.invalidRecord, "no builder for \(topic)-\(partition)"))
        }
        // The size depends on the batch's first timestamp (deltas): computed again only for a new batch.
        let size = knownSize ?? builder.encodedSize(
            ofRecordWithTimestamp: timestamp, keyLength: key?.readableBytes, valueLength: value?.readableBytes,
            headers: headers)
        // A record bigger than the whole buffer is still accepted when nothing else is buffered.
        if !hasSpace(for: size, bufferBytes: configuration.bufferBytes) {
            if batch.recordCount == 0 {
                // Do not leave an empty open batch behind.
                state.partitions[index].open = nil
                recycle(batch)
            }
            return .bufferFull(size)
        }
        builder.append(timestamp: timestamp, key: key, value: value, headers: headers)
        if let waiter { batch.waiters.append((batch.tokens.count, waiter)) }
        batch.tokens.append(token)
        batch.bufferedBytes += size
        bufferedBytes += size
        pendingRecords += 1
        return .appended(wakeSender: wake)
    }

    private func openBatch(
        topic: String, partition: Int32, configuration: KafkaProducerConfiguration, now: ContinuousClock.Instant
    ) -> ProducerBatch {
        let builder: RecordBatchBuilder
        if let pooled = builderPool.popLast() {
            builder = pooled
        } else {
            // The level was validated when the producer was created.
            builder =
                (try? RecordBatchBuilder(
                    compression: configuration.compression, compressionLevel: configuration.compressionLevel))
                ?? (try! RecordBatchBuilder())
        }
        return ProducerBatch(topic: topic, partition: partition, builder: builder, createdAt: now)
    }

    private func recycle(_ batch: ProducerBatch) {
        if let builder = batch.builder {
            builder.reset()
            pool(builder)
            batch.builder = nil
        }
    }

    /// Moves the open batch of `partition` to its ready queue; the sticky partition moves on.
    func close(openBatchOf state: inout ProducerTopicState, partition: Int32) {
        let index = Int(partition)
        guard let open = state.partitions[index].open else { return }
        state.partitions[index].open = nil
        open.phase = .ready
        state.partitions[index].ready.append(open)
        state.sticky.batchClosed(partition: partition, partitionCount: state.route.partitionCount, using: &generator)
    }

    func install(route: ProducerTopicRoute, topic: String, now: ContinuousClock.Instant) {
        if topics[topic] == nil {
            topics[topic] = ProducerTopicState(route: route, now: now)
            topicsGeneration += 1
        } else {
            topics[topic]?.update(route: route)
            topics[topic]?.lastRefresh = now
        }
    }

    func returnBuilder(_ builder: RecordBatchBuilder) {
        builder.reset()
        pool(builder)
    }

    /// Keeps `builder` for the next batch, unless `maxPooledBuilders` are kept already: each holds a batch's worth
    /// of scratch memory, and a burst of batches (a slow broker) must not keep that much allocated afterwards.
    private func pool(_ builder: RecordBatchBuilder) {
        if builderPool.count < Self.maxPooledBuilders { builderPool.append(builder) }
    }

    /// Builders kept for reuse at most.
    static let maxPooledBuilders = 2

    // MARK: Outcomes

    /// Records the outcome of `batch` and reports every finished batch at the head of its
    /// partition's outstanding list (so reports keep send order).
    func finish(_ batch: ProducerBatch, _ outcome: Result<Int64, KafkaProducerError>) {
        batch.phase = .done
        batch.outcome = outcome
        guard let queue = topics[batch.topic]?.partitions[Int(batch.partition)],
            queue.outstanding.contains(where: { $0 === batch })
        else {
            // Failed before it was ever sent (no sequence): reported at once.
            return report(batch)
        }
        reportFinishedHead(topic: batch.topic, partition: batch.partition)
    }

    /// Reports the finished batches at the head of the partition's outstanding list, in send order,
    /// and removes them (each is reported once).
    func reportFinishedHead(topic: String, partition: Int32) {
        let index = Int(partition)
        guard let slot = topics.index(forKey: topic), index < topics.values[slot].partitions.count else { return }
        var reported = 0
        while reported < topics.values[slot].partitions[index].outstanding.count,
            topics.values[slot].partitions[index].outstanding[reported].phase == .done
        {
            report(topics.values[slot].partitions[index].outstanding[reported])
            reported += 1
        }
        topics.values[slot].partitions[index].outstanding.removeFirst(reported)
    }

    private func report(_ batch: ProducerBatch) {
        let outcome = batch.outcome ?? .failure(KafkaProducerError(.closed, "no outcome"))
        for (index, continuation) in batch.waiters {
            switch outcome {
            case .success(let base):
                continuation.resume(
                    returning: KafkaProducedRecord(
                        topic: batch.topic, partition: batch.partition, offset: base < 0 ? base : base + Int64(index)))
            case .failure(let error):
                continuation.resume(throwing: error)
            }
        }
        batch.waiters.removeAll()
        reports.append(
            KafkaProducerDeliveryReport(topic: batch.topic, partition: batch.partition, result: outcome, tokens: batch.tokens))
        bufferedBytes -= batch.bufferedBytes
        pendingRecords -= batch.recordCount
        batch.bufferedBytes = 0
        recycle(batch)
        batch.encoded = nil
    }

    /// Whether a record of `size` buffer bytes fits now (a record larger than the whole buffer
    /// fits an empty one).
    func hasSpace(for size: Int, bufferBytes: Int) -> Bool {
        bufferedBytes == 0 || bufferedBytes + size <= bufferBytes
    }

    /// Continuations to resume after the lock is released: sends waiting for space, flushes done.
    func takeResumable(bufferBytes: Int) -> [CheckedContinuation<Void, Never>] {
        var resumable: [CheckedContinuation<Void, Never>] = []
        if !spaceWaiters.isEmpty && (bufferedBytes < bufferBytes || closed) {
            resumable += spaceWaiters
            spaceWaiters.removeAll()
        }
        if pendingRecords == 0 && !flushWaiters.isEmpty {
            resumable += flushWaiters
            flushWaiters.removeAll()
        }
        return resumable
    }
}
