import TributaryTestSupport
import NIOCore
import Testing

@testable import KafkaProtocol

/// The raw-pointer record parser (`RecordParser.parseRecord`, the decoding fast path) must accept
/// exactly what the field-by-field `ByteBuffer` parser accepts, and find the same fields.
@Suite("Record batch parser fast path")
struct RecordBatchFastPathTests {
    /// The records section (after `recordsCount`) of an uncompressed batch whose varints take 1 to 5
    /// bytes: null, empty and long keys and values, headers with null values, large and negative
    /// timestamp deltas.
    static func recordsPayload() throws -> [UInt8] {
        let builder = try RecordBatchBuilder(compression: .none)
        var headers = EncodedRecordHeaders()
        let timestamps: [Int64] = [1_700_000_000_000, 1_700_000_000_001, 1_699_999_000_000, 1_800_000_000_000, 0]
        for index in 0..<40 {
            headers.removeAll()
            for header in 0..<(index % 4) {
                header % 2 == 0
                    ? headers.append(key: "h\(header)", value: String(repeating: "v", count: index * 7))
                    : headers.append(key: "h\(header)", value: nil as String?)
            }
            let key: [UInt8]? = index % 5 == 0 ? nil : Array(repeating: 0x6B, count: (index % 3) * 70)
            let value: [UInt8]? = index % 7 == 3 ? nil : Array(repeating: 0x76, count: index * index * 13)
            Self.withOptional(key) { key in
                Self.withOptional(value) { value in
                    builder.append(
                        timestamp: timestamps[index % timestamps.count], key: key, value: value,
                        headers: headers.isEmpty ? nil : headers)
                }
            }
        }
        let batch = try builder.finish()
        return Array(batch.readableBytesView.dropFirst(RecordBatchHeader.size))
    }

    static func withOptional(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> Void) {
        if let bytes { bytes.withUnsafeBytes { body($0) } } else { body(nil) }
    }

    /// Compares both parsers on the record starting at `offset`; returns where it ends, if valid.
    static func compare(_ bytes: [UInt8], at offset: Int, context: String) -> Int? {
        let batch = RecordParser.BatchContext(RecordBatchHeader(baseOffset: 100, baseTimestamp: 5_000))
        var buffer = ByteBuffer(bytes: bytes)
        buffer.moveReaderIndex(forwardBy: offset)
        let slow = try? RecordParser.readRecordFields(from: &buffer, batch: batch)
        let fast = bytes.withUnsafeBytes { RecordParser.parseRecord($0, at: offset) }
        #expect((slow == nil) == (fast == nil), "\(context): ByteBuffer parser \(slow == nil ? "rejects" : "accepts"), fast path \(fast == nil ? "rejects" : "accepts")")
        // The typical-record path may refuse a valid record (the general parser then decides), never accept a bad one.
        let typical = bytes.withUnsafeBytes { bytes in
            bytes.baseAddress.flatMap { RecordParser.parseTypicalRecord(bytes, base: $0, at: offset) }
        }
        if typical != nil {
            #expect(slow != nil, "\(context): typical-record path accepts what the ByteBuffer parser rejects")
        }
        guard let slow, let fast else { return nil }
        if let typical { #expect(typical == fast, "\(context): typical-record path disagrees with parseRecord") }
        func slice(_ start: Int, _ length: Int) -> [UInt8]? {
            length < 0 ? nil : Array(bytes[start..<(start + length)])
        }
        #expect(fast.end == buffer.readerIndex, "\(context): end")
        #expect(Int64(fast.offsetDelta) + 100 == slow.offset && fast.offsetDelta == slow.offsetDelta, "\(context): offset")
        #expect(5_000 &+ fast.timestampDelta == slow.timestamp, "\(context): timestamp")
        #expect(fast.attributes == slow.attributes, "\(context): attributes")
        #expect(slice(fast.keyStart, fast.keyLength) == slow.key.map { Array($0.readableBytesView) }, "\(context): key")
        #expect(slice(fast.valueStart, fast.valueLength) == slow.value.map { Array($0.readableBytesView) }, "\(context): value")
        #expect(fast.headerCount == slow.headers.count, "\(context): header count")
        #expect(
            Array(bytes[fast.headersStart..<fast.end]) == Array(slow.headers.encoded.readableBytesView),
            "\(context): headers")
        return fast.end
    }

    @Test func agreesOnValidRecords() throws {
        let bytes = try Self.recordsPayload()
        var offset = 0
        var records = 0
        while offset < bytes.count, let end = Self.compare(bytes, at: offset, context: "record \(records)") {
            offset = end
            records += 1
        }
        #expect(records == 40 && offset == bytes.count)
    }

