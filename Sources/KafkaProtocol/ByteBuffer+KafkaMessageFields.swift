import NIOCore

// The small runtime the generated message types in `Messages/` are written against.
//
// Generated code stays lean by calling one helper per field: the helpers check nullability and
// lengths, bound every array count by the bytes that remain, and put the field name into errors.
// Field paths are built on the way out of an error: `readKafkaArrayField` and friends prefix their
// field name with `nested(in:)`, and the message wrapper adds `ProduceRequest v9` in front, giving
// `ProduceRequest v9: topicData.partitionData.records`. Nothing here allocates on the success path
// beyond the arrays being decoded.

/// A value that can be an element of a Kafka array: a fixed-width integer, `bool`, `float64`,
/// `string`, `uuid`, or a generated struct.
protocol KafkaWireArrayElement {
    /// Reads one element; `compact` says whether strings use the flexible encoding.
    init(kafkaElementFrom buffer: inout ByteBuffer, version: Int16, compact: Bool) throws(KafkaDecodingError)
    /// Writes one element.
    func writeKafkaElement(into buffer: inout ByteBuffer, version: Int16, compact: Bool) throws(KafkaEncodingError)
}

/// A generated struct: a message body or one of its nested structs.
protocol KafkaWireStruct: KafkaWireArrayElement {
    /// Reads the struct's fields present in `version`, including its tagged-field section.
    init(kafkaFieldsFrom buffer: inout ByteBuffer, version: Int16) throws(KafkaDecodingError)
    /// Writes the struct's fields present in `version`, including its tagged-field section.
    func encodeKafkaFields(into buffer: inout ByteBuffer, version: Int16) throws(KafkaEncodingError)
}

extension KafkaWireStruct {
    @inline(__always)
    init(kafkaElementFrom buffer: inout ByteBuffer, version: Int16, compact: Bool) throws(KafkaDecodingError) {
        try self.init(kafkaFieldsFrom: &buffer, version: version)
    }

    @inline(__always)
    func writeKafkaElement(into buffer: inout ByteBuffer, version: Int16, compact: Bool) throws(KafkaEncodingError) {
        try self.encodeKafkaFields(into: &buffer, version: version)
    }
}

extension Int8: KafkaWireArrayElement {
    init(kafkaElementFrom buffer: inout ByteBuffer, version: Int16, compact: Bool) throws(KafkaDecodingError) {
        self = try buffer.readKafkaInteger()
    }
    func writeKafkaElement(into buffer: inout ByteBuffer, version: Int16, compact: Bool) throws(KafkaEncodingError) {
        buffer.writeInteger(self)
    }
}

extension Int16: KafkaWireArrayElement {
    init(kafkaElementFrom buffer: inout ByteBuffer, version: Int16, compact: Bool) throws(KafkaDecodingError) {
        self = try buffer.readKafkaInteger()
    }
    func writeKafkaElement(into buffer: inout ByteBuffer, version: Int16, compact: Bool) throws(KafkaEncodingError) {
        buffer.writeInteger(self)
    }
}

extension Int32: KafkaWireArrayElement {
    init(kafkaElementFrom buffer: inout ByteBuffer, version: Int16, compact: Bool) throws(KafkaDecodingError) {
        self = try buffer.readKafkaInteger()
    }
    func writeKafkaElement(into buffer: inout ByteBuffer, version: Int16, compact: Bool) throws(KafkaEncodingError) {
        buffer.writeInteger(self)
    }
}

extension Int64: KafkaWireArrayElement {
    init(kafkaElementFrom buffer: inout ByteBuffer, version: Int16, compact: Bool) throws(KafkaDecodingError) {
        self = try buffer.readKafkaInteger()
    }
    func writeKafkaElement(into buffer: inout ByteBuffer, version: Int16, compact: Bool) throws(KafkaEncodingError) {
        buffer.writeInteger(self)
    }
}

extension UInt16: KafkaWireArrayElement {
    init(kafkaElementFrom buffer: inout ByteBuffer, version: Int16, compact: Bool) throws(KafkaDecodingError) {
        self = try buffer.readKafkaInteger()
    }
    func writeKafkaElement(into buffer: inout ByteBuffer, version: Int16, compact: Bool) throws(KafkaEncodingError) {
        buffer.writeInteger(self)
    }
}

extension UInt32: KafkaWireArrayElement {
    init(kafkaElementFrom buffer: inout ByteBuffer, version: Int16, compact: Bool) throws(KafkaDecodingError) {
        self = try buffer.readKafkaInteger()
    }
    func writeKafkaElement(into buffer: inout ByteBuffer, version: Int16, compact: Bool) throws(KafkaEncodingError) {
        buffer.writeInteger(self)
    }
}

