public import Compression
public import NIOCore

/// Encodes records into Kafka record batches (message format v2), one batch at a time, reusing
/// its buffers from batch to batch.
///
/// `append` is the agent's hot path: it writes the record straight into a reusable scratch
/// buffer, so once that buffer has grown to a batch's size, appending allocates nothing. Keys,
/// values and header values are borrowed bytes; headers are passed pre-encoded
/// (`EncodedRecordHeaders`). `finish(into:)` writes the header, then the records (compressed
/// straight into the output if a codec is set), and computes the CRC over the output in place.
///
/// ```swift
/// let builder = try RecordBatchBuilder(compression: .lz4)
/// for line in lines {
///     if builder.recordCount > 0,
///        builder.sizeInBytes + builder.encodedSize(ofRecordWithTimestamp: t, keyLength: k.count,
///                                                  valueLength: line.count, headers: headers) > maxBatchBytes {
///         try builder.finish(into: &requestBuffer)
///     }
///     builder.append(timestamp: t, key: k, value: line, headers: headers)
/// }
/// try builder.finish(into: &requestBuffer)
/// ```
///
/// The producer fields (`producerId`, `producerEpoch`, `baseSequence`, flags, epoch, base
/// offset) keep their values across batches until changed.
///
/// - Important: Not `Sendable`: use one builder per task (one per partition in a producer).
public final class RecordBatchBuilder {
    /// The codec of the batches this builder writes.
    public let compression: KafkaCompression
    /// The codec's level, `nil` for its default.
    public let compressionLevel: Int?

    /// The `baseOffset` written into the header; producers send 0 (the default), brokers assign.
    public var baseOffset: Int64 = 0
    /// The `partitionLeaderEpoch` written into the header. Default: -1 (producers).
    public var partitionLeaderEpoch: Int32 = -1
    /// The idempotent producer's id. Default: -1 (not idempotent).
    public var producerId: Int64 = -1
    /// The idempotent producer's epoch. Default: -1.
    public var producerEpoch: Int16 = -1
    /// Sequence number of the batch's first record. Default: -1.
    public var baseSequence: Int32 = -1
    /// Attribute bit 4. Default: false.
    public var isTransactional = false
    /// Attribute bit 5: the batch holds a control record. Default: false.
    public var isControl = false
    /// Attribute bit 3. Default: `.createTime`.
    public var timestampType: RecordBatchAttributes.TimestampType = .createTime

    /// Records appended since the last `finish`.
    @inlinable
    public var recordCount: Int { pending.recordCount }
    /// The first record's timestamp: the batch's `baseTimestamp` (-1 while empty).
    @inlinable
    public var baseTimestamp: Int64 { pending.baseTimestamp }
    /// The largest record timestamp so far (-1 while empty).
    @inlinable
    public var maxTimestamp: Int64 { pending.maxTimestamp }

    /// The batch being built.
    ///
    /// Exclusivity is not checked at run time: a class's stored properties otherwise pay a
    /// dynamically enforced access (a thread-local access set) on every `append`, which cost more
    /// than encoding the record. Safe because no method runs caller code while it accesses
    /// `pending`, and the builder is not `Sendable`.
    @exclusivity(unchecked)
    @usableFromInline
    internal var pending: PendingRecords
    internal var codec: BatchCompressorCodec?

    /// Creates a builder.
    ///
    /// - Parameters:
    ///   - compression: the codec of every batch.
    ///   - compressionLevel: the codec's level; `nil` for its default.
    ///   - initialCapacity: starting size of the scratch buffer for records; it grows as needed
    ///     and keeps its size for the next batch.
    /// - Throws: `CompressionError.invalidLevel` for a level the codec does not accept (see
    ///   `Compressor.levelRange(for:)`), `.libraryFailure` if the codec cannot set up its context.
    public init(
        compression: KafkaCompression = .none, compressionLevel: Int? = nil, initialCapacity: Int = 64 << 10
    ) throws(CompressionError) {
        self.compression = compression
        self.compressionLevel = compressionLevel
        if let algorithm = compression.algorithm {
            self.codec = try BatchCompressorCodec(algorithm: algorithm, level: compressionLevel)
        } else {
            self.codec = nil
        }
        self.pending = PendingRecords(capacity: initialCapacity)
    }

