public import NIOCore

/// One record of a decoded batch: a view into the batch's (decompressed) bytes.
///
/// `key`, `value` and the headers are slices of one buffer shared by all records of the batch;
/// no bytes are copied per record. Holding any of them keeps that whole buffer alive.
public struct Record: Sendable {
    /// The record's offset: the batch's `baseOffset + offsetDelta`.
    public var offset: Int64
    /// The record's timestamp in ms: `baseTimestamp + timestampDelta` for CreateTime batches,
    /// the batch's `maxTimestamp` for LogAppendTime batches (as the Java client reports it).
    public var timestamp: Int64
    /// The key, `nil` for a null key (different from an empty one).
    public var key: ByteBuffer?
    /// The value, `nil` for a null value (a tombstone).
    public var value: ByteBuffer?
    /// The headers, decoded lazily as they are iterated.
    public var headers: Headers
    /// The record's offset minus the batch's base offset.
    public var offsetDelta: Int32
    /// The record's own `attributes` byte (unused by Kafka, normally 0).
    public var attributes: Int8

    /// Creates a record view.
    @inlinable
    public init(
        offset: Int64, timestamp: Int64, key: ByteBuffer?, value: ByteBuffer?,
        headers: Headers, offsetDelta: Int32, attributes: Int8 = 0
    ) {
        self.offset = offset
        self.timestamp = timestamp
        self.key = key
        self.value = value
        self.headers = headers
        self.offsetDelta = offsetDelta
        self.attributes = attributes
    }
}

/// One record header: a UTF-8 key and a nullable value, both slices of the batch's bytes.
public struct RecordHeader: Sendable {
    /// The header key's bytes (UTF-8 by contract; not validated when decoding).
    public var key: ByteBuffer
    /// The header value, `nil` for null.
    public var value: ByteBuffer?

    /// Creates a header view.
    @inlinable
    public init(key: ByteBuffer, value: ByteBuffer?) {
        self.key = key
        self.value = value
    }

    /// The key as a `String` (allocates; invalid UTF-8 is repaired as `String(decoding:)` does).
    public var keyString: String { String(buffer: key) }

    /// Whether the key's bytes equal the UTF-8 of `name`, without allocating.
    @inlinable
    public func hasKey(_ name: some StringProtocol) -> Bool {
        guard key.readableBytes == name.utf8.count else { return false }
        return key.withUnsafeReadableBytes { $0.elementsEqual(name.utf8) }
    }
}

extension Record {
    /// A record's headers in wire order, decoded lazily from the record's bytes.
    ///
    /// The bytes were validated when the batch's records were decoded, so iterating cannot fail.
    public struct Headers: Sequence, Sendable {
        /// Number of headers.
        public let count: Int
        /// The encoded headers (after the count), exactly `count` of them.
        @usableFromInline
        internal var encoded: ByteBuffer

        /// No headers.
        public init() {
            self.count = 0
            self.encoded = ByteBuffer()
        }

        @usableFromInline
        internal init(count: Int, encoded: ByteBuffer) {
            self.count = count
            self.encoded = encoded
        }

        /// Whether there are no headers.
        @inlinable
        public var isEmpty: Bool { count == 0 }

        /// Iterates the headers in wire order.
        public struct Iterator: IteratorProtocol, Sendable {
            @usableFromInline
            internal var remaining: Int
            @usableFromInline
            internal var encoded: ByteBuffer

            @inlinable
            internal init(remaining: Int, encoded: ByteBuffer) {
                self.remaining = remaining
                self.encoded = encoded
            }

            /// The next header, or `nil` after the last.
            @inlinable
            public mutating func next() -> RecordHeader? {
                guard remaining > 0 else { return nil }
                remaining -= 1
                // Validated when the batch was decoded; a failure here would mean a bug, so it ends
                // the iteration rather than trapping.
                guard let header = try? RecordParser.readHeader(from: &encoded, context: "") else {
                    remaining = 0
                    return nil
                }
                return header
            }
        }

        /// Returns an iterator over the headers.
        @inlinable
        public func makeIterator() -> Iterator {
            Iterator(remaining: count, encoded: encoded)
        }

        /// The number of headers.
        @inlinable
        public var underestimatedCount: Int { count }

        /// The first header whose key is `name`, or `nil`.
        @inlinable
        public func first(named name: some StringProtocol) -> RecordHeader? {
            var iterator = makeIterator()
            while let header = iterator.next() {
                if header.hasKey(name) { return header }
            }
            return nil
        }
    }
}

/// Decodes records from the bytes after `recordsCount` (decompressed if needed).
@usableFromInline
internal enum RecordParser {
    /// The fewest bytes a record can take: its length varint plus a body of
    /// attributes, timestampDelta, offsetDelta, keyLength, valueLength and headersCount, one byte each.
    @usableFromInline
    static let minimumRecordSize = 7
    /// The fewest bytes of a record body (everything the length counts).
    @usableFromInline
    static let minimumRecordBodySize = 6

