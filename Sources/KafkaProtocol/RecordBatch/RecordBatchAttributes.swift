/// The `attributes` field of a record batch (int16).
///
/// Bits 0-2 compression, bit 3 timestamp type, bit 4 transactional, bit 5 control batch,
/// bit 6 delete horizon; bits 7-15 are unused, written as 0 and ignored when read (as the
/// Java implementation does).
public struct RecordBatchAttributes: Hashable, Sendable {
    /// How a batch's record timestamps were assigned (attribute bit 3).
    public enum TimestampType: Hashable, Sendable {
        /// Set by the producer (bit clear); each record carries its own timestamp.
        case createTime
        /// Set by the broker on append (bit set); every record's timestamp is the batch's `maxTimestamp`.
        case logAppendTime
    }

    /// The codec of everything after `recordsCount` (bits 0-2).
    public var compression: KafkaCompression
    /// Bit 3.
    public var timestampType: TimestampType
    /// Bit 4: the batch belongs to a transaction.
    public var isTransactional: Bool
    /// Bit 5: the batch holds one control record (a transaction marker), not application data.
    public var isControl: Bool
    /// Bit 6: `baseTimestamp` holds the delete horizon set by log compaction.
    public var hasDeleteHorizon: Bool

    /// Creates attributes; the defaults describe a plain producer batch.
    @inlinable
    public init(
        compression: KafkaCompression = .none,
        timestampType: TimestampType = .createTime,
        isTransactional: Bool = false,
        isControl: Bool = false,
        hasDeleteHorizon: Bool = false
    ) {
        self.compression = compression
        self.timestampType = timestampType
        self.isTransactional = isTransactional
        self.isControl = isControl
        self.hasDeleteHorizon = hasDeleteHorizon
    }

    /// Bit masks within the attributes field.
    public enum Bits {
        /// Bits 0-2: the codec id.
        public static let compressionMask: Int16 = 0x07
        /// Bit 3: LogAppendTime.
        public static let timestampType: Int16 = 0x08
        /// Bit 4: transactional.
        public static let transactional: Int16 = 0x10
        /// Bit 5: control batch.
        public static let control: Int16 = 0x20
        /// Bit 6: delete horizon set.
        public static let deleteHorizon: Int16 = 0x40
    }

    /// Decodes the attributes field.
    ///
    /// - Throws: `KafkaDecodingError.invalidValue` for codec ids 5-7. Unused bits 7-15 are ignored.
    @inlinable
    public init(rawValue: Int16) throws(KafkaDecodingError) {
        guard let compression = KafkaCompression(rawValue: rawValue & Bits.compressionMask) else {
            throw KafkaDecodingError(
                .invalidValue, context: "RecordBatch.attributes",
                detail: "unknown compression codec \(rawValue & Bits.compressionMask)")
        }
        self.compression = compression
        self.timestampType = rawValue & Bits.timestampType != 0 ? .logAppendTime : .createTime
        self.isTransactional = rawValue & Bits.transactional != 0
        self.isControl = rawValue & Bits.control != 0
        self.hasDeleteHorizon = rawValue & Bits.deleteHorizon != 0
    }

    /// The attributes field as written on the wire (unused bits 0).
    @inlinable
    public var rawValue: Int16 {
        var raw = compression.rawValue
        if timestampType == .logAppendTime { raw |= Bits.timestampType }
        if isTransactional { raw |= Bits.transactional }
        if isControl { raw |= Bits.control }
        if hasDeleteHorizon { raw |= Bits.deleteHorizon }
        return raw
    }
}