    deinit {
        pending.deallocate()
    }

    /// Bytes the batch would take if finished now without compression (header and records).
    ///
    /// A compressed batch is normally much smaller, but incompressible input can grow by a
    /// codec's framing overhead (tens of bytes); `finish` returns the exact size.
    @inlinable
    public var sizeInBytes: Int { RecordBatchHeader.size + pending.byteCount }

    /// Whether no record was appended since the last `finish`.
    @inlinable
    public var isEmpty: Bool { recordCount == 0 }

    /// The exact number of bytes appending this record now would add to `sizeInBytes`.
    ///
    /// - Parameters:
    ///   - keyLength: the key's byte count, `nil` for a null key.
    ///   - valueLength: the value's byte count, `nil` for a null value.
    @inlinable
    public func encodedSize(
        ofRecordWithTimestamp timestamp: Int64, keyLength: Int?, valueLength: Int?,
        headers: EncodedRecordHeaders? = nil
    ) -> Int {
        let timestampDelta = recordCount == 0 ? 0 : timestamp &- baseTimestamp
        let body = Self.bodySize(
            timestampDelta: timestampDelta, offsetDelta: Int32(truncatingIfNeeded: recordCount),
            keyLength: keyLength, valueLength: valueLength,
            headerCount: headers?.count ?? 0, headerBytes: headers?.encodedSize ?? 0)
        return RecordVarint.size(Int32(truncatingIfNeeded: body)) + body
    }

    @inlinable
    static func bodySize(
        timestampDelta: Int64, offsetDelta: Int32, keyLength: Int?, valueLength: Int?, headerCount: Int, headerBytes: Int
    ) -> Int {
        var size = 1 + RecordVarint.size(timestampDelta) + RecordVarint.size(offsetDelta)
        size += keyLength.map { RecordVarint.size(Int32(truncatingIfNeeded: $0)) + $0 } ?? 1
        size += valueLength.map { RecordVarint.size(Int32(truncatingIfNeeded: $0)) + $0 } ?? 1
        size += RecordVarint.size(Int32(truncatingIfNeeded: headerCount)) + headerBytes
        return size
    }

    // MARK: Appending

    /// Appends a record whose key and value are raw bytes (`nil` for null).
    ///
    /// The bytes are copied into the batch; they need to stay valid only during the call.
    ///
    /// - Parameters:
    ///   - timestamp: the record's time in ms (CreateTime). May be earlier than the previous record's.
    ///   - headers: pre-encoded headers, or `nil` for none.
    /// - Precondition: key, value and the encoded record are each under 2 GiB.
    @inlinable
    @inline(__always)  // into the caller's loop, where a literal `nil` key or headers folds away
    public func append(
        timestamp: Int64, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?,
        headers: EncodedRecordHeaders? = nil
    ) {
        if let headers {
            append(timestamp: timestamp, key: key, value: value, encodedHeaders: headers)
        } else {
            // Inlined into the caller: no call, no optional headers to unwrap per record.
            pending.append(timestamp: timestamp, key: key, value: value, headerCount: 0, headerBytes: nil)
        }
    }

    @usableFromInline
    internal func append(
        timestamp: Int64, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?, encodedHeaders headers: EncodedRecordHeaders
    ) {
        headers.bytes.withUnsafeReadableBytes { headerBytes in
            appendRecord(timestamp: timestamp, key: key, value: value, headerCount: headers.count, headerBytes: headerBytes)
        }
    }

    /// Appends a record whose key and value are the readable bytes of buffers (`nil` for null).
    @_disfavoredOverload
    public func append(timestamp: Int64, key: ByteBuffer?, value: ByteBuffer?, headers: EncodedRecordHeaders? = nil) {
        Self.withOptionalBytes(key) { key in
            Self.withOptionalBytes(value) { value in
                append(timestamp: timestamp, key: key, value: value, headers: headers)
            }
        }
    }

