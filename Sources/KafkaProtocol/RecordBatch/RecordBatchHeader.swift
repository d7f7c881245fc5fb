public import NIOCore

/// The fixed 61-byte header of a Kafka record batch (message format v2, magic 2).
///
/// Layout, big-endian (`docs/implementation.html` §5.3.1, `DefaultRecordBatch.java`):
///
/// | Offset | Field | Type | |
/// |---:|---|---|---|
/// | 0 | baseOffset | int64 | assigned by the broker; producers send 0 |
/// | 8 | batchLength | int32 | bytes **after** this field |
/// | 12 | partitionLeaderEpoch | int32 | set by the broker; not covered by the CRC |
/// | 16 | magic | int8 | 2 |
/// | 17 | crc | uint32 | CRC-32C of bytes 21 to the end of the batch |
/// | 21 | attributes | int16 | see `RecordBatchAttributes` |
/// | 23 | lastOffsetDelta | int32 | |
/// | 27 | baseTimestamp | int64 | |
/// | 35 | maxTimestamp | int64 | |
/// | 43 | producerId | int64 | -1 if not idempotent |
/// | 51 | producerEpoch | int16 | -1 if not idempotent |
/// | 53 | baseSequence | int32 | -1 if not idempotent |
/// | 57 | recordsCount | int32 | |
/// | 61 | records | | one compressed block if compressed |
public struct RecordBatchHeader: Hashable, Sendable {
    /// Size of the fixed header in bytes: 61.
    public static let size = 61
    /// Bytes before the part that `batchLength` counts (baseOffset and batchLength): 12.
    public static let logOverhead = 12
    /// The smallest valid `batchLength`: a header with no records (49).
    public static let minimumBatchLength = size - logOverhead
    /// The magic byte of record batch v2, the only message format this module reads and writes.
    public static let currentMagic: Int8 = 2

    /// Byte offsets of the header's fields from the start of the batch.
    public enum FieldOffset {
        /// Offset of `baseOffset`.
        public static let baseOffset = 0
        /// Offset of `batchLength`.
        public static let batchLength = 8
        /// Offset of `partitionLeaderEpoch`.
        public static let partitionLeaderEpoch = 12
        /// Offset of `magic`.
        public static let magic = 16
        /// Offset of `crc`.
        public static let crc = 17
        /// Offset of `attributes`; the CRC covers everything from here to the end of the batch.
        public static let attributes = 21
        /// Offset of `lastOffsetDelta`.
        public static let lastOffsetDelta = 23
        /// Offset of `baseTimestamp`.
        public static let baseTimestamp = 27
        /// Offset of `maxTimestamp`.
        public static let maxTimestamp = 35
        /// Offset of `producerId`.
        public static let producerId = 43
        /// Offset of `producerEpoch`.
        public static let producerEpoch = 51
        /// Offset of `baseSequence`.
        public static let baseSequence = 53
        /// Offset of `recordsCount`.
        public static let recordsCount = 57
        /// The first record (or the compressed block).
        public static let records = 61
    }

    /// Offset of the first record; the broker assigns it, producers write 0.
    public var baseOffset: Int64
    /// Bytes of the batch after this field: the batch takes `batchLength + 12` bytes.
    public var batchLength: Int32
    /// The leader epoch stamped by the broker; -1 from producers.
    public var partitionLeaderEpoch: Int32
    /// Always 2 in a header this type parsed.
    public var magic: Int8
    /// The CRC-32C as stored in the batch (not verified by parsing the header).
    public var crc: UInt32
    /// Codec, timestamp type and flags.
    public var attributes: RecordBatchAttributes
    /// Offset delta of the last record (normally `recordsCount - 1`), also the last sequence delta.
    public var lastOffsetDelta: Int32
    /// Timestamp of the first record, or the delete horizon if `attributes.hasDeleteHorizon`; -1 if empty.
    public var baseTimestamp: Int64
    /// Largest record timestamp, or the broker's append time for `logAppendTime` batches.
    public var maxTimestamp: Int64
    /// The idempotent producer's id, -1 if none.
    public var producerId: Int64
    /// The idempotent producer's epoch, -1 if none.
    public var producerEpoch: Int16
    /// Sequence number of the first record, -1 if none.
    public var baseSequence: Int32
    /// Number of records in the batch.
    public var recordsCount: Int32

    /// Creates a header from its fields.
    @inlinable
    public init(
        baseOffset: Int64 = 0,
        batchLength: Int32 = Int32(RecordBatchHeader.minimumBatchLength),
        partitionLeaderEpoch: Int32 = -1,
        magic: Int8 = RecordBatchHeader.currentMagic,
        crc: UInt32 = 0,
        attributes: RecordBatchAttributes = RecordBatchAttributes(),
        lastOffsetDelta: Int32 = -1,
        baseTimestamp: Int64 = -1,
        maxTimestamp: Int64 = -1,
        producerId: Int64 = -1,
        producerEpoch: Int16 = -1,
        baseSequence: Int32 = -1,
        recordsCount: Int32 = 0
    ) {
        self.baseOffset = baseOffset
        self.batchLength = batchLength
        self.partitionLeaderEpoch = partitionLeaderEpoch
        self.magic = magic
        self.crc = crc
        self.attributes = attributes
        self.lastOffsetDelta = lastOffsetDelta
        self.baseTimestamp = baseTimestamp
        self.maxTimestamp = maxTimestamp
        self.producerId = producerId
        self.producerEpoch = producerEpoch
        self.baseSequence = baseSequence
        self.recordsCount = recordsCount
    }

