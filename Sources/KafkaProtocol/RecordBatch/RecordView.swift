/// One record of a batch as raw views into the batch's (decompressed) bytes, passed to the
/// closure of `RecordBatch.forEachRecord(...)`.
///
/// - Important: Valid only during the closure call that receives it: `key`, `value` and
///   `headerBytes` point into memory that is reused or freed afterwards. Copy what you keep.
public struct RecordView: ~Copyable {
    /// The record's absolute offset (`baseOffset + offsetDelta`).
    public let offset: Int64
    /// The record's timestamp (the batch's `maxTimestamp` for LogAppendTime batches).
    public let timestamp: Int64
    /// The offset delta from the batch's `baseOffset`.
    public let offsetDelta: Int32
    /// The record's attributes byte (unused by Kafka so far).
    public let attributes: Int8
    /// The key's bytes, `nil` for a null key.
    public let key: UnsafeRawBufferPointer?
    /// The value's bytes, `nil` for a null value.
    public let value: UnsafeRawBufferPointer?
    /// Number of headers.
    public let headerCount: Int
    /// The encoded headers (after the count), exactly `headerCount` of them, already validated.
    public let headerBytes: UnsafeRawBufferPointer

    @inlinable
    internal init(
        offset: Int64, timestamp: Int64, offsetDelta: Int32, attributes: Int8, key: UnsafeRawBufferPointer?,
        value: UnsafeRawBufferPointer?, headerCount: Int, headerBytes: UnsafeRawBufferPointer
    ) {
        self.offset = offset
        self.timestamp = timestamp
        self.offsetDelta = offsetDelta
        self.attributes = attributes
        self.key = key
        self.value = value
        self.headerCount = headerCount
        self.headerBytes = headerBytes
    }

    /// The headers in wire order, decoded lazily and without allocating; valid as long as the view.
    @inlinable
    public var headers: Headers { Headers(count: headerCount, bytes: headerBytes) }

    /// One header as raw views (valid as long as the `RecordView` it came from).
    public struct Header {
        /// The header's key (UTF-8 by convention; never null).
        public let key: UnsafeRawBufferPointer
        /// The header's value, `nil` for null.
        public let value: UnsafeRawBufferPointer?

        @inlinable
        internal init(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer?) {
            self.key = key
            self.value = value
        }

        /// Whether the key's bytes are `name`'s UTF-8.
        @inlinable
        public func hasKey(_ name: some StringProtocol) -> Bool {
            key.count == name.utf8.count && key.elementsEqual(name.utf8)
        }
    }

    /// A record's headers over its raw header bytes.
    public struct Headers: Sequence {
        /// Number of headers.
        public let count: Int
        @usableFromInline internal let bytes: UnsafeRawBufferPointer

        @inlinable
        internal init(count: Int, bytes: UnsafeRawBufferPointer) {
            self.count = count
            self.bytes = bytes
        }

        /// Iterates the headers in wire order.
        public struct Iterator: IteratorProtocol {
            @usableFromInline internal var remaining: Int
            @usableFromInline internal var position = 0
            @usableFromInline internal let bytes: UnsafeRawBufferPointer

            @inlinable
            internal init(remaining: Int, bytes: UnsafeRawBufferPointer) {
                self.remaining = remaining
                self.bytes = bytes
            }

            /// The next header, or `nil` after the last.
            @inlinable
            public mutating func next() -> Header? {
                // Validated when the record was visited; failing here would be a bug, so end rather than trap.
                guard remaining > 0, let base = bytes.baseAddress,
                    let parsed = RecordParser.parseHeader(bytes, at: position)
                else {
                    remaining = 0
                    return nil
                }
                remaining -= 1
                position = parsed.end
                return Header(
                    key: UnsafeRawBufferPointer(start: base + parsed.key.start, count: parsed.key.length),
                    value: parsed.value.length < 0
                        ? nil : UnsafeRawBufferPointer(start: base + parsed.value.start, count: parsed.value.length))
            }
        }

        @inlinable
        public func makeIterator() -> Iterator { Iterator(remaining: count, bytes: bytes) }

        @inlinable
        public var underestimatedCount: Int { count }

        /// The first header whose key is `name`, or `nil`.
        @inlinable
        public func first(named name: some StringProtocol) -> Header? {
            var iterator = makeIterator()
            while let header = iterator.next() {
                if header.hasKey(name) { return header }
            }
            return nil
        }
    }
}

@available(*, unavailable)
extension RecordView: Sendable {}