    static func withOptionalBytes(_ buffer: ByteBuffer?, _ body: (UnsafeRawBufferPointer?) -> Void) {
        if let buffer {
            buffer.withUnsafeReadableBytes { body($0) }
        } else {
            body(nil)
        }
    }

    internal func appendRecord(
        timestamp: Int64, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?,
        headerCount: Int, headerBytes: UnsafeRawBufferPointer?
    ) {
        pending.append(timestamp: timestamp, key: key, value: value, headerCount: headerCount, headerBytes: headerBytes)
    }

    @inlinable
    @inline(__always)
    static func writeNullableBytes(_ bytes: UnsafeRawBufferPointer?, to pointer: UnsafeMutableRawPointer) -> Int {
        guard let bytes else { return RecordVarint.write(RecordVarint.zigZag(Int32(-1)), to: pointer) }
        let prefix = RecordVarint.write(RecordVarint.zigZag(Int32(bytes.count)), to: pointer)
        if let source = bytes.baseAddress, bytes.count > 0 {
            (pointer + prefix).copyMemory(from: source, byteCount: bytes.count)
        }
        return prefix + bytes.count
    }

    // MARK: Finishing

    /// The header `finish` would write now, with `batchLength` and `crc` still 0.
    public var pendingHeader: RecordBatchHeader {
        var attributes = RecordBatchAttributes(compression: compression, timestampType: timestampType)
        attributes.isTransactional = isTransactional
        attributes.isControl = isControl
        return RecordBatchHeader(
            baseOffset: baseOffset, batchLength: 0, partitionLeaderEpoch: partitionLeaderEpoch,
            magic: RecordBatchHeader.currentMagic, crc: 0, attributes: attributes,
            lastOffsetDelta: Int32(recordCount) - 1, baseTimestamp: baseTimestamp, maxTimestamp: maxTimestamp,
            producerId: producerId, producerEpoch: producerEpoch, baseSequence: baseSequence,
            recordsCount: Int32(recordCount))
    }

    /// Appends the complete batch to `output` and starts a new, empty one.
    ///
    /// Writes the header, then the records (compressed directly into `output` when a codec is
    /// set), then patches `batchLength` and the CRC-32C, computed over `output`'s bytes in place.
    /// An empty batch (no records) is written with `recordsCount` 0, `lastOffsetDelta` -1 and
    /// timestamps -1.
    ///
    /// - Returns: the number of bytes written.
    /// - Throws: `CompressionError` if the codec fails (`.libraryFailure`, or `.outputLimitExceeded`
    ///   past 4 GiB); `output` is then left as it was and the records stay in the builder.
    /// - Precondition: the batch fits Kafka's int32 `batchLength`.
    @discardableResult
    public func finish(into output: inout ByteBuffer) throws(CompressionError) -> Int {
        let start = output.writerIndex
        pendingHeader.write(to: &output)
        if let codec {
            do {
                try codec.compress(pending.bytes, into: &output)
            } catch {
                output.moveWriterIndex(to: start)
                throw error
            }
        } else {
            output.writeBytes(pending.bytes)
        }
        let total = output.writerIndex - start
        precondition(total - RecordBatchHeader.logOverhead <= Int32.max, "record batch over 2 GiB")
        output.setInteger(Int32(total - RecordBatchHeader.logOverhead), at: start + RecordBatchHeader.FieldOffset.batchLength)
        let covered = RecordBatchHeader.FieldOffset.attributes
        let crc = CRC32C.checksum(output, at: start + covered, length: total - covered)!
        output.setInteger(crc, at: start + RecordBatchHeader.FieldOffset.crc)
        reset()
        return total
    }