extension Bool: KafkaWireArrayElement {
    init(kafkaElementFrom buffer: inout ByteBuffer, version: Int16, compact: Bool) throws(KafkaDecodingError) {
        self = try buffer.readKafkaBool()
    }
    func writeKafkaElement(into buffer: inout ByteBuffer, version: Int16, compact: Bool) throws(KafkaEncodingError) {
        buffer.writeKafkaBool(self)
    }
}

extension Double: KafkaWireArrayElement {
    init(kafkaElementFrom buffer: inout ByteBuffer, version: Int16, compact: Bool) throws(KafkaDecodingError) {
        self = try buffer.readKafkaFloat64()
    }
    func writeKafkaElement(into buffer: inout ByteBuffer, version: Int16, compact: Bool) throws(KafkaEncodingError) {
        buffer.writeKafkaFloat64(self)
    }
}

extension KafkaUUID: KafkaWireArrayElement {
    init(kafkaElementFrom buffer: inout ByteBuffer, version: Int16, compact: Bool) throws(KafkaDecodingError) {
        self = try buffer.readKafkaUUID()
    }
    func writeKafkaElement(into buffer: inout ByteBuffer, version: Int16, compact: Bool) throws(KafkaEncodingError) {
        buffer.writeKafkaUUID(self)
    }
}

extension String: KafkaWireArrayElement {
    init(kafkaElementFrom buffer: inout ByteBuffer, version: Int16, compact: Bool) throws(KafkaDecodingError) {
        self = try buffer.readKafkaString(compact: compact)
    }
    func writeKafkaElement(into buffer: inout ByteBuffer, version: Int16, compact: Bool) throws(KafkaEncodingError) {
        try buffer.writeKafkaStringField(self, compact: compact, field: "")
    }
}

extension KafkaDecodingError {
    /// The same error with `field` put in front of its field path (`field.path`).
    func nested(in field: String) -> KafkaDecodingError {
        var copy = self
        copy.context = context.isEmpty ? field : "\(field).\(context)"
        return copy
    }
}

extension KafkaEncodingError {
    /// The same error with `field` put in front of its field path (`field.path`).
    func nested(in field: String) -> KafkaEncodingError {
        guard !field.isEmpty else { return self }
        var copy = self
        copy.context = context.isEmpty ? field : "\(field).\(context)"
        return copy
    }

    /// A field that `version` cannot carry has a non-default value and is not ignorable.
    static func fieldNotInVersion(_ field: String, version: Int16) -> KafkaEncodingError {
        KafkaEncodingError(
            .fieldNotInVersion, context: field,
            detail: "\(field) has a non-default value but version \(version) cannot carry it")
    }
}

// MARK: - Messages

extension ByteBuffer {
    /// Writes `message` in `version`, checking the version and naming message and version in errors;
    /// on a throw the writer index is put back.
    mutating func writeKafkaMessage<Message: KafkaMessage & KafkaWireStruct>(
        _ message: Message, version: Int16, name: String
    ) throws(KafkaEncodingError) {
        guard Message.validVersions.contains(version) else {
            throw KafkaEncodingError(
                .unsupportedVersion, context: name,
                detail: "version \(version) is outside \(Message.validVersions.lowerBound)...\(Message.validVersions.upperBound)")
        }
        let start = self.writerIndex
        do {
            try message.encodeKafkaFields(into: &self, version: version)
        } catch {
            self.moveWriterIndex(to: start)
            throw error.within("\(name) v\(version)")
        }
    }

    /// Reads a `Message` in `version`, checking the version and naming message and version in errors;
    /// on a throw the reader index is put back.
    mutating func readKafkaMessage<Message: KafkaMessage & KafkaWireStruct>(
        version: Int16, name: String
    ) throws(KafkaDecodingError) -> Message {
        guard Message.validVersions.contains(version) else {
            throw KafkaDecodingError(
                .unsupportedVersion, context: name,
                detail: "version \(version) is outside \(Message.validVersions.lowerBound)...\(Message.validVersions.upperBound)")
        }
        let start = self.readerIndex
        do {
            return try Message(kafkaFieldsFrom: &self, version: version)
        } catch {
            self.moveReaderIndex(to: start)
            throw error.within("\(name) v\(version)")
        }
    }
}

// MARK: - Reading fields

extension ByteBuffer {
    /// Reads a string that may be null in this version (`nullable`) or must not be.
    @inline(__always)
    mutating func readKafkaOptionalStringField(
        compact: Bool, nullable: Bool, field: String
    ) throws(KafkaDecodingError) -> String? {
        nullable
            ? try self.readKafkaNullableString(compact: compact, field: field)
            : try self.readKafkaString(compact: compact, field: field)
    }

