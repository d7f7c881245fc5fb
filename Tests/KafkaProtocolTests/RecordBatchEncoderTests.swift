import TributaryTestSupport
import NIOCore
import Testing

@testable import KafkaProtocol

/// `RecordBatchBuilder` writes records on raw memory with unchecked arithmetic (its hot path); the
/// bytes must be exactly what the spec's field-by-field encoding gives, written here with the
/// `ByteBuffer` primitives, at every varint size boundary.
@Suite("Record batch builder encoding")
struct RecordBatchEncoderTests {
    /// Lengths whose zig-zag varints change size between neighbours (1 | 2 | 3 | 4 bytes).
    static let boundaryLengths = [0, 1, 63, 64, 8191, 8192, 1_048_575, 1_048_576]

    /// The records section as the spec encodes it: length, attributes, timestampDelta, offsetDelta,
    /// key, value, header count, header bytes.
    static func reference(_ records: [TestRecord]) -> [UInt8] {
        var out = ByteBuffer()
        let base = records.first?.timestamp ?? 0
        for (index, record) in records.enumerated() {
            var body = ByteBuffer()
            body.writeInteger(Int8(0))
            body.writeKafkaVarlong(record.timestamp &- base)
            body.writeKafkaVarint(Int32(index))
            for field in [record.key, record.value] {
                if let field {
                    body.writeKafkaVarint(Int32(field.count))
                    body.writeBytes(field)
                } else {
                    body.writeKafkaVarint(-1)
                }
            }
            body.writeKafkaVarint(Int32(record.headers.count))
            for header in record.headers {
                body.writeKafkaVarint(Int32(header.key.utf8.count))
                body.writeString(header.key)
                if let value = header.value {
                    body.writeKafkaVarint(Int32(value.count))
                    body.writeBytes(value)
                } else {
                    body.writeKafkaVarint(-1)
                }
            }
            out.writeKafkaVarint(Int32(body.readableBytes))
            out.writeBuffer(&body)
        }
        return Array(out.readableBytesView)
    }

    static func recordsSection(_ batch: ByteBuffer) -> [UInt8] {
        Array(batch.readableBytesView.dropFirst(RecordBatchHeader.size))
    }

    @Test("value-only records (the inlined path) at varint boundaries")
    func valueOnlyRecords() throws {
        let base: Int64 = 1_764_072_000_000
        var records: [TestRecord] = []
        // Enough records for 1-, 2- and 3-byte offset deltas; timestamps jump back and far ahead.
        for index in 0..<8_300 {
            // Mostly 0...64 bytes; 8191 and 8192 now and then (keeps the batch a few MiB).
            let length = index % 1_000 >= 998 ? Self.boundaryLengths[4 + index % 2] : Self.boundaryLengths[index % 4]
            let timestamp = index % 97 == 5 ? base - 70_000 : base + Int64(index) * (index % 2 == 0 ? 1 : 1_000)
            records.append(TestRecord(timestamp: timestamp, key: nil, value: [UInt8](repeating: UInt8(index & 0x7f), count: length)))
        }
        records.append(TestRecord(timestamp: base + 1, key: nil, value: [UInt8](repeating: 7, count: 1_048_576)))
        let builder = try RecordBatchBuilder(compression: .none, initialCapacity: 64)
        for record in records {
            record.value!.withUnsafeBytes { builder.append(timestamp: record.timestamp, key: nil, value: $0) }
        }
        #expect(builder.maxTimestamp == records.map(\.timestamp).max())
        let batch = try builder.finish()
        #expect(Self.recordsSection(batch) == Self.reference(records))
    }

    @Test("records with keys, null values and headers at varint boundaries")
    func generalRecords() throws {
        var records: [TestRecord] = []
        for (index, length) in Self.boundaryLengths.enumerated() {
            let bytes = [UInt8](repeating: UInt8(index), count: length)
            records.append(TestRecord(timestamp: Int64(index) * 1_000_003, key: bytes, value: nil))
            records.append(TestRecord(timestamp: -Int64(index), key: [], value: bytes))
            records.append(TestRecord(
                timestamp: Int64.max - Int64(index), key: nil, value: [1, 2, 3],
                headers: [.init(key: "k\(index)", value: bytes), .init(key: "", value: nil)]))
        }
        let builder = try RecordBatchBuilder(compression: .none, initialCapacity: 64)
        var headers = EncodedRecordHeaders()
        for record in records { builder.append(record, headers: &headers) }
        let batch = try builder.finish()
        #expect(Self.recordsSection(batch) == Self.reference(records))
        #expect(try decodeRecords(RecordBatch(bytes: batch)).map(\.record) == records)
    }
}