    /// The timing fields a record needs from its batch.
    @usableFromInline
    struct BatchContext: Sendable {
        @usableFromInline var baseOffset: Int64
        @usableFromInline var baseTimestamp: Int64
        @usableFromInline var logAppendTime: Int64?

        @inlinable
        init(_ header: RecordBatchHeader) {
            self.baseOffset = header.baseOffset
            self.baseTimestamp = header.baseTimestamp
            self.logAppendTime = header.attributes.timestampType == .logAppendTime ? header.maxTimestamp : nil
        }
    }

    /// Reads one record, checking every length against the record's own `length` and that the
    /// fields use up exactly `length` bytes.
    @inlinable
    static func readRecord(
        from buffer: inout ByteBuffer, batch: BatchContext, index: Int
    ) throws(KafkaDecodingError) -> Record {
        let start = buffer.readerIndex
        do {
            let record = try readRecordFields(from: &buffer, batch: batch)
            return record
        } catch {
            buffer.moveReaderIndex(to: start)
            throw error.within("RecordBatch.records[\(index)]")
        }
    }

    @inlinable
    static func readRecordFields(
        from buffer: inout ByteBuffer, batch: BatchContext
    ) throws(KafkaDecodingError) -> Record {
        let length = Int(try buffer.readKafkaVarint(field: "length"))
        guard length >= minimumRecordBodySize, length <= buffer.readableBytes else {
            throw KafkaDecodingError(
                .invalidLength, context: "length",
                detail: "record length \(length) outside \(minimumRecordBodySize)...\(buffer.readableBytes) (bytes left)")
        }
        var body = buffer.readSlice(length: length)!
        let attributes = try body.readKafkaInteger(as: Int8.self, field: "attributes")
        let timestampDelta = try body.readKafkaVarlong(field: "timestampDelta")
        let offsetDelta = try body.readKafkaVarint(field: "offsetDelta")
        let key = try readNullableBytes(from: &body, field: "key")
        let value = try readNullableBytes(from: &body, field: "value")
        let headerCount = Int(try body.readKafkaVarint(field: "headersCount"))
        // A header takes at least 2 bytes (an empty key's length and a null value's length).
        guard headerCount >= 0, headerCount <= body.readableBytes / 2 else {
            throw KafkaDecodingError(
                .invalidLength, context: "headersCount",
                detail: "\(headerCount) headers cannot fit in the record's \(body.readableBytes) remaining bytes")
        }
        var headerBytes = body
        for index in 0..<headerCount {
            _ = try readHeader(from: &body, context: "headers[\(index)]")
        }
        let headers = Record.Headers(
            count: headerCount, encoded: headerBytes.readSlice(length: body.readerIndex - headerBytes.readerIndex)!)
        guard body.readableBytes == 0 else {
            throw KafkaDecodingError(
                .invalidLength, context: "length",
                detail: "record length \(length) but its fields end \(body.readableBytes) bytes earlier")
        }
        return Record(
            offset: batch.baseOffset &+ Int64(offsetDelta),
            timestamp: batch.logAppendTime ?? (batch.baseTimestamp &+ timestampDelta),
            key: key, value: value, headers: headers, offsetDelta: offsetDelta, attributes: attributes)
    }

    /// Reads a varint length (-1 = null) and that many bytes as a slice.
    @inlinable
    static func readNullableBytes(
        from buffer: inout ByteBuffer, field: @autoclosure () -> String
    ) throws(KafkaDecodingError) -> ByteBuffer? {
        let length = Int(try buffer.readKafkaVarint(field: field() + "Length"))
        if length == -1 { return nil }
        guard length >= 0, length <= buffer.readableBytes else {
            throw KafkaDecodingError(
                .invalidLength, context: field() + "Length",
                detail: "length \(length) outside -1...\(buffer.readableBytes) (bytes left in the record)")
        }
        return buffer.readSlice(length: length)!
    }

    /// Reads one header: non-null key, nullable value.
    @inlinable
    static func readHeader(
        from buffer: inout ByteBuffer, context: @autoclosure () -> String
    ) throws(KafkaDecodingError) -> RecordHeader {
        let keyLength = Int(try buffer.readKafkaVarint(field: context() + ".keyLength"))
        guard keyLength >= 0, keyLength <= buffer.readableBytes else {
            throw KafkaDecodingError(
                .invalidLength, context: context() + ".keyLength",
                detail: keyLength == -1
                    ? "null header key"
                    : "length \(keyLength) outside 0...\(buffer.readableBytes) (bytes left in the record)")
        }
        let key = buffer.readSlice(length: keyLength)!
        let value = try readNullableBytes(from: &buffer, field: context() + ".value")
        return RecordHeader(key: key, value: value)
    }
}