    /// Reads bytes that may be null in this version (`nullable`) or must not be.
    @inline(__always)
    mutating func readKafkaOptionalBytesField(
        compact: Bool, nullable: Bool, field: String
    ) throws(KafkaDecodingError) -> ByteBuffer? {
        nullable
            ? try self.readKafkaNullableBytes(compact: compact, field: field)
            : try self.readKafkaBytes(compact: compact, field: field)
    }

    /// Reads a non-nullable array; the count is checked against `minimumElementSize` first.
    mutating func readKafkaArrayField<Element: KafkaWireArrayElement>(
        compact: Bool, minimumElementSize: Int, version: Int16, field: String
    ) throws(KafkaDecodingError) -> [Element] {
        let start = self.readerIndex
        guard let count = try self.readKafkaArrayCount(
            compact: compact, minimumElementSize: minimumElementSize, field: field)
        else {
            self.moveReaderIndex(to: start)
            throw KafkaDecodingError(.invalidValue, context: field, detail: "null where an array is required")
        }
        return try self.readKafkaElements(count: count, compact: compact, version: version, field: field)
    }

    /// Reads an array that may be null in this version (`nullable`) or must not be.
    mutating func readKafkaOptionalArrayField<Element: KafkaWireArrayElement>(
        compact: Bool, nullable: Bool, minimumElementSize: Int, version: Int16, field: String
    ) throws(KafkaDecodingError) -> [Element]? {
        let start = self.readerIndex
        guard let count = try self.readKafkaArrayCount(
            compact: compact, minimumElementSize: minimumElementSize, field: field)
        else {
            guard nullable else {
                self.moveReaderIndex(to: start)
                throw KafkaDecodingError(
                    .invalidValue, context: field, detail: "null array where version \(version) does not allow it")
            }
            return nil
        }
        return try self.readKafkaElements(count: count, compact: compact, version: version, field: field)
    }

    private mutating func readKafkaElements<Element: KafkaWireArrayElement>(
        count: Int, compact: Bool, version: Int16, field: String
    ) throws(KafkaDecodingError) -> [Element] {
        var elements: [Element] = []
        elements.reserveCapacity(count)
        for _ in 0..<count {
            do {
                elements.append(try Element(kafkaElementFrom: &self, version: version, compact: compact))
            } catch {
                throw error.nested(in: field)
            }
        }
        return elements
    }

    /// Reads a nested (non-array) struct field.
    @inline(__always)
    mutating func readKafkaStructField<Struct: KafkaWireStruct>(
        version: Int16, field: String
    ) throws(KafkaDecodingError) -> Struct {
        do {
            return try Struct(kafkaFieldsFrom: &self, version: version)
        } catch {
            throw error.nested(in: field)
        }
    }

    /// Reads a tagged-field section none of whose tags this struct knows, keeping every field.
    mutating func readKafkaUnknownTaggedFields(into fields: inout [KafkaTaggedField]) throws(KafkaDecodingError) {
        try self.readKafkaTaggedFields(field: "taggedFields") { (tag, payload) throws(KafkaDecodingError) in
            fields.append(KafkaTaggedField(tag: tag, data: payload))
        }
    }

    /// Checks that the payload of known tagged field `tag` was read to its end.
    @inline(__always)
    func checkKafkaTaggedPayloadConsumed(tag: UInt32, field: String) throws(KafkaDecodingError) {
        guard self.readableBytes == 0 else {
            throw KafkaDecodingError(
                .invalidLength, context: field,
                detail: "tagged field \(tag) has \(self.readableBytes) bytes after its value")
        }
    }
}

// MARK: - Writing fields

extension ByteBuffer {
    /// Writes a non-null string, checking that its length fits the prefix.
    @inline(__always)
    mutating func writeKafkaStringField(_ string: String, compact: Bool, field: String) throws(KafkaEncodingError) {
        let length = string.utf8.count
        guard length <= (compact ? Int(Int32.max) : Int(Int16.max)) else {
            throw KafkaEncodingError(
                .valueTooLong, context: field, detail: "string of \(length) UTF-8 bytes is too long for its length prefix")
        }
        self.writeKafkaString(string, compact: compact)
    }

    /// Writes a string that may be null in this version (`nullable`) or must not be.
    @inline(__always)
    mutating func writeKafkaOptionalStringField(
        _ string: String?, compact: Bool, nullable: Bool, field: String
    ) throws(KafkaEncodingError) {
        guard let string else {
            guard nullable else { throw KafkaEncodingError.nullNotAllowed(field) }
            self.writeKafkaNullableString(nil, compact: compact)
            return
        }
        try self.writeKafkaStringField(string, compact: compact, field: field)
    }