    /// Parses the fixed header at the reader index of `buffer` without consuming anything.
    ///
    /// Checks the header on its own: the magic byte, `batchLength >= 49`, the codec id and
    /// `recordsCount >= 0`. It does not check that the whole batch is present or verify the CRC;
    /// `RecordBatch(from:)` does.
    ///
    /// - Throws: `KafkaDecodingError`: `unsupportedVersion` for magic 0 or 1 (message formats
    ///   v0/v1, removed in Kafka 4.0), `invalidValue` for any other magic but 2 or an unknown codec,
    ///   `truncated` if fewer than 61 bytes are readable (the magic is checked first when present),
    ///   `invalidLength` for a negative count or a `batchLength` below 49.
    @inlinable
    public init(from buffer: ByteBuffer) throws(KafkaDecodingError) {
        try self.init(from: buffer, at: buffer.readerIndex)
    }

    /// Parses the fixed header of the batch starting at `index` (a readable index of `buffer`),
    /// as `init(from:)` does.
    public init(from buffer: ByteBuffer, at index: Int) throws(KafkaDecodingError) {
        let available = buffer.writerIndex - index
        guard index >= buffer.readerIndex, available >= 0 else {
            throw KafkaDecodingError(
                .truncated, context: "RecordBatch", detail: "index \(index) is outside the readable bytes")
        }
        if available > FieldOffset.magic {
            try Self.checkMagic(buffer.getInteger(at: index + FieldOffset.magic, as: Int8.self)!)
        }
        guard available >= Self.size else {
            throw KafkaDecodingError(
                .truncated, context: "RecordBatch",
                detail: "needed \(Self.size) bytes for the batch header, \(available) left")
        }
        func get<T: FixedWidthInteger>(_ offset: Int, as: T.Type = T.self) -> T {
            buffer.getInteger(at: index + offset, as: T.self)!
        }
        self.baseOffset = get(FieldOffset.baseOffset)
        self.batchLength = get(FieldOffset.batchLength)
        self.partitionLeaderEpoch = get(FieldOffset.partitionLeaderEpoch)
        self.magic = get(FieldOffset.magic)
        self.crc = get(FieldOffset.crc)
        self.attributes = try RecordBatchAttributes(rawValue: get(FieldOffset.attributes))
        self.lastOffsetDelta = get(FieldOffset.lastOffsetDelta)
        self.baseTimestamp = get(FieldOffset.baseTimestamp)
        self.maxTimestamp = get(FieldOffset.maxTimestamp)
        self.producerId = get(FieldOffset.producerId)
        self.producerEpoch = get(FieldOffset.producerEpoch)
        self.baseSequence = get(FieldOffset.baseSequence)
        self.recordsCount = get(FieldOffset.recordsCount)
        guard self.batchLength >= Self.minimumBatchLength else {
            throw KafkaDecodingError(
                .invalidLength, context: "RecordBatch.batchLength",
                detail: "batch length \(self.batchLength) is below the header's \(Self.minimumBatchLength)")
        }
        guard self.recordsCount >= 0 else {
            throw KafkaDecodingError(
                .invalidLength, context: "RecordBatch.recordsCount", detail: "negative record count \(self.recordsCount)")
        }
    }

    /// Throws unless `magic` is 2.
    @usableFromInline
    internal static func checkMagic(_ magic: Int8) throws(KafkaDecodingError) {
        switch magic {
        case currentMagic:
            return
        case 0, 1:
            throw KafkaDecodingError(
                .unsupportedVersion, context: "RecordBatch.magic",
                detail: "message format v\(magic) (magic \(magic)) is not supported; only record batch v2 is")
        default:
            throw KafkaDecodingError(
                .invalidValue, context: "RecordBatch.magic", detail: "unknown magic \(magic), expected 2")
        }
    }

    /// Total size of the batch in bytes: `batchLength + 12`.
    @inlinable
    public var totalSize: Int { Int(batchLength) + Self.logOverhead }

    /// Offset of the last record: `baseOffset + lastOffsetDelta` (wrapping on hostile input).
    @inlinable
    public var lastOffset: Int64 { baseOffset &+ Int64(lastOffsetDelta) }

    /// The offset the batch after this one starts at: `lastOffset + 1`.
    @inlinable
    public var nextOffset: Int64 { lastOffset &+ 1 }

    /// Whether this batch came from an idempotent or transactional producer.
    @inlinable
    public var hasProducerId: Bool { producerId >= 0 }

    /// Appends the 61 header bytes, fields as they are (no CRC or length computed).
    @inlinable
    @discardableResult
    public func write(to buffer: inout ByteBuffer) -> Int {
        buffer.reserveCapacity(minimumWritableBytes: Self.size)
        var written = buffer.writeInteger(baseOffset)
        written += buffer.writeInteger(batchLength)
        written += buffer.writeInteger(partitionLeaderEpoch)
        written += buffer.writeInteger(magic)
        written += buffer.writeInteger(crc)
        written += buffer.writeInteger(attributes.rawValue)
        written += buffer.writeInteger(lastOffsetDelta)
        written += buffer.writeInteger(baseTimestamp)
        written += buffer.writeInteger(maxTimestamp)
        written += buffer.writeInteger(producerId)
        written += buffer.writeInteger(producerEpoch)
        written += buffer.writeInteger(baseSequence)
        written += buffer.writeInteger(recordsCount)
        return written
    }
}
