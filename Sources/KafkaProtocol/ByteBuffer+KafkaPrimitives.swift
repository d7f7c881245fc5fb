public import NIOCore

// Kafka's wire primitives on ByteBuffer.
//
// Verbs follow NIO: `readKafka…` consumes and moves `readerIndex`, `writeKafka…`
// appends and moves `writerIndex`. Unlike NIO's own `read…`, the readers here
// *throw* `KafkaDecodingError` when the buffer runs short, because they are used
// on one complete frame where a short read is malformed input. On a throw the
// reader index is left where it was before the call.
//
// Encodings (https://kafka.apache.org/protocol#protocol_types):
// * fixed-width integers are big-endian;
// * `unsigned varint` is LEB128 (7 bits a byte, low group first), at most 5 bytes;
// * `varint`/`varlong` are zig-zag signed (protobuf sint32/sint64), at most 5/10 bytes;
// * non-flexible strings have an int16 length, bytes an int32 length, arrays an
//   int32 count, -1 meaning null;
// * compact (flexible-version) strings, bytes and arrays have an unsigned varint of
//   length + 1, 0 meaning null;
// * a tagged-field section is an unsigned varint count, then per field an unsigned
//   varint tag, an unsigned varint size and that many bytes.

extension ByteBuffer {
    // MARK: Fixed-width integers

    /// Reads a big-endian integer of type `T`.
    ///
    /// - Throws: `KafkaDecodingError.truncated` naming `field` if fewer than `T`'s size bytes remain.
    @inlinable
    public mutating func readKafkaInteger<T: FixedWidthInteger>(
        as: T.Type = T.self, field: @autoclosure () -> String = ""
    ) throws(KafkaDecodingError) -> T {
        guard let value = self.readInteger(as: T.self) else {
            throw KafkaDecodingError(
                .truncated, context: field(),
                detail: "needed \(MemoryLayout<T>.size) bytes for \(T.self), \(self.readableBytes) left")
        }
        return value
    }

    /// Reads a Kafka `bool`: one byte, 0 is false, anything else true (as the Java client reads it).
    @inlinable
    public mutating func readKafkaBool(field: @autoclosure () -> String = "") throws(KafkaDecodingError) -> Bool {
        try self.readKafkaInteger(as: UInt8.self, field: field()) != 0
    }

    /// Writes a Kafka `bool` as one byte, 1 or 0.
    @inlinable
    @discardableResult
    public mutating func writeKafkaBool(_ value: Bool) -> Int {
        self.writeInteger(value ? UInt8(1) : UInt8(0))
    }

    /// Reads a Kafka `float64` (IEEE 754 binary64, big-endian).
    @inlinable
    public mutating func readKafkaFloat64(field: @autoclosure () -> String = "") throws(KafkaDecodingError) -> Double {
        Double(bitPattern: try self.readKafkaInteger(as: UInt64.self, field: field()))
    }

    /// Writes a Kafka `float64` (IEEE 754 binary64, big-endian).
    @inlinable
    @discardableResult
    public mutating func writeKafkaFloat64(_ value: Double) -> Int {
        self.writeInteger(value.bitPattern)
    }

    // MARK: Varints

    /// Reads an unsigned LEB128 varint of at most 5 bytes (a Kafka `unsigned varint`).
    ///
    /// - Throws: `truncated` if the buffer ends inside it, `varintTooLong` if it needs a sixth byte
    ///   or its fifth byte carries bits above 32.
    @inlinable
    public mutating func readKafkaUnsignedVarint(field: @autoclosure () -> String = "") throws(KafkaDecodingError) -> UInt32 {
        let value = try self.readKafkaUnsignedVarlongBits(maxBytes: 5, field: field())
        guard value <= UInt64(UInt32.max) else {
            throw KafkaDecodingError(.varintTooLong, context: field(), detail: "unsigned varint exceeds 32 bits")
        }
        return UInt32(truncatingIfNeeded: value)
    }

