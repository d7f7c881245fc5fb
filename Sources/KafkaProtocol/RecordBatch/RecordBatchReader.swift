public import NIOCore

/// Reads the record batches of a concatenation of batches: the `records` field of a Fetch
/// response, a Produce request's partition data, or a broker's segment file.
///
/// A Kafka broker cuts a fetch response at its byte limit, so the last batch may be incomplete.
/// That is not an error: `next()` returns `nil` and `stoppedEarly`/`trailingBytes` report the cut.
/// A batch that cannot be valid whatever follows (a length below the header's, a wrong magic, an
/// unknown codec, a bad CRC) throws.
///
/// ```swift
/// var reader = RecordBatchReader(partition.records)
/// while let batch = try reader.next() { ... }
/// if reader.stoppedEarly { /* fetch again from the next offset */ }
/// ```
public struct RecordBatchReader: Sendable {
    /// The bytes not yet read.
    public private(set) var remaining: ByteBuffer
    /// Whether each batch's CRC-32C is checked before it is returned.
    public let verifiesChecksums: Bool
    /// Batches declaring more bytes than this throw `invalidLength` instead of being taken as cut off.
    public let maxBatchBytes: Int
    /// Bytes left after the last complete batch, once `next()` has returned `nil`: the size of the
    /// truncated last batch, 0 if the input ended at a batch boundary.
    public private(set) var trailingBytes = 0
    /// Number of batches returned so far.
    public private(set) var batchesRead = 0

    /// Creates a reader over the readable bytes of `buffer`.
    ///
    /// - Parameters:
    ///   - verifyingChecksums: check each batch's CRC-32C (default true; the Java consumer's
    ///     `check.crcs` default).
    ///   - maxBatchBytes: the largest batch taken as possibly cut off rather than corrupt.
    ///     Default: `Int32.max + 12`, Kafka's own limit, so anything may be a cut.
    public init(_ buffer: ByteBuffer, verifyingChecksums: Bool = true, maxBatchBytes: Int = Int(Int32.max) + 12) {
        self.remaining = buffer
        self.verifiesChecksums = verifyingChecksums
        self.maxBatchBytes = maxBatchBytes
    }

    /// Whether the input ended inside a batch (`trailingBytes > 0`).
    @inlinable
    public var stoppedEarly: Bool { trailingBytes > 0 }

    /// The next complete batch, or `nil` at the end of the input or at a truncated last batch.
    ///
    /// - Throws: `KafkaDecodingError` for a batch that is corrupt rather than cut off: a
    ///   `batchLength` below 49 or above `maxBatchBytes - 12` (`invalidLength`), a magic other than 2
    ///   (`unsupportedVersion` / `invalidValue`), a bad header field, or a CRC mismatch. The context
    ///   names the batch's index and position. After a throw the reader stays at that batch.
    public mutating func next() throws(KafkaDecodingError) -> RecordBatch? {
        let available = remaining.readableBytes
        guard available > 0 else { return nil }
        let start = remaining.readerIndex
        func fail(_ error: KafkaDecodingError) -> KafkaDecodingError {
            error.within("batch \(batchesRead) at byte \(start)")
        }
        // The length and magic are checked as soon as they are present, even in a cut-off batch.
        if available >= RecordBatchHeader.FieldOffset.partitionLeaderEpoch {
            let length = Int(remaining.getInteger(at: start + RecordBatchHeader.FieldOffset.batchLength, as: Int32.self)!)
            guard length >= RecordBatchHeader.minimumBatchLength, length <= maxBatchBytes - RecordBatchHeader.logOverhead
            else {
                throw fail(KafkaDecodingError(
                    .invalidLength, context: "RecordBatch.batchLength",
                    detail: "batch length \(length) outside \(RecordBatchHeader.minimumBatchLength)..."
                        + "\(maxBatchBytes - RecordBatchHeader.logOverhead)"))
            }
            if available > RecordBatchHeader.FieldOffset.magic {
                do {
                    try RecordBatchHeader.checkMagic(
                        remaining.getInteger(at: start + RecordBatchHeader.FieldOffset.magic, as: Int8.self)!)
                } catch {
                    throw fail(error)
                }
            }
            if length + RecordBatchHeader.logOverhead <= available {
                let batch: RecordBatch
                do {
                    var cursor = remaining
                    batch = try RecordBatch(from: &cursor)
                    if verifiesChecksums { try batch.verifyChecksum() }
                    remaining = cursor
                } catch {
                    throw fail(error)
                }
                batchesRead += 1
                return batch
            }
        }
        trailingBytes = available
        return nil
    }

    /// Reads every remaining batch into an array (convenient for tests and small inputs).
    public mutating func readAll() throws(KafkaDecodingError) -> [RecordBatch] {
        var batches: [RecordBatch] = []
        while let batch = try next() { batches.append(batch) }
        return batches
    }
}
