public import NIOCore

/// Record headers already in Kafka's wire form, to be appended to records by a
/// `RecordBatchBuilder` without allocating.
///
/// Build a set once and reuse it: `removeAll()` keeps the capacity, so after the first few
/// records no header work allocates. The agent's pattern, with `host` and `source` fixed per
/// input and `origin` changing per line:
///
/// ```swift
/// var fixed = EncodedRecordHeaders()
/// fixed.append(key: "host", value: hostName)
/// fixed.append(key: "source", value: path)
/// var headers = EncodedRecordHeaders()
/// for line in lines {
///     headers.removeAll()
///     headers.append(contentsOf: fixed)
///     origin.withUnsafeReadableBytes { headers.append(key: "origin", value: $0) }
///     builder.append(timestamp: now, key: hostKey, value: line, headers: headers)
/// }
/// ```
///
/// Wire form per header: keyLength varint, key (UTF-8), valueLength varint (-1 for null), value.
/// The header count is written by the builder.
public struct EncodedRecordHeaders: Sendable {
    /// Number of headers.
    public private(set) var count: Int
    /// The encoded headers, without the count.
    @usableFromInline
    internal var bytes: ByteBuffer

    /// Creates an empty set with room for `capacity` encoded bytes.
    public init(capacity: Int = 128) {
        self.count = 0
        self.bytes = ByteBufferAllocator().buffer(capacity: capacity)
    }

    /// Bytes the headers take on the wire, without the header count.
    @inlinable
    public var encodedSize: Int { bytes.readableBytes }

    /// Whether there are no headers.
    @inlinable
    public var isEmpty: Bool { count == 0 }

    /// Removes every header, keeping the storage for reuse.
    public mutating func removeAll() {
        count = 0
        bytes.clear()
    }

    /// Appends a header with a UTF-8 key and a value given as raw bytes (`nil` for null).
    ///
    /// - Precondition: key and value are each shorter than 2 GiB.
    public mutating func append(key: String, value: UnsafeRawBufferPointer?) {
        var key = key
        key.withUTF8 { keyBytes in
            appendEncoded(key: UnsafeRawBufferPointer(keyBytes), value: value)
        }
    }

    /// Appends a header with a raw-byte key (UTF-8 by contract) and value (`nil` for null).
    public mutating func append(keyBytes key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer?) {
        appendEncoded(key: key, value: value)
    }

    /// Appends a header whose value is the readable bytes of `value` (`nil` for null).
    @_disfavoredOverload
    public mutating func append(key: String, value: ByteBuffer?) {
        guard let value else { return append(key: key, value: nil as UnsafeRawBufferPointer?) }
        value.withUnsafeReadableBytes { append(key: key, value: $0) }
    }

    /// Appends a header whose value is the UTF-8 of `value` (`nil` for null).
    @_disfavoredOverload
    public mutating func append(key: String, value: String?) {
        guard var value else { return append(key: key, value: nil as UnsafeRawBufferPointer?) }
        value.withUTF8 { append(key: key, value: UnsafeRawBufferPointer($0)) }
    }

    /// Appends all headers of `other`, after the ones already here.
    public mutating func append(contentsOf other: EncodedRecordHeaders) {
        count += other.count
        bytes.writeImmutableBuffer(other.bytes)
    }

    internal mutating func appendEncoded(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer?) {
        precondition(key.count <= Int32.max && (value?.count ?? 0) <= Int32.max, "record header over 2 GiB")
        let valueLength = value.map { Int32($0.count) } ?? -1
        let keySize = RecordVarint.size(Int32(key.count))
        let size = keySize + key.count + RecordVarint.size(valueLength) + (value?.count ?? 0)
        bytes.reserveCapacity(minimumWritableBytes: size)
        bytes.withUnsafeMutableWritableBytes { out in
            let base = out.baseAddress!
            var position = RecordVarint.write(RecordVarint.zigZag(Int32(key.count)), to: base)
            if let keyBase = key.baseAddress, key.count > 0 {
                (base + position).copyMemory(from: keyBase, byteCount: key.count)
                position += key.count
            }
            position += RecordVarint.write(RecordVarint.zigZag(valueLength), to: base + position)
            if let value, let valueBase = value.baseAddress, value.count > 0 {
                (base + position).copyMemory(from: valueBase, byteCount: value.count)
            }
        }
        bytes.moveWriterIndex(forwardBy: size)
        count += 1
    }
}
