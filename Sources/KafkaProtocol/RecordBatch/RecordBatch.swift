public import NIOCore

/// One complete record batch (message format v2) as it came from the wire or from disk: the
/// parsed header plus the batch's raw bytes, a slice of the buffer it was read from (no copy).
///
/// Reading a batch checks its header and that all of its bytes are present. The CRC is checked
/// by `verifyChecksum()` and the records are decoded (and decompressed) by `records(...)`, or, on
/// hot paths, visited in one pass as borrowed raw views by `forEachRecord(...)` (no `ByteBuffer`
/// or reference counting per record).
///
/// ```swift
/// var reader = RecordBatchReader(fetchedRecords)
/// let decompressor = RecordBatchDecompressor()
/// while let batch = try reader.next() {            // CRC verified by default
///     for record in try batch.records(decompressor: decompressor) {
///         handle(record.offset, record.value)
///     }
/// }
/// ```
public struct RecordBatch: Sendable {
    /// The batch's fixed header.
    public private(set) var header: RecordBatchHeader
    /// The whole batch: exactly `header.totalSize` bytes, starting with the header at index 0.
    public private(set) var bytes: ByteBuffer

    /// Reads one complete batch from the front of `buffer`, consuming it.
    ///
    /// - Throws: `KafkaDecodingError` as `RecordBatchHeader(from:)` does, and `truncated` if
    ///   `buffer` holds fewer than `batchLength + 12` bytes. `buffer` is unchanged on a throw.
    ///   The CRC is not verified here.
    public init(from buffer: inout ByteBuffer) throws(KafkaDecodingError) {
        let header = try RecordBatchHeader(from: buffer)
        guard header.totalSize <= buffer.readableBytes else {
            throw KafkaDecodingError(
                .truncated, context: "RecordBatch",
                detail: "batch of \(header.totalSize) bytes, \(buffer.readableBytes) left")
        }
        self.header = header
        self.bytes = buffer.readSlice(length: header.totalSize)!
    }

    /// Reads a buffer that holds exactly one batch.
    ///
    /// - Throws: as `init(from:)`, and `trailingBytes` if bytes follow the batch.
    public init(bytes: ByteBuffer) throws(KafkaDecodingError) {
        var buffer = bytes
        try self.init(from: &buffer)
        guard buffer.readableBytes == 0 else {
            throw KafkaDecodingError(
                .trailingBytes, context: "RecordBatch", detail: "\(buffer.readableBytes) bytes after the batch")
        }
    }

    /// The number of bytes of the batch.
    @inlinable
    public var size: Int { bytes.readableBytes }

    /// The CRC-32C of the bytes the stored `crc` covers (from `attributes` to the end).
    @inlinable
    public var computedChecksum: UInt32 {
        let covered = RecordBatchHeader.FieldOffset.attributes
        return CRC32C.checksum(bytes, at: bytes.readerIndex + covered, length: bytes.readableBytes - covered) ?? 0
    }

    /// Whether the stored CRC matches the batch's bytes.
    @inlinable
    public var isChecksumValid: Bool { computedChecksum == header.crc }

    /// Checks the stored CRC-32C against the batch's bytes.
    ///
    /// - Throws: `KafkaDecodingError.checksumMismatch` with both values.
    @inlinable
    public func verifyChecksum() throws(KafkaDecodingError) {
        let computed = computedChecksum
        guard computed == header.crc else { throw checksumMismatch(computed: computed) }
    }

    /// The error for a stored CRC that does not match `computed`.
    @usableFromInline
    internal func checksumMismatch(computed: UInt32) -> KafkaDecodingError {
        KafkaDecodingError(
            .checksumMismatch, context: "RecordBatch(baseOffset: \(header.baseOffset))",
            detail: "stored CRC-32C 0x\(String(header.crc, radix: 16)), computed 0x\(String(computed, radix: 16))")
    }

    /// The compressed (or plain) bytes after `recordsCount`, as a slice.
    @inlinable
    public var recordsBytes: ByteBuffer {
        bytes.getSlice(
            at: bytes.readerIndex + RecordBatchHeader.size, length: bytes.readableBytes - RecordBatchHeader.size)!
    }