    @Test func agreesOnHandMadeEdgeCases() {
        let cases: [(String, [UInt8])] = [
            ("empty", []),
            ("length only", [0x0C]),
            ("6-byte body, all fields 1 byte", [0x0C, 0, 0, 0, 1, 1, 0]),
            ("negative length", [0x01, 0, 0, 0, 1, 1, 0]),
            ("6-byte length varint", [0x8C, 0x80, 0x80, 0x80, 0x80, 0x00]),
            ("5-byte length over 32 bits", [0x8C, 0x80, 0x80, 0x80, 0x10, 0, 0, 0, 1, 1, 0]),
            ("10-byte timestamp varlong", [0x1C, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0, 1, 1, 0]),
            ("timestamp varlong over 64 bits", [0x1C, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02, 0, 1, 1, 0]),
            ("11-byte timestamp varlong", [0x1E, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0, 1, 1, 0]),
            ("key length -2", [0x0C, 0, 0, 0, 3, 1, 0]),
            ("key past the record", [0x0C, 0, 0, 0, 4, 1, 0]),
            ("two-byte value length", [0x0C, 0, 0, 0, 1, 0x80, 0x01, 0]),
            ("headers count too large", [0x0C, 0, 0, 0, 1, 1, 2]),
            ("null header key", [0x10, 0, 0, 0, 1, 1, 2, 1, 1]),
            ("header with null value", [0x10, 0, 0, 0, 1, 1, 2, 0, 1]),
            ("fields end early", [0x0E, 0, 0, 0, 1, 1, 0, 0]),
            ("fields end late", [0x0C, 0, 0, 0, 1, 1, 2, 0, 1]),
        ]
        for (name, bytes) in cases {
            _ = Self.compare(bytes, at: 0, context: name)
        }
    }

