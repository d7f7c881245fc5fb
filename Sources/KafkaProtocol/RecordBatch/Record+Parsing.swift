import CPrefetch
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

// MARK: Raw-pointer parsing

extension RecordParser {
    /// Where the fields of one record lie, as offsets into the bytes it was parsed from.
    @usableFromInline
    struct RawRecord: Equatable {
        /// Offset just past the record (its length varint and body).
        @usableFromInline var end: Int
        @usableFromInline var attributes: Int8
        @usableFromInline var timestampDelta: Int64
        @usableFromInline var offsetDelta: Int32
        /// The key's first byte; `keyLength` -1 means null.
        @usableFromInline var keyStart: Int
        @usableFromInline var keyLength: Int
        /// The value's first byte; `valueLength` -1 means null.
        @usableFromInline var valueStart: Int
        @usableFromInline var valueLength: Int
        @usableFromInline var headerCount: Int
        /// The first header's first byte; the headers run to `end`.
        @usableFromInline var headersStart: Int

        @inlinable
        init() {
            (end, attributes, timestampDelta, offsetDelta) = (0, 0, 0, 0)
            (keyStart, keyLength, valueStart, valueLength, headerCount, headersStart) = (0, 0, 0, 0, 0, 0)
        }
    }

    /// Parses the record starting at `offset` of `bytes` with every check `readRecordFields`
    /// makes, on raw memory: `nil` exactly where `readRecordFields` would throw.
    ///
    /// The fast path of record decoding. Reading through `ByteBuffer` one field at a time costs
    /// a dynamically enforced exclusive access per byte read (its storage is a class), several
    /// times the cost of the parsing itself; here the caller takes the pointer once.
    @inlinable
    @inline(__always)
    static func parseRecord(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> RawRecord? {
        var index = offset
        guard let length = readVarint(bytes, &index, end: bytes.count).map(Int.init),
            length >= minimumRecordBodySize, length <= bytes.count - index
        else { return nil }
        let end = index + length
        var record = RawRecord()
        record.end = end
        record.attributes = Int8(bitPattern: bytes[index])
        index += 1
        guard let timestampDelta = readVarlong(bytes, &index, end: end),
            let offsetDelta = readVarint(bytes, &index, end: end),
            let keyLength = readVarint(bytes, &index, end: end).map(Int.init),
            keyLength >= -1, keyLength <= end - index
        else { return nil }
        record.timestampDelta = timestampDelta
        record.offsetDelta = offsetDelta
        record.keyStart = index
        record.keyLength = keyLength
        index += max(keyLength, 0)
        guard let valueLength = readVarint(bytes, &index, end: end).map(Int.init),
            valueLength >= -1, valueLength <= end - index
        else { return nil }
        record.valueStart = index
        record.valueLength = valueLength
        index += max(valueLength, 0)
        guard let headerCount = readVarint(bytes, &index, end: end).map(Int.init),
            headerCount >= 0, headerCount <= (end - index) / 2
        else { return nil }
        record.headerCount = headerCount
        record.headersStart = index
        guard headersEnd(bytes, count: headerCount, at: index, recordEnd: end) else { return nil }
        return record
    }

    /// Whether `count` valid headers start at `offset` and end exactly at `recordEnd` (the checks of
    /// `readRecordFields` after `headersCount`).
    @inlinable
    @inline(__always)
    static func headersEnd(_ bytes: UnsafeRawBufferPointer, count: Int, at offset: Int, recordEnd: Int) -> Bool {
        var index = offset
        for _ in 0..<count {
            guard let header = parseHeader(bytes, at: index, end: recordEnd) else { return false }
            index = header.end
        }
        return index == recordEnd
    }

    /// The bytes a record's end must leave before the end of the payload for `parseTypicalRecord`:
    /// it loads 4 bytes for each varint, so the last varint of a record may read 3 bytes beyond it.
    @usableFromInline
    static let typicalRecordTailroom = 3

    /// `parseRecord` for the typical record, with fewer instructions: a body of at least 12 bytes ending at
    /// least `typicalRecordTailroom` bytes before the end of `bytes`; length, timestampDelta, offsetDelta, keyLength and valueLength of at most 3 bytes each; a non-negative
    /// offset delta and value length; a 1-byte headersCount. `nil` for anything else, *including valid
    /// records of another shape*: the caller then runs `parseRecord`, which decides.
    ///
    /// Why it is cheaper (callgrind, `codec-bench --phase decode`): `parseRecord` checks the bytes left
    /// before each byte of each varint and traps on overflow in its index arithmetic. Here the record's
    /// length is checked once against the payload (with the tailroom), so each varint is one 4-byte load
    /// whose width is read from its continuation bits; the body of ≥ 12 bytes holds the first four fields
    /// (at most 1 + 3 + 3 + 3 = 10 bytes), the key is checked against the record's end, and the value is
    /// checked to end exactly one byte (the header count) before it — which also proves that the value's
    /// length varint lay inside the record. Every record it accepts passes `parseRecord` with the same
    /// fields (same length checks, same varint decoding: `RecordBatchFastPathTests`).
    @inlinable
    @inline(__always)
    static func parseTypicalRecord(_ bytes: UnsafeRawBufferPointer, base: UnsafeRawPointer, at offset: Int) -> RawRecord? {
        let bufferEnd = bytes.count
        // offset <= bufferEnd (the caller's loop), so `bufferEnd &- offset` cannot wrap; 4 bytes to load.
        guard bufferEnd &- offset >= 4 else { return nil }
        var index = offset
        guard let length = shortVarint(base, &index).map({ Int($0) }), length & 1 == 0 else { return nil }
        // Halved below (zig-zag of an even value); both terms are below 2^22, so nothing wraps: the record ends
        // `typicalRecordTailroom` bytes or more before the end.
        guard length >= 24, length >> 1 &+ typicalRecordTailroom <= bufferEnd &- index else { return nil }
        let end = index &+ length >> 1
        var record = RawRecord()
        record.end = end
        record.attributes = Int8(bitPattern: base.load(fromByteOffset: index, as: UInt8.self))
        index &+= 1
        guard let timestampDelta = shortVarint(base, &index),
            let offsetDelta = shortVarint(base, &index), offsetDelta & 1 == 0
        else { return nil }
        record.timestampDelta = Int64(zigzag(timestampDelta))
        record.offsetDelta = Int32(bitPattern: offsetDelta >> 1)
        // A null key (-1, the byte 0x01) first.
        if base.load(fromByteOffset: index, as: UInt8.self) == 1 {
            index &+= 1
            record.keyStart = index
            record.keyLength = -1
        } else {
            // Any odd raw value is negative: below -1, as 1 is taken.
            guard let rawKeyLength = shortVarint(base, &index), rawKeyLength & 1 == 0 else { return nil }
            let keyLength = Int(rawKeyLength >> 1)
            // Strictly less: a value length and a header count must follow (and the next load stays inside).
            guard keyLength < end &- index else { return nil }
            record.keyStart = index
            record.keyLength = keyLength
            index &+= keyLength
        }
        // index < the record's end, which is 3 bytes or more before the payload's: the 4-byte load is inside.
        guard let rawValueLength = shortVarint(base, &index), rawValueLength & 1 == 0 else { return nil }
        let valueLength = Int(rawValueLength >> 1)
        let valueStart = index
        // Both below 2^31: no wrapping.
        let valueEnd = valueStart &+ valueLength
        record.valueStart = valueStart
        record.valueLength = valueLength
        // The common record has no headers: its value ends one byte (a zero headersCount) before the record
        // does, which also proves that the value's length varint lay inside the record.
        if valueEnd &+ 1 == end, base.load(fromByteOffset: valueEnd, as: UInt8.self) == 0 {
            record.headersStart = end
            return record
        }
        // Headers follow (or the record is malformed): the value and the 1-byte headersCount end by `end`.
        guard valueEnd < end else { return nil }
        let countByte = UInt32(base.load(fromByteOffset: valueEnd, as: UInt8.self))
        guard countByte < 0x80, countByte & 1 == 0 else { return nil }
        let headersStart = valueEnd &+ 1
        let headerCount = Int(countByte >> 1)
        guard headerCount <= (end &- headersStart) / 2 else { return nil }
        record.headerCount = headerCount
        record.headersStart = headersStart
        guard headersEnd(bytes, count: headerCount, at: headersStart, recordEnd: end) else { return nil }
        return record
    }

    /// An unsigned LEB128 of 1 to 3 bytes among the 4 bytes at `index` of `base` (which the caller has checked
    /// are readable), moving `index` past it; `nil` (index unmoved) if longer.
    @inlinable
    @inline(__always)
    static func shortVarint(_ base: UnsafeRawPointer, _ index: inout Int) -> UInt32? {
        let word = UInt32(littleEndian: base.loadUnaligned(fromByteOffset: index, as: UInt32.self))
        if word & 0x80 == 0 {
            index &+= 1
            return word & 0x7f
        }
        if word & 0x8000 == 0 {
            index &+= 2
            return (word & 0x7f) | ((word >> 1) & 0x3f80)
        }
        guard word & 0x80_0000 == 0 else { return nil }
        index &+= 3
        return (word & 0x7f) | ((word >> 1) & 0x3f80) | ((word >> 2) & 0x1f_c000)
    }

    /// Zig-zag decoding of 32 bits.
    @inlinable
    @inline(__always)
    static func zigzag(_ value: UInt32) -> Int32 {
        Int32(bitPattern: (value >> 1) ^ (0 &- (value & 1)))
    }

    /// Parses one header (non-null key, nullable value) at `offset`, ending at or before `end`
    /// (default: the end of `bytes`), with the checks of `readHeader`: `nil` where it would throw.
    /// Lengths are -1 for a null value.
    @inlinable
    @inline(__always)
    static func parseHeader(
        _ bytes: UnsafeRawBufferPointer, at offset: Int, end: Int? = nil
    ) -> (key: (start: Int, length: Int), value: (start: Int, length: Int), end: Int)? {
        let end = end ?? bytes.count
        var index = offset
        guard let keyLength = readVarint(bytes, &index, end: end).map(Int.init),
            keyLength >= 0, keyLength <= end - index
        else { return nil }
        let keyStart = index
        index += keyLength
        guard let valueLength = readVarint(bytes, &index, end: end).map(Int.init),
            valueLength >= -1, valueLength <= end - index
        else { return nil }
        let valueStart = index
        index += max(valueLength, 0)
        return ((keyStart, keyLength), (valueStart, valueLength), index)
    }

    /// A zig-zag varint (at most 5 bytes, 32 bits) ending before `end`, as `readKafkaVarint` reads it.
    ///
    /// Values of up to 3 bytes (all lengths and deltas of ordinary records) are read without a
    /// loop or per-byte bounds checks; the rest, and anything near `end`, take the general loop.
    @inlinable
    @inline(__always)
    static func readVarint(_ bytes: UnsafeRawBufferPointer, _ index: inout Int, end: Int) -> Int32? {
        if index < end, let base = bytes.baseAddress {
            let p = base + index
            let b0 = UInt32(p.load(as: UInt8.self))
            if b0 < 0x80 {
                index &+= 1
                return Int32(bitPattern: (b0 >> 1) ^ (0 &- (b0 & 1)))
            }
            if end &- index >= 3 {
                let b1 = UInt32(p.load(fromByteOffset: 1, as: UInt8.self))
                if b1 < 0x80 {
                    index &+= 2
                    let value = (b0 & 0x7f) | (b1 << 7)
                    return Int32(bitPattern: (value >> 1) ^ (0 &- (value & 1)))
                }
                let b2 = UInt32(p.load(fromByteOffset: 2, as: UInt8.self))
                if b2 < 0x80 {
                    index &+= 3
                    let value = (b0 & 0x7f) | ((b1 & 0x7f) << 7) | (b2 << 14)
                    return Int32(bitPattern: (value >> 1) ^ (0 &- (value & 1)))
                }
            }
        }
        guard let raw = readUnsignedVarlong(bytes, &index, end: end, maxBytes: 5), raw <= UInt64(UInt32.max) else {
            return nil
        }
        let value = UInt32(truncatingIfNeeded: raw)
        return Int32(bitPattern: (value >> 1) ^ (0 &- (value & 1)))
    }

    /// A zig-zag varlong (at most 10 bytes) ending before `end`, as `readKafkaVarlong` reads it
    /// (up to 3 bytes without a loop, as `readVarint`).
    @inlinable
    @inline(__always)
    static func readVarlong(_ bytes: UnsafeRawBufferPointer, _ index: inout Int, end: Int) -> Int64? {
        if index < end, let base = bytes.baseAddress {
            let p = base + index
            let b0 = UInt64(p.load(as: UInt8.self))
            if b0 < 0x80 {
                index &+= 1
                return Int64(bitPattern: (b0 >> 1) ^ (0 &- (b0 & 1)))
            }
            if end &- index >= 3 {
                let b1 = UInt64(p.load(fromByteOffset: 1, as: UInt8.self))
                if b1 < 0x80 {
                    index &+= 2
                    let value = (b0 & 0x7f) | (b1 << 7)
                    return Int64(bitPattern: (value >> 1) ^ (0 &- (value & 1)))
                }
                let b2 = UInt64(p.load(fromByteOffset: 2, as: UInt8.self))
                if b2 < 0x80 {
                    index &+= 3
                    let value = (b0 & 0x7f) | ((b1 & 0x7f) << 7) | (b2 << 14)
                    return Int64(bitPattern: (value >> 1) ^ (0 &- (value & 1)))
                }
            }
        }
        guard let raw = readUnsignedVarlong(bytes, &index, end: end, maxBytes: 10) else { return nil }
        return Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }

    /// Unsigned LEB128 of at most `maxBytes` bytes ending before `end`; `nil` where
    /// `readKafkaUnsignedVarlongBits` throws. Moves `index` only on success.
    @inlinable
    static func readUnsignedVarlong(
        _ bytes: UnsafeRawBufferPointer, _ index: inout Int, end: Int, maxBytes: Int
    ) -> UInt64? {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        var position = index
        while true {
            guard position < end, position - index < maxBytes else { return nil }
            let byte = bytes[position]
            position += 1
            let bits = UInt64(byte & 0x7f)
            if shift == 63 && bits > 1 { return nil }
            result |= bits << shift
            if byte & 0x80 == 0 { break }
            shift += 7
        }
        index = position
        return result
    }
}

// MARK: Single-pass visiting

extension RecordParser {
    /// How many bytes ahead of the current record `visit` prefetches (a hint: the address may lie past the end).
    @usableFromInline
    static let prefetchDistance = 1024