    /// The default bound on a batch's decompressed size: 256 times its compressed size, at least
    /// 1 MiB (so small, highly repetitive batches of log lines still decode) and at most 64 MiB.
    ///
    /// A hostile batch of a few KiB can otherwise demand gigabytes (twmb/franz-go caps it for the
    /// same reason). Pass `maxUncompressedBytes` to `records(...)` to choose another bound.
    @inlinable
    public static func defaultMaxUncompressedBytes(compressedSize: Int) -> Int {
        let (scaled, overflow) = compressedSize.multipliedReportingOverflow(by: 256)
        return min(64 << 20, max(1 << 20, overflow ? Int.max : scaled))
    }

    /// Decodes the batch's records, decompressing them first if the batch is compressed.
    ///
    /// Every record is checked before the sequence is returned: each varint and length against
    /// the record's own `length`, that the fields use up exactly that length, that the offset deltas
    /// increase and stay within `lastOffsetDelta`, that there are exactly `recordsCount` records and
    /// no bytes after them. Iterating the result therefore cannot fail. The CRC is *not* checked
    /// here; call `verifyChecksum()` (or read with a `RecordBatchReader`, which does) first.
    ///
    /// Control batches are returned like any other: consumers skip `header.attributes.isControl`
    /// batches before handing records to the application.
    ///
    /// - Parameters:
    ///   - maxUncompressedBytes: the most bytes decompression may produce; `nil` means
    ///     `defaultMaxUncompressedBytes(compressedSize:)`. Ignored for uncompressed batches.
    ///   - decompressor: reusable codec state; pass one to decode many batches without setting up
    ///     a codec per batch. `nil` uses a temporary one.
    /// - Throws: `KafkaDecodingError`: `decompressionFailed` (corrupt or over the bound),
    ///   `invalidLength`, `truncated`, `varintTooLong`, `invalidValue` (offset deltas),
    ///   `trailingBytes`; the context names the record and field.
    public func records(
        maxUncompressedBytes: Int? = nil, decompressor: RecordBatchDecompressor? = nil
    ) throws(KafkaDecodingError) -> Records {
        let payload = try recordsPayload(maxUncompressedBytes: maxUncompressedBytes, decompressor: decompressor)
        return try Records(validating: payload, header: header)
    }

    /// The records' bytes: decompressed (into `decompressor`'s reused buffer) if the batch is compressed.
    ///
    /// With `verifyingChecksum`, the CRC-32C is checked too, before anything is returned: for a compressed batch
    /// along with decompression, each compressed piece (an lz4 block) checksummed right after it is decoded, while
    /// it is in cache; a mismatch throws `verifyChecksum()`'s error, also when the corrupt input fails to
    /// decompress or declares too many records.
    @usableFromInline
    internal func recordsPayload(
        maxUncompressedBytes: Int?, decompressor: RecordBatchDecompressor?, verifyingChecksum: Bool = false
    ) throws(KafkaDecodingError) -> ByteBuffer {
        let count = Int(header.recordsCount)
        let payload: ByteBuffer
        if let algorithm = header.attributes.compression.algorithm {
            let compressed = recordsBytes
            let limit = maxUncompressedBytes ?? Self.defaultMaxUncompressedBytes(compressedSize: compressed.readableBytes)
            // Every record takes at least 7 bytes: refuse a count the bound cannot hold before inflating.
            guard count <= limit / RecordParser.minimumRecordSize else {
                if verifyingChecksum { try verifyChecksum() }  // a corrupt batch reports its CRC first
                throw KafkaDecodingError(
                    .invalidLength, context: "RecordBatch.recordsCount",
                    detail: "\(count) records cannot fit in the \(limit) bytes allowed after decompression")
            }
            let decompressor = decompressor ?? RecordBatchDecompressor()
            guard verifyingChecksum else {
                return try decompressor.decompress(compressed, algorithm: algorithm, maxOutputBytes: limit)
            }
            // The CRC covers the header from `attributes` on, then the compressed records.
            let covered = RecordBatchHeader.FieldOffset.attributes
            var crc = CRC32C.checksum(
                bytes, at: bytes.readerIndex + covered, length: RecordBatchHeader.size - covered) ?? 0
            do {
                payload = try decompressor.decompress(compressed, algorithm: algorithm, maxOutputBytes: limit) {
                    crc = CRC32C.checksum($0, initial: crc)
                }
            } catch {
                try verifyChecksum()  // a corrupt batch reports its CRC first, as when checked up front
                throw error
            }
            guard crc == header.crc else { throw checksumMismatch(computed: crc) }
        } else {
            if verifyingChecksum { try verifyChecksum() }
            payload = recordsBytes
        }
        return payload
    }

