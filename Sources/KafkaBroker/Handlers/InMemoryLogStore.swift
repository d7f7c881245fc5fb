import KafkaProtocol
public import NIOCore

/// A ``BrokerLogStore`` in memory: no durability, no retention, no idempotence checks.
///
/// For handler tests, and to run the network layer before (or without) the durable storage.
public actor InMemoryLogStore: BrokerLogStore {
    private struct Partition {
        /// Stored batches with their base offsets.
        var batches: [(baseOffset: Int64, bytes: ByteBuffer)] = []
        var nextOffset: Int64 = 0
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
    }

    private var partitions: [String: [Partition]] = [:]
    private var configs: [String: [String: String]] = [:]
    private var nextProducerId: Int64 = 1000
    private var nextWaiterId: UInt64 = 0
    private let defaultPartitions: Int32

    /// Creates an empty store; topics created with fewer than 1 partition get `defaultPartitions`.
    public init(defaultPartitions: Int32 = 1) {
        self.defaultPartitions = defaultPartitions
    }

    public func topics() -> [(name: String, partitions: Int32)] {
        partitions.map { ($0.key, Int32($0.value.count)) }
    }

    public func partitionCount(of topic: String) -> Int32? {
        partitions[topic].map { Int32($0.count) }
    }

    public func createTopic(_ topic: String, partitions count: Int32, configs: [String: String]) throws(BrokerStoreError) {
        guard !topic.isEmpty, topic.count <= 249, topic != ".", topic != "..",
            topic.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "_" || $0 == "-") })
        else { throw BrokerStoreError(.invalidTopicException, "invalid topic name '\(topic)'") }
        guard partitions[topic] == nil else { throw BrokerStoreError(.topicAlreadyExists, "topic '\(topic)' already exists") }
        let partitionCount = count < 1 ? defaultPartitions : count
        // The same bound as the on-disk store: a request's partition count must never size an allocation.
        guard partitionCount <= 10_000 else {
            throw BrokerStoreError(.invalidPartitions, "number of partitions must be between 1 and 10000, got \(count)")
        }
        partitions[topic] = Array(repeating: Partition(), count: Int(partitionCount))
        self.configs[topic] = configs
    }

    public func deleteTopic(_ topic: String) throws(BrokerStoreError) {
        guard partitions.removeValue(forKey: topic) != nil else {
            throw BrokerStoreError(.unknownTopicOrPartition, "no topic '\(topic)'")
        }
        configs[topic] = nil
    }

    public func describeConfigs(of topic: String, keys: [String]?) throws(BrokerStoreError) -> [BrokerTopicConfig] {
        guard let configs = configs[topic] else { throw BrokerStoreError(.unknownTopicOrPartition, "no topic '\(topic)'") }
        return configs.sorted { $0.key < $1.key }
            .filter { keys == nil || keys!.contains($0.key) }
            .map { BrokerTopicConfig(name: $0.key, value: $0.value, isDefault: false) }
    }

    public func alterConfigs(of topic: String, configs: [String: String], validateOnly: Bool) throws(BrokerStoreError) {
        guard self.configs[topic] != nil else { throw BrokerStoreError(.unknownTopicOrPartition, "no topic '\(topic)'") }
        if !validateOnly { self.configs[topic] = configs }
    }

    public func allocateProducerId() -> Int64 {
        defer { nextProducerId += 1 }
        return nextProducerId
    }

    public func append(
        topic: String, partition: Int32, records: ByteBuffer, nowMs: Int64
    ) throws(BrokerStoreError) -> BrokerAppendResult {
        guard var log = partitions[topic]?[safe: Int(partition)] else { throw BrokerStoreError(.unknownTopicOrPartition) }
        var input = records
        let base = log.nextOffset
        while input.readableBytes > 0 {
            guard input.readableBytes >= 61, let length = input.getInteger(at: input.readerIndex + 8, as: Int32.self),
                length >= 49, input.readableBytes >= Int(length) + 12,
                let lastDelta = input.getInteger(at: input.readerIndex + 23, as: Int32.self), lastDelta >= 0
            else { throw BrokerStoreError(.corruptMessage, "malformed record batch") }
            var batch = ByteBuffer()
            batch.writeImmutableBuffer(input.readSlice(length: Int(length) + 12)!)
            batch.setInteger(log.nextOffset, at: 0)
            log.batches.append((log.nextOffset, batch))
            log.nextOffset += Int64(lastDelta) + 1
        }
        let waiters = log.waiters.values
        log.waiters = [:]
        partitions[topic]![Int(partition)] = log
        for waiter in waiters { waiter.resume() }
        return BrokerAppendResult(baseOffset: base, lastOffset: log.nextOffset - 1, logStartOffset: 0)
    }

    public func waitDurable(topic: String, partition: Int32, through offset: Int64) {}

    public func read(
        topic: String, partition: Int32, from offset: Int64, maxBytes: Int, minOneBatch: Bool
    ) throws(BrokerStoreError) -> BrokerReadResult {
        guard let log = partitions[topic]?[safe: Int(partition)] else { throw BrokerStoreError(.unknownTopicOrPartition) }
        guard offset >= 0, offset <= log.nextOffset else { throw BrokerStoreError(.offsetOutOfRange) }
        var out = ByteBuffer()
        for batch in log.batches {
            let last = batch.baseOffset + Int64(batch.bytes.getInteger(at: 23, as: Int32.self)!)
            guard last >= offset else { continue }
            if out.readableBytes + batch.bytes.readableBytes > maxBytes, !(minOneBatch && out.readableBytes == 0) { break }
            out.writeImmutableBuffer(batch.bytes)
        }
        return BrokerReadResult(records: out, highWatermark: log.nextOffset, logStartOffset: 0)
    }

    public func waitForData(topic: String, partition: Int32, after offset: Int64, timeout: Duration) async {
        guard let log = partitions[topic]?[safe: Int(partition)], log.nextOffset <= offset else { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(for: timeout) }
            group.addTask { await self.waitForAppend(topic: topic, partition: partition, after: offset) }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForAppend(topic: String, partition: Int32, after offset: Int64) async {
        nextWaiterId += 1
        let id = nextWaiterId
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                // Checked again here: an append may have run on the actor since `waitForData`'s check,
                // and its wake-up found no waiter.
                guard !Task.isCancelled, let log = partitions[topic]?[safe: Int(partition)], log.nextOffset <= offset else {
                    return continuation.resume()
                }
                partitions[topic]![Int(partition)].waiters[id] = continuation
            }
        } onCancel: {
            Task { await self.cancelWaiter(id, topic: topic, partition: partition) }
        }
    }

    private func cancelWaiter(_ id: UInt64, topic: String, partition: Int32) {
        guard partitions[topic]?[safe: Int(partition)] != nil else { return }
        partitions[topic]![Int(partition)].waiters.removeValue(forKey: id)?.resume()
    }

    public func listOffset(topic: String, partition: Int32, timestampMs: Int64) throws(BrokerStoreError) -> BrokerListedOffset {
        guard let log = partitions[topic]?[safe: Int(partition)] else { throw BrokerStoreError(.unknownTopicOrPartition) }
        switch timestampMs {
        case -1: return BrokerListedOffset(offset: log.nextOffset, timestampMs: -1)
        case -2: return BrokerListedOffset(offset: 0, timestampMs: -1)
        default:
            for batch in log.batches {
                let maxTimestamp = batch.bytes.getInteger(at: 35, as: Int64.self)!
                if maxTimestamp >= timestampMs { return BrokerListedOffset(offset: batch.baseOffset, timestampMs: maxTimestamp) }
            }
            return BrokerListedOffset(offset: -1, timestampMs: -1)
        }
    }

    public func enforceRetention(nowMs: Int64) {}

    public func close() {}
}

extension Array {
    fileprivate subscript(safe index: Int) -> Element? {
        indices.contains(index) ? self[index] : nil
    }
}
