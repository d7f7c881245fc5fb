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

// MARK: Raw fast path

extension RecordParser {
    /// A bounds-checked cursor over raw bytes: every read returns `nil` instead of reading past `end`.
    ///
    /// Used to validate and iterate records without creating a `ByteBuffer` slice per field. Its
    /// rules are exactly those of the `ByteBuffer` readers above, which run only to describe a
    /// failure precisely.
    @usableFromInline
    struct RawCursor {
        @usableFromInline let base: UnsafeRawPointer?
        @usableFromInline var position: Int
        @usableFromInline var end: Int

        @inlinable
        init(_ bytes: UnsafeRawBufferPointer, position: Int = 0) {
            self.base = bytes.baseAddress
            self.end = bytes.count
            self.position = min(max(position, 0), bytes.count)
        }

        @inlinable
        var remaining: Int { end - position }

        @inlinable
        mutating func readByte() -> UInt8? {
            guard position < end, let base else { return nil }
            defer { position += 1 }
            return base.load(fromByteOffset: position, as: UInt8.self)
        }

        /// LEB128 of at most `maxBytes` bytes, rejecting bits above 64 (as `readKafkaUnsignedVarlongBits`).
        @inlinable
        mutating func readUnsigned(maxBytes: Int) -> UInt64? {
            var result: UInt64 = 0
            var shift: UInt64 = 0
            var count = 0
            while true {
                guard count < maxBytes, let byte = readByte() else { return nil }
                count += 1
                let bits = UInt64(byte & 0x7F)
                if shift == 63 && bits > 1 { return nil }
                result |= bits << shift
                if byte & 0x80 == 0 { return result }
                shift += 7
            }
        }

        /// A zig-zag varint (at most 5 bytes, 32 bits).
        @inlinable
        mutating func readVarint() -> Int32? {
            guard let raw = readUnsigned(maxBytes: 5), raw <= UInt64(UInt32.max) else { return nil }
            let value = UInt32(truncatingIfNeeded: raw)
            return Int32(bitPattern: (value >> 1) ^ (0 &- (value & 1)))
        }

        /// A zig-zag varlong (at most 10 bytes).
        @inlinable
        mutating func readVarlong() -> Int64? {
            guard let raw = readUnsigned(maxBytes: 10) else { return nil }
            return Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
        }

        /// A varint length, -1 (null) or one that the remaining bytes hold; skips the bytes and
        /// returns (start, length) with length -1 for null.
        @inlinable
        mutating func readNullableBytes() -> (start: Int, length: Int)? {
            guard let length = readVarint().map(Int.init) else { return nil }
            if length == -1 { return (position, -1) }
            guard length >= 0, length <= remaining else { return nil }
            defer { position += length }
            return (position, length)
        }
    }

    /// One record's fields as positions in the raw bytes.
    @usableFromInline
    struct RawRecord {
        @usableFromInline var attributes: Int8
        @usableFromInline var timestampDelta: Int64
        @usableFromInline var offsetDelta: Int32
        @usableFromInline var key: (start: Int, length: Int)
        @usableFromInline var value: (start: Int, length: Int)
        @usableFromInline var headerCount: Int
        @usableFromInline var headersStart: Int
        /// Where the record ends (its headers end here too).
        @usableFromInline var end: Int

        @inlinable
        init(
            attributes: Int8, timestampDelta: Int64, offsetDelta: Int32, key: (start: Int, length: Int),
            value: (start: Int, length: Int), headerCount: Int, headersStart: Int, end: Int
        ) {
            self.attributes = attributes
            self.timestampDelta = timestampDelta
            self.offsetDelta = offsetDelta
            self.key = key
            self.value = value
            self.headerCount = headerCount
            self.headersStart = headersStart
            self.end = end
        }
    }

    /// Parses the record at `cursor.position` and moves past it.
    ///
    /// - Parameter validatingHeaders: walk every header and require the fields to end exactly at
    ///   the record's end. Without it (records validated before) the headers are taken to fill the
    ///   rest of the record.
    /// - Returns: `nil` where `readRecord` would throw.
    @inlinable
    static func parseRaw(_ cursor: inout RawCursor, validatingHeaders: Bool) -> RawRecord? {
        guard let length = cursor.readVarint().map(Int.init),
            length >= minimumRecordBodySize, length <= cursor.remaining
        else { return nil }
        let end = cursor.position + length
        var body = cursor
        body.end = end
        guard let attributes = body.readByte(),
            let timestampDelta = body.readVarlong(),
            let offsetDelta = body.readVarint(),
            let key = body.readNullableBytes(),
            let value = body.readNullableBytes(),
            let headerCount = body.readVarint().map(Int.init),
            headerCount >= 0, headerCount <= body.remaining / 2
        else { return nil }
        let headersStart = body.position
        if validatingHeaders {
            for _ in 0..<headerCount {
                guard let headerKey = body.readNullableBytes(), headerKey.length >= 0, body.readNullableBytes() != nil else {
                    return nil
                }
            }
            guard body.position == end else { return nil }
        }
        cursor.position = end
        return RawRecord(
            attributes: Int8(bitPattern: attributes), timestampDelta: timestampDelta, offsetDelta: offsetDelta,
            key: key, value: value, headerCount: headerCount, headersStart: headersStart, end: end)
    }

    /// Whether `bytes` holds exactly `count` valid records with increasing offset deltas no larger
    /// than `lastOffsetDelta`: the checks of `RecordBatch.Records(validating:header:)`.
    @usableFromInline
    static func validate(_ bytes: UnsafeRawBufferPointer, count: Int, lastOffsetDelta: Int32) -> Bool {
        var cursor = RawCursor(bytes)
        var previous: Int32 = -1
        for _ in 0..<count {
            guard let record = parseRaw(&cursor, validatingHeaders: true),
                record.offsetDelta > previous, record.offsetDelta <= lastOffsetDelta
            else { return false }
            previous = record.offsetDelta
        }
        return cursor.remaining == 0
    }
}
