import NIOCore

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