    @Test("seeded random mutations: both parsers agree")
    func agreesOnMutations() throws {
        let seed = SplitMix64.testSeed()
        print("RecordBatchFastPathTests.agreesOnMutations seed: \(seed)")
        var random = SplitMix64(seed: seed)
        let original = try Self.recordsPayload()
        var starts: [Int] = []
        var offset = 0
        while offset < original.count, let end = Self.compare(original, at: offset, context: "original") {
            starts.append(offset)
            offset = end
        }
        for round in 0..<500 {
            var bytes = original
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                let index = Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0..<4, using: &random) {
                case 0: bytes[index] = UInt8.random(in: 0...255, using: &random)
                case 1: bytes[index] ^= 1 << UInt8.random(in: 0..<8, using: &random)
                case 2: bytes[index] |= 0x80
                default: bytes.removeSubrange(index..<min(bytes.count, index + Int.random(in: 1...8, using: &random)))
                }
            }
            for start in starts where start < bytes.count {
                _ = Self.compare(bytes, at: start, context: "round \(round), record at \(start) (seed \(seed))")
            }
        }
    }

    /// One record encoded field by field (Kafka's layout), with `lengthAdjustment` added to the true length
    /// (a record length that lies), and `tail` bytes after it (the payload's end, or the next record).
    static func encodedRecord(
        timestampDelta: Int64 = 0, offsetDelta: Int32 = 0, key: [UInt8]? = nil, value: [UInt8]?,
        headers: [(key: [UInt8], value: [UInt8]?)] = [], lengthAdjustment: Int32 = 0
    ) -> [UInt8] {
        var body = ByteBuffer()
        body.writeInteger(UInt8(0))
        body.writeKafkaVarlong(timestampDelta)
        body.writeKafkaVarint(offsetDelta)
        func writeNullable(_ bytes: [UInt8]?) {
            body.writeKafkaVarint(bytes.map { Int32($0.count) } ?? -1)
            if let bytes { body.writeBytes(bytes) }
        }
        writeNullable(key)
        writeNullable(value)
        body.writeKafkaVarint(Int32(headers.count))
        for header in headers {
            body.writeKafkaVarint(Int32(header.key.count))
            body.writeBytes(header.key)
            writeNullable(header.value)
        }
        var record = ByteBuffer()
        record.writeKafkaVarint(Int32(body.readableBytes) + lengthAdjustment)
        record.writeBuffer(&body)
        return Array(record.readableBytesView)
    }

    /// Signed values whose zig-zag varint changes width (1 | 2 | 3 | 4 bytes) and their neighbours.
    static let varintBoundaries: [Int64] = [0, 1, -1, 63, 64, -64, -65, 8191, 8192, -8192, -8193, 1_048_575, 1_048_576]

    @Test("typical-record path: every varint width boundary of every field, with and without tailroom")
    func typicalRecordAtVarintBoundaries() {
        var records: [(String, [UInt8])] = []
        for delta in Self.varintBoundaries {
            records.append(("timestampDelta \(delta)", Self.encodedRecord(timestampDelta: delta, value: Array(repeating: 0x61, count: 20))))
            if let offsetDelta = Int32(exactly: delta) {
                records.append(("offsetDelta \(delta)", Self.encodedRecord(offsetDelta: offsetDelta, value: Array(repeating: 0x61, count: 20))))
            }
        }
        for length in [0, 1, 5, 6, 63, 64, 8191, 8192, 70_000] {
            records.append(("value length \(length)", Self.encodedRecord(value: Array(repeating: 0x76, count: length))))
            records.append(("key length \(length)", Self.encodedRecord(key: Array(repeating: 0x6B, count: length), value: [0x76])))
        }
        records.append(("null value", Self.encodedRecord(key: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], value: nil)))
        records.append(("empty key and value", Self.encodedRecord(key: [], value: [])))
        for count in [1, 2, 63, 64] {
            let headers = (0..<count).map { index -> (key: [UInt8], value: [UInt8]?) in
                (key: Array("h\(index)".utf8), value: index % 2 == 0 ? [0x76] : nil)
            }
            records.append(("\(count) headers", Self.encodedRecord(value: Array(repeating: 0x61, count: 30), headers: headers)))
        }
        for (name, record) in records {
            // Alone (no tailroom: the general parser takes it), then followed by a 4-byte tail (the fast path may).
            #expect(Self.compare(record, at: 0, context: name) == record.count, "\(name): valid record refused")
            #expect(Self.compare(record + [0, 0, 0, 0], at: 0, context: name + " + tail") == record.count)
            // And preceded by another record, as inside a batch.
            let first = Self.encodedRecord(value: Array(repeating: 0x62, count: 40))
            #expect(Self.compare(first + record + [0, 0, 0], at: first.count, context: name + " second") == first.count + record.count)
        }
    }

    @Test("typical-record path takes the common record and refuses records whose length lies")
    func typicalRecordLyingLengths() {
        let value = Array(repeating: UInt8(0x61), count: 100)
        let tail: [UInt8] = [0, 0, 0, 0]
        let honest = Self.encodedRecord(timestampDelta: 300, offsetDelta: 70, value: value)
        let accepted = (honest + tail).withUnsafeBytes { bytes in
            RecordParser.parseTypicalRecord(bytes, base: bytes.baseAddress!, at: 0)
        }
        #expect(accepted?.end == honest.count && accepted?.valueLength == 100 && accepted?.offsetDelta == 70)
        #expect(accepted?.timestampDelta == 300 && accepted?.keyLength == -1 && accepted?.headerCount == 0)
        for adjustment: Int32 in [-100, -8, -2, -1, 1, 2, 3, 4, 8, 200, 5000] {
            let lying = Self.encodedRecord(timestampDelta: 300, offsetDelta: 70, value: value, lengthAdjustment: adjustment)
            for padding in [0, 4, 300] {
                let bytes = lying + Array(repeating: 0, count: padding)
                #expect(Self.compare(bytes, at: 0, context: "length off by \(adjustment), \(padding) bytes after") == nil)
            }
        }
        // A value length that lies (one more, one less) inside an honest record length.
        var longer = honest
        longer[longer.firstIndex(of: 0x61)! - 2] &+= 2
        var shorter = honest
        shorter[shorter.firstIndex(of: 0x61)! - 2] &-= 2
        for (name, bytes) in [("value length + 1", longer), ("value length - 1", shorter)] {
            #expect(Self.compare(bytes + tail, at: 0, context: name) == nil)
        }
    }

    @Test("the visitor over records of every varint width throws what records() throws, or visits the same")
    func visitorAtVarintBoundaries() throws {
        let builder = try RecordBatchBuilder(compression: .none)
        for delta in Self.varintBoundaries where delta >= 0 {
            for length in [0, 63, 64, 8191, 8192] {
                let value = Array(repeating: UInt8(truncatingIfNeeded: length), count: length)
                value.withUnsafeBytes { builder.append(timestamp: 1_700_000_000_000 + delta, key: nil, value: $0) }
            }
        }
        let batch = try builder.finish()
        var reader = RecordBatchReader(batch)
        let decoded = try #require(try reader.next())
        let expected = try decoded.records().map { Array($0.value!.readableBytesView) }
        var visited: [[UInt8]] = []
        _ = try decoded.forEachRecord { record in
            visited.append(Array(record.value!))
            return true
        }
        #expect(visited == expected && visited.count == Self.varintBoundaries.filter { $0 >= 0 }.count * 5)
    }
}