    /// Checks and visits the records of `payload` (a batch's bytes after `recordsCount`, decompressed)
    /// in one pass: each record is parsed by `parseRecord` and its offset delta checked, then passed
    /// to `body`; after the last, no bytes may remain. The one record loop of decoding:
    /// `RecordBatch.forEachRecord` and `RecordBatch.Records` (with a body that does nothing) both run it.
    ///
    /// - Returns: the number of records visited.
    /// - Throws: `KafkaDecodingError` for the first bad record (after the good ones before it were
    ///   visited) with the precise message of the `ByteBuffer` parser, or what `body` throws.
    @inlinable
    static func visit(
        _ payload: ByteBuffer, header: RecordBatchHeader, _ body: (borrowing RecordView) throws -> Bool
    ) throws -> Int {
        let count = Int(header.recordsCount)
        guard count <= payload.readableBytes / minimumRecordSize else {
            throw KafkaDecodingError(
                .invalidLength, context: "RecordBatch.recordsCount",
                detail: "\(count) records cannot fit in \(payload.readableBytes) bytes of records")
        }
        let batch = BatchContext(header)
        let lastOffsetDelta = header.lastOffsetDelta
        /// After the last record: no bytes may remain.
        func finish(visited: Int, offset: Int) throws(KafkaDecodingError) -> Int {
            guard offset == payload.readableBytes else {
                throw KafkaDecodingError(
                    .trailingBytes, context: "RecordBatch.records",
                    detail: "\(payload.readableBytes - offset) bytes after the \(count) records the batch declares")
            }
            return visited
        }
        return try payload.withUnsafeReadableBytes { bytes throws -> Int in
            var offset = 0
            var previousDelta: Int32 = -1
            var visited = 0
            // `count` > 0 records need bytes (checked above), so `base` is only nil with nothing to visit.
            guard let base = bytes.baseAddress else { return try finish(visited: 0, offset: 0) }
            /// Checks the offset delta of a parsed record and passes it to `body`; false to stop.
            @inline(__always)
            func visitRecord(_ raw: RawRecord) throws -> Bool {
                guard raw.offsetDelta > previousDelta, raw.offsetDelta <= lastOffsetDelta else {
                    try describeInvalidRecord(
                        payload, at: offset, index: visited, previousDelta: previousDelta, header: header)
                }
                visited &+= 1
                previousDelta = raw.offsetDelta
                offset = raw.end
                return try body(
                    RecordView(
                        offset: batch.baseOffset &+ Int64(raw.offsetDelta),
                        timestamp: batch.logAppendTime ?? (batch.baseTimestamp &+ raw.timestampDelta),
                        offsetDelta: raw.offsetDelta, attributes: raw.attributes,
                        key: raw.keyLength < 0 ? nil : UnsafeRawBufferPointer(start: base + raw.keyStart, count: raw.keyLength),
                        value: raw.valueLength < 0
                            ? nil : UnsafeRawBufferPointer(start: base + raw.valueStart, count: raw.valueLength),
                        headerCount: raw.headerCount,
                        headerBytes: UnsafeRawBufferPointer(start: base + raw.headersStart, count: raw.end - raw.headersStart)))
            }
            while visited < count {
                // Records are read once, in order: ask for the bytes a few records ahead. A decompressed batch larger
                // than L2 is read back from L3, and even from L2 the loop otherwise waits on its loads (perf7).
                tributary_prefetch_read(base + (offset &+ prefetchDistance))
                // The typical record's fast path first (inlined on its own, so what it proves, such as a
                // non-null value, is known to `body`), then the general parser, which decides.
                if let raw = parseTypicalRecord(bytes, base: base, at: offset) {
                    guard try visitRecord(raw) else { return visited }
                } else {
                    guard let raw = parseRecord(bytes, at: offset) else {
                        try describeInvalidRecord(
                            payload, at: offset, index: visited, previousDelta: previousDelta, header: header)
                    }
                    guard try visitRecord(raw) else { return visited }
                }
            }
            return try finish(visited: visited, offset: offset)
        }
    }

    /// Throws the precise error for the record at `offset` of `payload`, which `parseRecord` or the
    /// offset-delta check refused: reruns it with the field-by-field `ByteBuffer` parser.
    @usableFromInline
    static func describeInvalidRecord(
        _ payload: ByteBuffer, at offset: Int, index: Int, previousDelta: Int32, header: RecordBatchHeader
    ) throws(KafkaDecodingError) -> Never {
        var cursor = payload.getSlice(at: payload.readerIndex + offset, length: payload.readableBytes - offset)!
        let record = try readRecord(from: &cursor, batch: BatchContext(header), index: index)
        guard record.offsetDelta > previousDelta, record.offsetDelta <= header.lastOffsetDelta else {
            throw KafkaDecodingError(
                .invalidValue, context: "RecordBatch.records[\(index)].offsetDelta",
                detail: "offset delta \(record.offsetDelta) after \(previousDelta); must increase and not "
                    + "exceed lastOffsetDelta \(header.lastOffsetDelta)")
        }
        // The two parsers disagree (RecordBatchFastPathTests holds them together): still refuse.
        throw KafkaDecodingError(
            .invalidValue, context: "RecordBatch.records[\(index)]", detail: "records failed validation")
    }
}