    /// Reads an unsigned LEB128 varint of at most 10 bytes (a Kafka `unsigned varlong`).
    @inlinable
    public mutating func readKafkaUnsignedVarlong(field: @autoclosure () -> String = "") throws(KafkaDecodingError) -> UInt64 {
        try self.readKafkaUnsignedVarlongBits(maxBytes: 10, field: field())
    }

    /// Reads a zig-zag varint (Kafka `varint`, protobuf `sint32`).
    @inlinable
    public mutating func readKafkaVarint(field: @autoclosure () -> String = "") throws(KafkaDecodingError) -> Int32 {
        let raw = try self.readKafkaUnsignedVarint(field: field())
        return Int32(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }

    /// Reads a zig-zag varlong (Kafka `varlong`, protobuf `sint64`).
    @inlinable
    public mutating func readKafkaVarlong(field: @autoclosure () -> String = "") throws(KafkaDecodingError) -> Int64 {
        let raw = try self.readKafkaUnsignedVarlong(field: field())
        return Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }

    @inlinable
    internal mutating func readKafkaUnsignedVarlongBits(
        maxBytes: Int, field: @autoclosure () -> String
    ) throws(KafkaDecodingError) -> UInt64 {
        let start = self.readerIndex
        var result: UInt64 = 0
        var shift: UInt64 = 0
        var index = start
        let end = self.writerIndex
        while true {
            guard index < end else {
                throw KafkaDecodingError(.truncated, context: field(), detail: "buffer ended inside a varint")
            }
            guard index - start < maxBytes else {
                throw KafkaDecodingError(.varintTooLong, context: field(), detail: "varint longer than \(maxBytes) bytes")
            }
            let byte = self.getInteger(at: index, as: UInt8.self)!
            index += 1
            let bits = UInt64(byte & 0x7f)
            if shift == 63 && bits > 1 {
                throw KafkaDecodingError(.varintTooLong, context: field(), detail: "varlong exceeds 64 bits")
            }
            result |= bits << shift
            if byte & 0x80 == 0 { break }
            shift += 7
        }
        self.moveReaderIndex(to: index)
        return result
    }

    /// Writes `value` as an unsigned LEB128 varint (1 to 5 bytes).
    @inlinable
    @discardableResult
    public mutating func writeKafkaUnsignedVarint(_ value: UInt32) -> Int {
        self.writeKafkaUnsignedVarlong(UInt64(value))
    }

    /// Writes `value` as an unsigned LEB128 varlong (1 to 10 bytes).
    @inlinable
    @discardableResult
    public mutating func writeKafkaUnsignedVarlong(_ value: UInt64) -> Int {
        if value < 0x80 {
            return self.writeInteger(UInt8(truncatingIfNeeded: value))
        }
        var value = value
        var scratch: (UInt64, UInt64) = (0, 0)
        return withUnsafeMutableBytes(of: &scratch) { bytes in
            var count = 0
            while value >= 0x80 {
                bytes[count] = UInt8(truncatingIfNeeded: value) | 0x80
                value >>= 7
                count += 1
            }
            bytes[count] = UInt8(truncatingIfNeeded: value)
            count += 1
            return self.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[0..<count]))
        }
    }

    /// Writes `value` as a zig-zag varint (Kafka `varint`).
    @inlinable
    @discardableResult
    public mutating func writeKafkaVarint(_ value: Int32) -> Int {
        self.writeKafkaUnsignedVarint(UInt32(bitPattern: (value << 1) ^ (value >> 31)))
    }

    /// Writes `value` as a zig-zag varlong (Kafka `varlong`).
    @inlinable
    @discardableResult
    public mutating func writeKafkaVarlong(_ value: Int64) -> Int {
        self.writeKafkaUnsignedVarlong(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    // MARK: Lengths and counts

    /// Reads the length prefix of a string, bytes or array field.
    ///
    /// - Parameters:
    ///   - compact: `true` for flexible versions (unsigned varint of length + 1), `false` for the classic
    ///     int16 (strings) or int32 (bytes and arrays) prefix.
    ///   - wide: in the classic encoding, `true` for an int32 prefix, `false` for int16.
    ///   - minimumElementSize: the fewest bytes one element can take; a count that the remaining bytes cannot
    ///     hold is rejected here, so callers can reserve capacity for it without trusting the wire.
    /// - Returns: the length, or `nil` for null.
    @inlinable
    public mutating func readKafkaLength(
        compact: Bool, wide: Bool, minimumElementSize: Int = 1, field: @autoclosure () -> String = ""
    ) throws(KafkaDecodingError) -> Int? {
        let start = self.readerIndex
        let length: Int
        if compact {
            let raw = try self.readKafkaUnsignedVarint(field: field())
            if raw == 0 { return nil }
            length = Int(raw) - 1
        } else if wide {
            let raw = try self.readKafkaInteger(as: Int32.self, field: field())
            if raw == -1 { return nil }
            length = Int(raw)
        } else {
            let raw = try self.readKafkaInteger(as: Int16.self, field: field())
            if raw == -1 { return nil }
            length = Int(raw)
        }
        guard length >= 0 else {
            self.moveReaderIndex(to: start)
            throw KafkaDecodingError(.invalidLength, context: field(), detail: "negative length \(length)")
        }
        let (needed, overflow) = length.multipliedReportingOverflow(by: max(minimumElementSize, 0))
        guard !overflow, needed <= self.readableBytes else {
            self.moveReaderIndex(to: start)
            throw KafkaDecodingError(
                .invalidLength, context: field(),
                detail: "length \(length) needs at least \(overflow ? Int.max : needed) bytes, \(self.readableBytes) left")
        }
        return length
    }

    /// Writes the length prefix of a string, bytes or array field; `nil` writes null.
    ///
    /// - Parameters:
    ///   - compact: flexible-version encoding (unsigned varint of length + 1).
    ///   - wide: in the classic encoding, an int32 prefix rather than int16.
    @inlinable
    @discardableResult
    public mutating func writeKafkaLength(_ length: Int?, compact: Bool, wide: Bool) -> Int {
        if compact {
            return self.writeKafkaUnsignedVarint(length.map { UInt32(truncatingIfNeeded: $0 + 1) } ?? 0)
        } else if wide {
            return self.writeInteger(length.map { Int32(truncatingIfNeeded: $0) } ?? -1)
        } else {
            return self.writeInteger(length.map { Int16(truncatingIfNeeded: $0) } ?? -1)
        }
    }

    // MARK: Strings

    /// Reads a nullable string (int16 length, or compact).
    ///
    /// - Throws: `invalidUTF8` if the bytes are not UTF-8; `truncated`/`invalidLength` on a bad length.
    @inlinable
    public mutating func readKafkaNullableString(
        compact: Bool, field: @autoclosure () -> String = ""
    ) throws(KafkaDecodingError) -> String? {
        let start = self.readerIndex
        guard let length = try self.readKafkaLength(compact: compact, wide: false, field: field()) else {
            return nil
        }
        let view = self.readSlice(length: length)!
        let string: String? = view.withUnsafeReadableBytes { bytes in
            String(validating: bytes, as: UTF8.self)
        }
        guard let string else {
            self.moveReaderIndex(to: start)
            throw KafkaDecodingError(.invalidUTF8, context: field(), detail: "string of \(length) bytes is not UTF-8")
        }
        return string
    }

    /// Reads a non-nullable string (int16 length, or compact).
    ///
    /// - Throws: `invalidValue` if the wire says null.
    @inlinable
    public mutating func readKafkaString(
        compact: Bool, field: @autoclosure () -> String = ""
    ) throws(KafkaDecodingError) -> String {
        let start = self.readerIndex
        guard let string = try self.readKafkaNullableString(compact: compact, field: field()) else {
            self.moveReaderIndex(to: start)
            throw KafkaDecodingError(.invalidValue, context: field(), detail: "null where a string is required")
        }
        return string
    }

    /// Writes a nullable string with an int16 or compact length.
    @inlinable
    @discardableResult
    public mutating func writeKafkaNullableString(_ string: String?, compact: Bool) -> Int {
        guard let string else { return self.writeKafkaLength(nil, compact: compact, wide: false) }
        let utf8Count = string.utf8.count
        return self.writeKafkaLength(utf8Count, compact: compact, wide: false) + self.writeString(string)
    }

    /// Writes a string with an int16 or compact length.
    @inlinable
    @discardableResult
    public mutating func writeKafkaString(_ string: String, compact: Bool) -> Int {
        self.writeKafkaNullableString(string, compact: compact)
    }

    // MARK: Bytes

    /// Reads nullable bytes (int32 length, or compact) as a slice of this buffer: no copy.
    @inlinable
    public mutating func readKafkaNullableBytes(
        compact: Bool, field: @autoclosure () -> String = ""
    ) throws(KafkaDecodingError) -> ByteBuffer? {
        guard let length = try self.readKafkaLength(compact: compact, wide: true, field: field()) else {
            return nil
        }
        return self.readSlice(length: length)!
    }

    /// Reads non-nullable bytes (int32 length, or compact) as a slice of this buffer.
    ///
    /// - Throws: `invalidValue` if the wire says null.
    @inlinable
    public mutating func readKafkaBytes(
        compact: Bool, field: @autoclosure () -> String = ""
    ) throws(KafkaDecodingError) -> ByteBuffer {
        let start = self.readerIndex
        guard let bytes = try self.readKafkaNullableBytes(compact: compact, field: field()) else {
            self.moveReaderIndex(to: start)
            throw KafkaDecodingError(.invalidValue, context: field(), detail: "null where bytes are required")
        }
        return bytes
    }

    /// Writes nullable bytes with an int32 or compact length.
    @inlinable
    @discardableResult
    public mutating func writeKafkaNullableBytes(_ bytes: ByteBuffer?, compact: Bool) -> Int {
        guard let bytes else { return self.writeKafkaLength(nil, compact: compact, wide: true) }
        return self.writeKafkaLength(bytes.readableBytes, compact: compact, wide: true)
            + self.writeImmutableBuffer(bytes)
    }

    /// Writes bytes with an int32 or compact length.
    @inlinable
    @discardableResult
    public mutating func writeKafkaBytes(_ bytes: ByteBuffer, compact: Bool) -> Int {
        self.writeKafkaNullableBytes(bytes, compact: compact)
    }

    // MARK: Arrays

    /// Reads an array's element count (int32, or compact); `nil` for a null array.
    ///
    /// - Parameter minimumElementSize: the fewest bytes one element can take (1 is always safe); the
    ///   count is checked against the bytes left so `reserveCapacity(count)` cannot be abused.
    @inlinable
    public mutating func readKafkaArrayCount(
        compact: Bool, minimumElementSize: Int = 1, field: @autoclosure () -> String = ""
    ) throws(KafkaDecodingError) -> Int? {
        try self.readKafkaLength(
            compact: compact, wide: true, minimumElementSize: minimumElementSize, field: field())
    }

    /// Writes an array's element count (int32, or compact); `nil` writes a null array.
    @inlinable
    @discardableResult
    public mutating func writeKafkaArrayCount(_ count: Int?, compact: Bool) -> Int {
        self.writeKafkaLength(count, compact: compact, wide: true)
    }

    // MARK: UUID

    /// Reads a 16-byte Kafka `uuid`.
    @inlinable
    public mutating func readKafkaUUID(field: @autoclosure () -> String = "") throws(KafkaDecodingError) -> KafkaUUID {
        let high = try self.readKafkaInteger(as: UInt64.self, field: field())
        let low = try self.readKafkaInteger(as: UInt64.self, field: field())
        return KafkaUUID(high: high, low: low)
    }

    /// Writes a 16-byte Kafka `uuid`.
    @inlinable
    @discardableResult
    public mutating func writeKafkaUUID(_ uuid: KafkaUUID) -> Int {
        self.writeInteger(uuid.high) + self.writeInteger(uuid.low)
    }

    // MARK: Tagged fields

    /// Reads a tagged-field section, calling `body` with each field's tag and its payload as a slice.
    ///
    /// Tags must be strictly increasing, as the Java implementation demands. `body` decides what to
    /// do with each field (decode a known tag, keep an unknown one).
    @inlinable
    public mutating func readKafkaTaggedFields(
        field: @autoclosure () -> String = "",
        _ body: (_ tag: UInt32, _ payload: inout ByteBuffer) throws(KafkaDecodingError) -> Void
    ) throws(KafkaDecodingError) {
        let count = try self.readKafkaUnsignedVarint(field: field())
        guard Int(count) <= self.readableBytes / 2 else {
            throw KafkaDecodingError(
                .invalidLength, context: field(),
                detail: "\(count) tagged fields cannot fit in \(self.readableBytes) bytes")
        }
        var previous: Int64 = -1
        for _ in 0..<count {
            let tag = try self.readKafkaUnsignedVarint(field: field())
            guard Int64(tag) > previous else {
                throw KafkaDecodingError(
                    .invalidValue, context: field(), detail: "tagged field \(tag) follows tag \(previous)")
            }
            previous = Int64(tag)
            let size = try self.readKafkaUnsignedVarint(field: field())
            guard Int(size) <= self.readableBytes else {
                throw KafkaDecodingError(
                    .invalidLength, context: field(),
                    detail: "tagged field \(tag) of \(size) bytes, \(self.readableBytes) left")
            }
            var payload = self.readSlice(length: Int(size))!
            try body(tag, &payload)
        }
    }

    /// Writes an empty tagged-field section (a single 0 byte).
    @inlinable
    @discardableResult
    public mutating func writeKafkaEmptyTaggedFields() -> Int {
        self.writeInteger(UInt8(0))
    }

    /// Writes one tagged field: its tag, the size of what `body` writes, then those bytes.
    ///
    /// The caller writes the section's count first and calls this once per field in increasing tag order.
    @inlinable
    @discardableResult
    public mutating func writeKafkaTaggedField(
        tag: UInt32, _ body: (inout ByteBuffer) -> Void
    ) -> Int {
        var payload = ByteBufferAllocator().buffer(capacity: 16)
        body(&payload)
        return self.writeKafkaUnsignedVarint(tag)
            + self.writeKafkaUnsignedVarint(UInt32(payload.readableBytes))
            + self.writeBuffer(&payload)
    }
}

/// A Kafka `uuid`: 16 bytes, the most significant 8 first. `KafkaUUID.zero` is Kafka's "no id".
public struct KafkaUUID: Hashable, Sendable, CustomStringConvertible {
    /// The first (most significant) 8 bytes, big-endian.
    public var high: UInt64
    /// The last 8 bytes, big-endian.
    public var low: UInt64

    /// Creates a UUID from its two halves.
    @inlinable
    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// The all-zero UUID (Kafka's `Uuid.ZERO_UUID`).
    public static let zero = KafkaUUID(high: 0, low: 0)

    /// The canonical 8-4-4-4-12 hexadecimal form.
    public var description: String {
        func hex(_ value: UInt64, _ digits: Int) -> String {
            let s = String(value, radix: 16)
            return String(repeating: "0", count: max(0, digits - s.count)) + s
        }
        return "\(hex(high >> 32, 8))-\(hex((high >> 16) & 0xffff, 4))-\(hex(high & 0xffff, 4))-"
            + "\(hex(low >> 48, 4))-\(hex(low & 0xffff_ffff_ffff, 12))"
    }
}