    /// Writes non-null bytes (or records), checking that the length fits the prefix.
    @inline(__always)
    mutating func writeKafkaBytesField(_ bytes: ByteBuffer, compact: Bool, field: String) throws(KafkaEncodingError) {
        guard bytes.readableBytes < Int(Int32.max) else {
            throw KafkaEncodingError(
                .valueTooLong, context: field, detail: "\(bytes.readableBytes) bytes are too many for a length prefix")
        }
        self.writeKafkaBytes(bytes, compact: compact)
    }

    /// Writes bytes (or records) that may be null in this version (`nullable`) or must not be.
    @inline(__always)
    mutating func writeKafkaOptionalBytesField(
        _ bytes: ByteBuffer?, compact: Bool, nullable: Bool, field: String
    ) throws(KafkaEncodingError) {
        guard let bytes else {
            guard nullable else { throw KafkaEncodingError.nullNotAllowed(field) }
            self.writeKafkaNullableBytes(nil, compact: compact)
            return
        }
        try self.writeKafkaBytesField(bytes, compact: compact, field: field)
    }

    /// Writes a non-null array: its count, then each element.
    mutating func writeKafkaArrayField<Element: KafkaWireArrayElement>(
        _ elements: [Element], compact: Bool, version: Int16, field: String
    ) throws(KafkaEncodingError) {
        guard elements.count < Int(Int32.max) else {
            throw KafkaEncodingError(.valueTooLong, context: field, detail: "\(elements.count) elements are too many")
        }
        self.writeKafkaArrayCount(elements.count, compact: compact)
        for element in elements {
            do {
                try element.writeKafkaElement(into: &self, version: version, compact: compact)
            } catch {
                throw error.nested(in: field)
            }
        }
    }

    /// Writes an array that may be null in this version (`nullable`) or must not be.
    mutating func writeKafkaOptionalArrayField<Element: KafkaWireArrayElement>(
        _ elements: [Element]?, compact: Bool, nullable: Bool, version: Int16, field: String
    ) throws(KafkaEncodingError) {
        guard let elements else {
            guard nullable else { throw KafkaEncodingError.nullNotAllowed(field) }
            self.writeKafkaArrayCount(nil, compact: compact)
            return
        }
        try self.writeKafkaArrayField(elements, compact: compact, version: version, field: field)
    }

    /// Writes a nested (non-array) struct field.
    @inline(__always)
    mutating func writeKafkaStructField<Struct: KafkaWireStruct>(
        _ value: Struct, version: Int16, field: String
    ) throws(KafkaEncodingError) {
        do {
            try value.encodeKafkaFields(into: &self, version: version)
        } catch {
            throw error.nested(in: field)
        }
    }

    /// Writes a tagged-field section holding `fields`, in increasing tag order.
    ///
    /// - Throws: `invalidTaggedFields` if two fields share a tag (an unknown field duplicating a
    ///   known one, for example).
    mutating func writeKafkaTaggedFieldSection(_ fields: [KafkaTaggedField]) throws(KafkaEncodingError) {
        var fields = fields
        if !fields.isEmpty {
            var sorted = true
            for index in fields.indices.dropFirst() where fields[index - 1].tag >= fields[index].tag {
                sorted = false
                break
            }
            if !sorted {
                fields.sort { $0.tag < $1.tag }
                for index in fields.indices.dropFirst() where fields[index - 1].tag == fields[index].tag {
                    throw KafkaEncodingError(
                        .invalidTaggedFields, context: "taggedFields",
                        detail: "tag \(fields[index].tag) appears twice")
                }
            }
        }
        self.writeKafkaUnsignedVarint(UInt32(truncatingIfNeeded: fields.count))
        for field in fields {
            self.writeKafkaUnsignedVarint(field.tag)
            self.writeKafkaUnsignedVarint(UInt32(truncatingIfNeeded: field.data.readableBytes))
            self.writeImmutableBuffer(field.data)
        }
    }
}

extension KafkaEncodingError {
    /// Unknown tagged fields are set, but `version` is not flexible and cannot carry them.
    static func taggedFieldsNotInVersion(_ version: Int16) -> KafkaEncodingError {
        KafkaEncodingError(
            .invalidTaggedFields, context: "unknownTaggedFields",
            detail: "tagged fields are set, but version \(version) is not flexible")
    }

    /// `field` is `nil` where the version does not allow null.
    static func nullNotAllowed(_ field: String) -> KafkaEncodingError {
        KafkaEncodingError(.nullNotAllowed, context: field, detail: "\(field) is nil but this version does not allow null")
    }
}