    /// Visits the batch's records in order, in one pass, as borrowed raw views: no `ByteBuffer`,
    /// no reference counting and no allocation per record (nor per batch once `decompressor` is warm).
    ///
    /// Each record is checked as `records(...)` checks it (lengths, varints, headers, increasing
    /// offset deltas within `lastOffsetDelta`) just before it is visited; after the last record the
    /// payload must end exactly. The CRC is checked only with `verifyingChecksum` (for batches from a
    /// `RecordBatchReader(verifyingChecksums: false)`): then before any record is visited, and for an lz4
    /// batch while it is decompressed, which is cheaper than the reader's separate pass.
    ///
    /// - Important: Unlike `records(...)`, validation and visiting interleave: a corrupt record
    ///   throws `KafkaDecodingError` *after* the records before it were passed to `body`. A caller
    ///   that must not act on part of a bad batch should use `records(...)` or buffer what it sees.
    ///   The views (`key`, `value`, `headerBytes`) are valid only during the `body` call that
    ///   receives them; a compressed batch's bytes live in `decompressor`'s buffer, which the next
    ///   batch overwrites.
    ///
    /// ```swift
    /// let decompressor = RecordBatchDecompressor()
    /// while let batch = try reader.next() {
    ///     try batch.forEachRecord(decompressor: decompressor) { record in
    ///         handle(record.offset, record.value)   // copy what you keep
    ///         return true                            // false stops after this record
    ///     }
    /// }
    /// ```
    ///
    /// - Parameters:
    ///   - verifyingChecksum: check the CRC-32C first (default false: the reader checks it); a mismatch throws
    ///     `verifyChecksum()`'s error and visits nothing.
    ///   - maxUncompressedBytes: as for `records(...)`.
    ///   - decompressor: as for `records(...)`; its output buffer is reused from batch to batch.
    ///   - body: called once per record; return `false` to stop early.
    /// - Returns: the number of records visited (`recordsCount` unless `body` stopped early).
    /// - Throws: the `KafkaDecodingError`s of `records(...)` (a record's error names its index), or
    ///   what `body` throws.
    @inlinable
    public func forEachRecord(
        verifyingChecksum: Bool = false,
        maxUncompressedBytes: Int? = nil, decompressor: RecordBatchDecompressor? = nil,
        _ body: (borrowing RecordView) throws -> Bool
    ) throws -> Int {
        let payload = try recordsPayload(
            maxUncompressedBytes: maxUncompressedBytes, decompressor: decompressor, verifyingChecksum: verifyingChecksum)
        return try RecordParser.visit(payload, header: header, body)
    }

    // MARK: In-place updates

    /// Sets `baseOffset` in the header and the bytes. The field is outside the CRC.
    public mutating func setBaseOffset(_ baseOffset: Int64) {
        header.baseOffset = baseOffset
        bytes.setInteger(baseOffset, at: bytes.readerIndex + RecordBatchHeader.FieldOffset.baseOffset)
    }

    /// Sets `partitionLeaderEpoch` in the header and the bytes. The field is outside the CRC.
    public mutating func setPartitionLeaderEpoch(_ epoch: Int32) {
        header.partitionLeaderEpoch = epoch
        bytes.setInteger(epoch, at: bytes.readerIndex + RecordBatchHeader.FieldOffset.partitionLeaderEpoch)
    }

    /// Rewrites the idempotent-producer fields and recomputes the CRC (a producer re-sequencing a
    /// batch after its epoch was bumped, for example).
    public mutating func setProducerState(producerId: Int64, producerEpoch: Int16, baseSequence: Int32) {
        header.producerId = producerId
        header.producerEpoch = producerEpoch
        header.baseSequence = baseSequence
        let start = bytes.readerIndex
        bytes.setInteger(producerId, at: start + RecordBatchHeader.FieldOffset.producerId)
        bytes.setInteger(producerEpoch, at: start + RecordBatchHeader.FieldOffset.producerEpoch)
        bytes.setInteger(baseSequence, at: start + RecordBatchHeader.FieldOffset.baseSequence)
        header.crc = computedChecksum
        bytes.setInteger(header.crc, at: start + RecordBatchHeader.FieldOffset.crc)
    }

