public import NIOCore

extension ByteBuffer {
    /// Overwrites the `baseOffset` of the record batch starting at `index`, outside the CRC.
    ///
    /// For a broker assigning offsets to a batch it has already validated.
    ///
    /// - Precondition: `index + 61` is within the written bytes.
    @inlinable
    public mutating func setKafkaRecordBatchBaseOffset(_ baseOffset: Int64, batchAt index: Int) {
        precondition(index >= 0 && index + RecordBatchHeader.size <= writerIndex, "no record batch header at \(index)")
        setInteger(baseOffset, at: index + RecordBatchHeader.FieldOffset.baseOffset)
    }

    /// Overwrites the `partitionLeaderEpoch` of the record batch starting at `index`, outside the CRC.
    ///
    /// - Precondition: `index + 61` is within the written bytes.
    @inlinable
    public mutating func setKafkaRecordBatchPartitionLeaderEpoch(_ epoch: Int32, batchAt index: Int) {
        precondition(index >= 0 && index + RecordBatchHeader.size <= writerIndex, "no record batch header at \(index)")
        setInteger(epoch, at: index + RecordBatchHeader.FieldOffset.partitionLeaderEpoch)
    }

    /// The header of the record batch starting at `index` (see `RecordBatchHeader(from:at:)`):
    /// the cheap way to get `lastOffsetDelta`, `maxTimestamp` and `recordsCount` without touching records.
    @inlinable
    public func getKafkaRecordBatchHeader(at index: Int) throws(KafkaDecodingError) -> RecordBatchHeader {
        try RecordBatchHeader(from: self, at: index)
    }
}
