import KafkaProtocol
import NIOCore

/// The `records` of one partition in a Fetch response, cut into whole batches.
///
/// A broker answers with whole batches starting with the one holding the fetch offset, so the
/// first batch may start below it, and (a compacted log, an older broker) whole batches may lie
/// below it: those are dropped. A broker may cut the last batch at its byte limit: that tail is
/// ignored and fetched again from `nextOffset`. Control batches (transaction markers) are dropped
/// but move `nextOffset` past them.
struct FetchedPartitionRecords: Sendable {
    /// Complete data batches holding offsets at or above the fetch offset.
    var batches: [RecordBatch]
    /// Where the next fetch starts: after the last complete batch, or the fetch offset if none.
    var nextOffset: Int64
    /// The size a cut-off first batch declares, when the response held no complete batch but the
    /// start of one: the next fetch must allow at least this many bytes for the partition.
    var truncatedBatchSize: Int?

    /// Cuts `records` (nil or empty: nothing new) fetched from `fetchOffset`.
    ///
    /// - Throws: `KafkaDecodingError` for a corrupt batch (bad length, magic other than 2, CRC).
    init(records: ByteBuffer?, fetchOffset: Int64, verifyChecksums: Bool) throws(KafkaDecodingError) {
        batches = []
        nextOffset = fetchOffset
        truncatedBatchSize = nil
        guard let records, records.readableBytes > 0 else { return }
        var reader = RecordBatchReader(records, verifyingChecksums: verifyChecksums)
        while let batch = try reader.next() {
            guard batch.header.lastOffset >= fetchOffset else { continue }
            nextOffset = max(nextOffset, batch.header.nextOffset)
            if !batch.header.attributes.isControl { batches.append(batch) }
        }
        if reader.batchesRead == 0, reader.stoppedEarly,
           let length = records.getInteger(at: records.readerIndex + 8, as: Int32.self) {
            truncatedBatchSize = Int(length) + 12
        }
    }
}