    /// Marks the batch as LogAppendTime with `timestamp` as its `maxTimestamp` (what a broker
    /// configured with `message.timestamp.type=LogAppendTime` does) and recomputes the CRC.
    public mutating func setLogAppendTime(_ timestamp: Int64) {
        header.attributes.timestampType = .logAppendTime
        header.maxTimestamp = timestamp
        let start = bytes.readerIndex
        let attributes = bytes.getInteger(at: start + RecordBatchHeader.FieldOffset.attributes, as: Int16.self)!
        bytes.setInteger(
            attributes | RecordBatchAttributes.Bits.timestampType, at: start + RecordBatchHeader.FieldOffset.attributes)
        bytes.setInteger(timestamp, at: start + RecordBatchHeader.FieldOffset.maxTimestamp)
        header.crc = computedChecksum
        bytes.setInteger(header.crc, at: start + RecordBatchHeader.FieldOffset.crc)
    }
}

extension RecordBatch {
    /// The validated records of one batch, in order; iterating yields `Record` views.
    public struct Records: Sequence, Sendable {
        /// Number of records (`recordsCount`).
        public let count: Int
        @usableFromInline
        internal var payload: ByteBuffer
        @usableFromInline
        internal var batch: RecordParser.BatchContext

        /// Decodes and checks every record of `payload`, the (decompressed) bytes after `recordsCount`.
        @usableFromInline
        internal init(validating payload: ByteBuffer, header: RecordBatchHeader) throws(KafkaDecodingError) {
            self.count = Int(header.recordsCount)
            self.payload = payload
            self.batch = RecordParser.BatchContext(header)
            do {
                _ = try RecordParser.visit(payload, header: header) { _ in true }
            } catch let error as KafkaDecodingError {
                throw error
            } catch {
                preconditionFailure("record validation threw \(error)")  // the body above never throws
            }
        }

        /// Iterates the records in order.
        public struct Iterator: IteratorProtocol, @unchecked Sendable {
            @usableFromInline internal var remaining: Int
            /// Holds the storage `bytes` points into, so the pointer stays valid; never written.
            @usableFromInline internal let payload: ByteBuffer
            @usableFromInline internal let batch: RecordParser.BatchContext
            /// The payload's readable bytes, taken once: reading through `ByteBuffer` would cost a
            /// dynamically enforced exclusive access per record. (`@unchecked Sendable`: immutable
            /// memory kept alive by `payload`.)
            @usableFromInline internal let bytes: UnsafeRawBufferPointer
            /// Offset of the next record in `bytes`.
            @usableFromInline internal var position = 0

            @inlinable
            internal init(remaining: Int, payload: ByteBuffer, batch: RecordParser.BatchContext) {
                self.remaining = remaining
                self.payload = payload
                self.batch = batch
                // The storage is retained by `payload` for as long as the pointer is used
                // (the contract of `withUnsafeReadableBytesWithStorageManagement`).
                self.bytes = payload.withUnsafeReadableBytesWithStorageManagement { bytes, _ in bytes }
            }

            /// The next record, or `nil` after the last.
            @inlinable
            public mutating func next() -> Record? {
                // Validated by `Records.init`; failing here would be a bug, so end rather than trap.
                guard remaining > 0, let raw = RecordParser.parseRecord(bytes, at: position) else {
                    remaining = 0
                    return nil
                }
                remaining -= 1
                position = raw.end
                let start = payload.readerIndex
                let key = raw.keyLength < 0 ? nil : payload.getSlice(at: start + raw.keyStart, length: raw.keyLength)
                let value =
                    raw.valueLength < 0 ? nil : payload.getSlice(at: start + raw.valueStart, length: raw.valueLength)
                let headers = Record.Headers(
                    count: raw.headerCount,
                    encoded: payload.getSlice(at: start + raw.headersStart, length: raw.end - raw.headersStart)!)
                return Record(
                    offset: batch.baseOffset &+ Int64(raw.offsetDelta),
                    timestamp: batch.logAppendTime ?? (batch.baseTimestamp &+ raw.timestampDelta),
                    key: key, value: value, headers: headers, offsetDelta: raw.offsetDelta, attributes: raw.attributes)
            }
        }

        /// Returns an iterator over the records.
        @inlinable
        public func makeIterator() -> Iterator {
            Iterator(remaining: count, payload: payload, batch: batch)
        }

        /// The number of records.
        @inlinable
        public var underestimatedCount: Int { count }

        /// Whether the batch holds no records.
        @inlinable
        public var isEmpty: Bool { count == 0 }
    }
}