    /// Finishes the batch into a new buffer (see `finish(into:)`).
    public func finish(allocator: ByteBufferAllocator = ByteBufferAllocator()) throws(CompressionError) -> ByteBuffer {
        var output = allocator.buffer(capacity: sizeInBytes)
        try finish(into: &output)
        return output
    }

    /// Drops the records appended since the last `finish`, keeping the producer fields.
    public func reset() {
        pending.reset()
    }
}

/// The records of the batch being built, encoded and uncompressed, with the counters `finish` needs.
///
/// The bytes live in plain memory owned by the builder (freed in its `deinit`), not in a
/// `ByteBuffer`: appending a record then costs no uniqueness check, capacity call or dynamically
/// enforced access to the buffer's storage object, which together took longer than encoding the record.
@usableFromInline
internal struct PendingRecords {
    /// The encoded records: `byteCount` bytes at `base`, `capacity` bytes allocated.
    @usableFromInline var base: UnsafeMutableRawPointer
    @usableFromInline var capacity: Int
    @usableFromInline var byteCount = 0
    @usableFromInline var recordCount = 0
    @usableFromInline var baseTimestamp: Int64 = -1
    @usableFromInline var maxTimestamp: Int64 = -1

    init(capacity: Int) {
        self.capacity = max(capacity, 64)
        self.base = .allocate(byteCount: self.capacity, alignment: 16)
    }

