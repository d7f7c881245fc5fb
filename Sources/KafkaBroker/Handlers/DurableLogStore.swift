import KafkaProtocol
import Logging
import NIOCore

/// The ``BrokerLogStore`` over the Storage module's `LogManager` and `PartitionLog`s: a thin
/// adapter translating names and `StorageError` into the handlers' terms.
///
/// Auto-creation is decided by the handlers (Metadata with `allowAutoTopicCreation`), so the
/// `LogManager` is opened with it off.
struct DurableLogStore: BrokerLogStore {
    let logs: LogManager

    private func partition(_ topic: String, _ index: Int32) throws(BrokerStoreError) -> PartitionLog {
        guard let log = logs.partition(topic: topic, index: index) else {
            throw BrokerStoreError(.unknownTopicOrPartition, "\(topic)-\(index) does not exist")
        }
        return log
    }

    private static func translate(_ error: StorageError) -> BrokerStoreError {
        BrokerStoreError(error.code, error.message)
    }

    func topics() async -> [(name: String, partitions: Int32)] {
        logs.topics.map { ($0.name, $0.partitionCount) }
    }

    func partitionCount(of topic: String) async -> Int32? {
        logs.topic(named: topic)?.partitionCount
    }

    func createTopic(_ topic: String, partitions: Int32, configs: [String: String]) async throws(BrokerStoreError) {
        do {
            try logs.createTopic(name: topic, partitions: partitions < 1 ? -1 : partitions, configs: configs)
        } catch {
            throw Self.translate(error)
        }
    }

    func deleteTopic(_ topic: String) async throws(BrokerStoreError) {
        do { try logs.deleteTopic(name: topic) } catch { throw Self.translate(error) }
    }

    func describeConfigs(of topic: String, keys: [String]?) async throws(BrokerStoreError) -> [BrokerTopicConfig] {
        do {
            return try logs.describeConfigs(topic: topic)
                .filter { keys == nil || keys!.contains($0.name) }
                .map { BrokerTopicConfig(name: $0.name, value: $0.value, isDefault: $0.isDefault, readOnly: $0.isReadOnly) }
        } catch {
            throw Self.translate(error)
        }
    }

    func alterConfigs(of topic: String, configs: [String: String], validateOnly: Bool) async throws(BrokerStoreError) {
        do {
            try logs.alterConfigs(topic: topic, configs: configs, validateOnly: validateOnly)
        } catch {
            throw Self.translate(error)
        }
    }

    func allocateProducerId() async throws(BrokerStoreError) -> Int64 {
        do { return try logs.allocateProducerID() } catch { throw Self.translate(error) }
    }

    func append(topic: String, partition: Int32, records: ByteBuffer, nowMs: Int64) async throws(BrokerStoreError) -> BrokerAppendResult {
        let log = try self.partition(topic, partition)
        do {
            let result = try log.append(records, now: nowMs)
            return BrokerAppendResult(
                baseOffset: result.baseOffset, lastOffset: result.lastOffset, logAppendTimeMs: result.logAppendTime,
                logStartOffset: result.logStartOffset, isDuplicate: result.isDuplicate)
        } catch {
            throw Self.translate(error)
        }
    }

    func waitDurable(topic: String, partition: Int32, through offset: Int64) async throws(BrokerStoreError) {
        let log = try self.partition(topic, partition)
        do { try await log.waitDurable(through: offset) } catch { throw Self.translate(error) }
    }

    func read(
        topic: String, partition: Int32, from offset: Int64, maxBytes: Int, minOneBatch: Bool
    ) async throws(BrokerStoreError) -> BrokerReadResult {
        let log = try self.partition(topic, partition)
        do {
            let result = try log.read(from: offset, maxBytes: maxBytes, minOneBatch: minOneBatch)
            return BrokerReadResult(
                records: result.records, highWatermark: result.highWatermark, logStartOffset: result.logStartOffset)
        } catch {
            throw Self.translate(error)
        }
    }

    func waitForData(topic: String, partition: Int32, after offset: Int64, timeout: Duration) async {
        guard let log = logs.partition(topic: topic, index: partition) else { return }
        await log.waitForData(after: offset, timeout: timeout)
    }

    func listOffset(topic: String, partition: Int32, timestampMs: Int64) async throws(BrokerStoreError) -> BrokerListedOffset {
        let log = try self.partition(topic, partition)
        switch timestampMs {
        case -1: return BrokerListedOffset(offset: log.highWatermark, timestampMs: -1)
        case -2: return BrokerListedOffset(offset: log.logStartOffset, timestampMs: -1)
        default:
            do {
                guard let found = try log.offset(forTimestamp: timestampMs) else {
                    return BrokerListedOffset(offset: -1, timestampMs: -1)
                }
                return BrokerListedOffset(offset: found.offset, timestampMs: found.timestamp)
            } catch {
                throw Self.translate(error)
            }
        }
    }

    func enforceRetention(nowMs: Int64) async {
        logs.enforceRetention(now: nowMs)
    }

    func close() async {
        do { try logs.close() } catch { logs.logger.error("closing the partition logs failed: \(error)") }
    }
}
