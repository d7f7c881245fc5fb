#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import KafkaProtocol

/// Idempotent-producer state of one partition: per producer id, its epoch and the last five
/// batches' sequence ranges and offsets (Kafka's `ProducerStateEntry`, kfake's `pidwindow`).
///
/// Rules, as the Java broker applies them:
/// * an epoch below the producer's current one is fenced: `INVALID_PRODUCER_EPOCH`;
/// * a newer epoch must start at sequence 0 (`OUT_OF_ORDER_SEQUENCE_NUMBER` otherwise);
/// * a batch whose first and last sequence equal one of the last five is a duplicate: it is
///   answered with the original batch's offsets and not appended;
/// * any other batch must start right after the last one's last sequence (wrapping at
///   `Int32.max`), else `OUT_OF_ORDER_SEQUENCE_NUMBER`;
/// * a producer the table does not know (new, or its batches were deleted by retention) is
///   accepted at any sequence.
struct ProducerStateTable: Sendable {
    /// How many batches per producer are remembered for duplicate detection (Kafka: 5, the most
    /// in-flight requests an idempotent producer may have).
    static let windowSize = 5

    struct BatchMetadata: Hashable, Sendable, Codable {
        var firstSequence: Int32
        var lastSequence: Int32
        var firstOffset: Int64
        var lastOffset: Int64
    }

    struct Entry: Hashable, Sendable, Codable {
        var epoch: Int16
        /// Oldest first, at most `windowSize`.
        var batches: [BatchMetadata]
    }

    /// What `check` decided for one batch.
    enum Verdict: Hashable {
        /// Append it.
        case append
        /// Already appended: answer with these offsets.
        case duplicate(BatchMetadata)
    }

    private(set) var producers: [Int64: Entry] = [:]

    /// The last sequence of a batch starting at `first` with `lastOffsetDelta`, wrapping as Kafka
    /// does (`DefaultRecordBatch.incrementSequence`).
    static func lastSequence(first: Int32, delta: Int32) -> Int32 {
        if first > Int32.max - delta { return first - (Int32.max - delta) - 1 }
        return first + delta
    }

    static func nextSequence(after last: Int32) -> Int32 {
        last == Int32.max ? 0 : last + 1
    }

    /// Checks one batch from an idempotent producer against the state (without changing it).
    ///
    /// - Throws: `INVALID_PRODUCER_EPOCH` or `OUT_OF_ORDER_SEQUENCE_NUMBER`.
    func check(_ header: RecordBatchHeader) throws(StorageError) -> Verdict {
        guard header.hasProducerId, header.baseSequence >= 0 else { return .append }
        guard let entry = producers[header.producerId] else { return .append }
        let first = header.baseSequence
        let last = Self.lastSequence(first: first, delta: header.lastOffsetDelta)
        if header.producerEpoch < entry.epoch {
            throw StorageError(
                .invalidProducerEpoch,
                "producer \(header.producerId) epoch \(header.producerEpoch) is older than the current epoch \(entry.epoch)")
        }
        if header.producerEpoch > entry.epoch {
            guard first == 0 else {
                throw StorageError(
                    .outOfOrderSequenceNumber,
                    "producer \(header.producerId) new epoch \(header.producerEpoch) must start at sequence 0, got \(first)")
            }
            return .append
        }
        if let original = entry.batches.first(where: { $0.firstSequence == first && $0.lastSequence == last }) {
            return .duplicate(original)
        }
        if let previous = entry.batches.last {
            let expected = Self.nextSequence(after: previous.lastSequence)
            guard first == expected else {
                throw StorageError(
                    .outOfOrderSequenceNumber,
                    "producer \(header.producerId) epoch \(header.producerEpoch): expected sequence \(expected), got \(first)")
            }
        }
        return .append
    }

    /// Records an appended batch (its header carries the assigned `baseOffset`).
    mutating func record(_ header: RecordBatchHeader) {
        guard header.hasProducerId, header.baseSequence >= 0 else { return }
        let batch = BatchMetadata(
            firstSequence: header.baseSequence,
            lastSequence: Self.lastSequence(first: header.baseSequence, delta: header.lastOffsetDelta),
            firstOffset: header.baseOffset, lastOffset: header.lastOffset)
        var entry = producers[header.producerId] ?? Entry(epoch: header.producerEpoch, batches: [])
        if header.producerEpoch != entry.epoch {
            entry = Entry(epoch: header.producerEpoch, batches: [])
        }
        entry.batches.append(batch)
        if entry.batches.count > Self.windowSize { entry.batches.removeFirst(entry.batches.count - Self.windowSize) }
        producers[header.producerId] = entry
    }

    /// Forgets batches at or above `offset` (a snapshot taken before the log was cut back).
    mutating func removeBatches(atOrAfter offset: Int64) {
        for (id, var entry) in producers {
            entry.batches.removeAll { $0.lastOffset >= offset }
            producers[id] = entry.batches.isEmpty ? nil : entry
        }
    }

    // MARK: Snapshots

    /// The snapshot file, version 1: the table as it was with the log ending at `offset`.
    private struct Snapshot: Codable {
        struct Producer: Codable {
            var producerId: Int64
            var entry: Entry
        }
        var version: Int
        var offset: Int64
        var producers: [Producer]
    }

    /// The table as a versioned JSON snapshot taken when the log ends at `offset`.
    func snapshot(offset: Int64) throws(StorageError) -> [UInt8] {
        let snapshot = Snapshot(
            version: 1, offset: offset,
            producers: producers.sorted { $0.key < $1.key }.map { Snapshot.Producer(producerId: $0.key, entry: $0.value) })
        do {
            return Array(try JSONEncoder().encode(snapshot))
        } catch {
            throw StorageError(.kafkaStorageError, "cannot encode the producer state snapshot: \(error)")
        }
    }

    /// Reads a snapshot: the table and the log end offset it was taken at; `nil` if unreadable.
    static func load(snapshot bytes: [UInt8]) -> (table: ProducerStateTable, offset: Int64)? {
        guard let snapshot = try? JSONDecoder().decode(Snapshot.self, from: Data(bytes)), snapshot.version == 1 else {
            return nil
        }
        var table = ProducerStateTable()
        for producer in snapshot.producers where producer.entry.batches.count <= windowSize {
            table.producers[producer.producerId] = producer.entry
        }
        return (table, snapshot.offset)
    }

    /// Forgets batches below `logStartOffset` (deleted by retention); producers left with none
    /// are dropped.
    mutating func removeBatches(before logStartOffset: Int64) {
        for (id, var entry) in producers {
            entry.batches.removeAll { $0.lastOffset < logStartOffset }
            producers[id] = entry.batches.isEmpty ? nil : entry
        }
    }
}
