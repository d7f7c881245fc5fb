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
            /// Offset of the next header from the reader index of `encoded`.
            @usableFromInline
            internal var position = 0
            @usableFromInline
            internal let encoded: ByteBuffer

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
                let position = self.position
                let parsed = encoded.withUnsafeReadableBytes { bytes in RecordParser.parseHeader(bytes, at: position) }
                // Validated when the batch was decoded; failing here would be a bug, so end rather than trap.
                let start = encoded.readerIndex
                guard let parsed, let key = encoded.getSlice(at: start + parsed.key.start, length: parsed.key.length) else {
                    remaining = 0
                    return nil
                }
                self.position = parsed.end
                let value = parsed.value.length < 0
                    ? nil : encoded.getSlice(at: start + parsed.value.start, length: parsed.value.length)
                return RecordHeader(key: key, value: value)
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
