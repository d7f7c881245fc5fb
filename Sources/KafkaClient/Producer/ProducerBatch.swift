import KafkaProtocol
import NIOCore

/// One batch of records for one partition, from its first `send` to its delivery report.
///
/// Lives in the producer's state and is touched only under the producer's lock, except for
/// `encode`, which the sender runs on a batch it has taken out of the queues (state
/// `.encoding`) and no other task can reach until it is put back in flight.
final class ProducerBatch: @unchecked Sendable {
    // @unchecked: every stored property is read and written under `KafkaProducer`'s lock, or by
    // the one sender task that took the batch out of the queues to encode it (see above).

    let topic: String
    let partition: Int32
    /// When the first record was accepted; linger and the delivery timeout count from here.
    let createdAt: ContinuousClock.Instant
    /// The builder records are appended to, until the batch is encoded.
    var builder: RecordBatchBuilder?
    /// The wire form, once encoded; kept for retries.
    var encoded: ByteBuffer?
    /// The caller's tokens, in record order.
    var tokens: [UInt64]
    /// Waiters for single records (`sendAndWait`): record index and continuation.
    var waiters: [(index: Int, continuation: CheckedContinuation<KafkaProducedRecord, any Error>)] = []
    /// Buffer bytes this batch holds (released when reported).
    var bufferedBytes = 0
    /// The first record's sequence, once assigned (-1 before, or without idempotence).
    var baseSequence: Int32 = -1
    /// The producer identity the batch is stamped with.
    var identity: ProducerIdentity?
    /// Send attempts so far.
    var attempts = 0
    /// Not to be re-sent before this instant.
    var retryAfter: ContinuousClock.Instant?
    /// An attempt ended without telling whether the broker stored the batch (response lost, request
    /// timed out after the append): it is re-sent in the same epoch, where the broker recognises a
    /// stored copy, before the producer may move to a new one.
    var mayBeStored = false
    /// The last retriable error, reported if the delivery timeout expires.
    var lastError: KafkaProducerError?
    /// Where the batch is in its life.
    var phase: ProducerBatchPhase = .open
    /// The offset of the first record, or the error; set when `phase` becomes `.done`.
    var outcome: Result<Int64, KafkaProducerError>?

    init(topic: String, partition: Int32, builder: RecordBatchBuilder, createdAt: ContinuousClock.Instant) {
        self.topic = topic
        self.partition = partition
        self.builder = builder
        self.createdAt = createdAt
        self.tokens = []
        self.tokens.reserveCapacity(64)
    }

    var recordCount: Int { tokens.count }

    /// The last sequence number of the batch.
    var lastSequence: Int32 { ProducerBatch.sequence(baseSequence, plus: Int32(recordCount - 1)) }

    /// `sequence + delta`, wrapping past `Int32.max` to 0 as Kafka does.
    static func sequence(_ sequence: Int32, plus delta: Int32) -> Int32 {
        let sum = Int64(sequence) + Int64(delta)
        return Int32(truncatingIfNeeded: sum > Int64(Int32.max) ? sum - Int64(Int32.max) - 1 : sum)
    }

    /// Writes the batch with its producer fields and returns the builder for reuse.
    func encode(allocator: ByteBufferAllocator) throws(KafkaProducerError) -> RecordBatchBuilder? {
        guard let builder else { return nil }
        builder.producerId = identity?.producerId ?? -1
        builder.producerEpoch = identity?.epoch ?? -1
        builder.baseSequence = identity == nil ? -1 : baseSequence
        var buffer = allocator.buffer(capacity: builder.sizeInBytes + 64)
        do {
            try builder.finish(into: &buffer)
        } catch {
            builder.reset()
            self.builder = nil
            throw KafkaProducerError(
                .invalidRecord, "cannot compress a batch for \(topic)-\(partition): \(error)")
        }
        if buffer.capacity >= 2 * buffer.readableBytes {
            // Compressed to well under the records' size: keep a tight copy while the batch waits for its
            // acknowledgement, so the batch-sized buffer is freed now (batches in flight would otherwise each
            // hold a whole uncompressed batch's worth of memory).
            var tight = allocator.buffer(capacity: buffer.readableBytes)
            tight.writeImmutableBuffer(buffer)
            buffer = tight
        }
        encoded = buffer
        self.builder = nil
        return builder
    }

    /// Rewrites the producer id, epoch and base sequence of the encoded batch (after the producer
    /// re-initialised) and its CRC.
    func restamp(identity: ProducerIdentity, baseSequence: Int32) {
        self.identity = identity
        self.baseSequence = baseSequence
        mayBeStored = false
        guard var buffer = encoded else { return }
        encoded = nil  // keep the storage unique while patching
        let start = buffer.readerIndex
        buffer.setInteger(identity.producerId, at: start + RecordBatchHeader.FieldOffset.producerId)
        buffer.setInteger(identity.epoch, at: start + RecordBatchHeader.FieldOffset.producerEpoch)
        buffer.setInteger(baseSequence, at: start + RecordBatchHeader.FieldOffset.baseSequence)
        let covered = RecordBatchHeader.FieldOffset.attributes
        if let crc = CRC32C.checksum(buffer, at: start + covered, length: buffer.readableBytes - covered) {
            buffer.setInteger(crc, at: start + RecordBatchHeader.FieldOffset.crc)
        }
        encoded = buffer
    }
}