    /// The encoded records.
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: byteCount) }

    /// Frees the memory; the owner calls this once, in its `deinit`.
    func deallocate() {
        base.deallocate()
    }

    /// Encodes one record after the others (see `RecordBatchBuilder.append`).
    ///
    /// The hot path of encoding (callgrind: ~296 instructions a record before, most of them overflow
    /// traps and optional handling). One test up front — key, value, header bytes and header count each
    /// under 1 GiB, as every real record is — bounds every sum below far from overflow, so they wrap
    /// unchecked; anything larger goes to `appendLarge`, which checks each step.
    @inlinable
    @inline(__always)
    mutating func append(
        timestamp: Int64, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?,
        headerCount: Int, headerBytes: UnsafeRawBufferPointer?
    ) {
        let keyCount = key?.count ?? 0
        let valueCount = value?.count ?? 0
        let headerByteCount = headerBytes?.count ?? 0
        // A negative header count sets the top bit, so it takes the checked path too.
        let largest = UInt(bitPattern: keyCount | valueCount | headerByteCount | headerCount)
        guard _fastPath(largest < 1 << 30 && recordCount < Int32.max) else {
            appendLarge(timestamp: timestamp, key: key, value: value, headerCount: headerCount, headerBytes: headerBytes)
            return
        }
        if recordCount == 0 {
            baseTimestamp = timestamp
            maxTimestamp = timestamp
        } else if timestamp > maxTimestamp {
            maxTimestamp = timestamp
        }
        // Zig-zag values; counts and the offset delta are non-negative (below 2^31), so theirs is a shift.
        let timestampDelta = RecordVarint.zigZag(timestamp &- baseTimestamp)
        let offsetDelta = UInt64(truncatingIfNeeded: recordCount) &<< 1
        let keyLength: UInt64 = key == nil ? 1 : UInt64(truncatingIfNeeded: keyCount) &<< 1
        let valueLength: UInt64 = value == nil ? 1 : UInt64(truncatingIfNeeded: valueCount) &<< 1
        let headerCountVarint = UInt64(truncatingIfNeeded: headerCount) &<< 1
        let body =
            1 &+ RecordVarint.size(timestampDelta) &+ RecordVarint.size(offsetDelta)
            &+ RecordVarint.size(keyLength) &+ keyCount &+ RecordVarint.size(valueLength) &+ valueCount
            &+ RecordVarint.size(headerCountVarint) &+ headerByteCount
        let lengthVarint = UInt64(truncatingIfNeeded: body) &<< 1
        let total = RecordVarint.size(lengthVarint) &+ body
        if capacity &- byteCount < total { grow(minimumCapacity: byteCount &+ total) }
        var p = base + byteCount
        p += RecordVarint.write(lengthVarint, to: p)
        p.storeBytes(of: 0, as: UInt8.self)  // attributes
        p += 1
        p += RecordVarint.write(timestampDelta, to: p)
        p += RecordVarint.write(offsetDelta, to: p)
        p += RecordVarint.write(keyLength, to: p)
        if keyCount > 0, let source = key?.baseAddress {
            p.copyMemory(from: source, byteCount: keyCount)
            p += keyCount
        }
        p += RecordVarint.write(valueLength, to: p)
        if valueCount > 0, let source = value?.baseAddress {
            p.copyMemory(from: source, byteCount: valueCount)
            p += valueCount
        }
        p += RecordVarint.write(headerCountVarint, to: p)
        if headerByteCount > 0, let source = headerBytes?.baseAddress {
            p.copyMemory(from: source, byteCount: headerByteCount)
            p += headerByteCount
        }
        assert(p - (base + byteCount) == total, "record size computed as \(total), wrote \(p - (base + byteCount))")
        byteCount &+= total
        recordCount &+= 1
    }

    /// `append` for records with a part of 1 GiB or more (or a batch of `Int32.max` records): every
    /// size checked, traps past Kafka's limits.
    @usableFromInline
    mutating func appendLarge(
        timestamp: Int64, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?,
        headerCount: Int, headerBytes: UnsafeRawBufferPointer?
    ) {
        precondition(recordCount < Int32.max, "too many records in one batch")
        precondition((key?.count ?? 0) <= Int32.max && (value?.count ?? 0) <= Int32.max, "record key or value over 2 GiB")
        if recordCount == 0 {
            baseTimestamp = timestamp
            maxTimestamp = timestamp
        } else if timestamp > maxTimestamp {
            maxTimestamp = timestamp
        }
        let timestampDelta = timestamp &- baseTimestamp
        let offsetDelta = Int32(recordCount)
        let headerByteCount = headerBytes?.count ?? 0
        let body = RecordBatchBuilder.bodySize(
            timestampDelta: timestampDelta, offsetDelta: offsetDelta, keyLength: key?.count,
            valueLength: value?.count, headerCount: headerCount, headerBytes: headerByteCount)
        precondition(body <= Int32.max, "record over 2 GiB")
        let total = RecordVarint.size(Int32(body)) + body
        if capacity - byteCount < total { grow(minimumCapacity: byteCount + total) }
        let start = base + byteCount
        var position = RecordVarint.write(RecordVarint.zigZag(Int32(body)), to: start)
        start.storeBytes(of: 0, toByteOffset: position, as: UInt8.self)  // attributes
        position += 1
        position += RecordVarint.write(RecordVarint.zigZag(timestampDelta), to: start + position)
        position += RecordVarint.write(RecordVarint.zigZag(offsetDelta), to: start + position)
        position += RecordBatchBuilder.writeNullableBytes(key, to: start + position)
        position += RecordBatchBuilder.writeNullableBytes(value, to: start + position)
        position += RecordVarint.write(RecordVarint.zigZag(Int32(headerCount)), to: start + position)
        if let headerBytes, let headerBase = headerBytes.baseAddress, headerByteCount > 0 {
            (start + position).copyMemory(from: headerBase, byteCount: headerByteCount)
            position += headerByteCount
        }
        assert(position == total, "record size computed as \(total), wrote \(position)")
        byteCount += total
        recordCount += 1
    }

    /// Doubles the capacity (or more, to `minimumCapacity`), keeping the bytes.
    @usableFromInline
    mutating func grow(minimumCapacity: Int) {
        let newCapacity = max(minimumCapacity, capacity * 2)
        let newBase = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        newBase.copyMemory(from: base, byteCount: byteCount)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    /// Drops the records, keeping the memory.
    mutating func reset() {
        byteCount = 0
        recordCount = 0
        baseTimestamp = -1
        maxTimestamp = -1
    }
}

@available(*, unavailable)
extension RecordBatchBuilder: Sendable {}
