import TributaryTestSupport
import Compression
import NIOCore
import Testing

@testable import KafkaProtocol

@Suite("Record batch v2 encoding and decoding")
struct RecordBatchTests {
    static let baseTimestamp: Int64 = 1_700_000_000_000  // 0x0000018BCFE56800

    /// The golden batch's records: a key and a header; a null key, empty value and null header
    /// value; an empty key, null value and a negative timestamp delta.
    static let goldenRecords = [
        TestRecord(timestamp: baseTimestamp, key: "k", value: "hello", headers: [("host", "a")]),
        TestRecord(timestamp: baseTimestamp + 5, key: nil, value: "", headers: [("h", nil)]),
        TestRecord(timestamp: baseTimestamp - 3, key: "", value: nil),
    ]

    /// The golden batch written out field by field from the spec (docs/implementation.html §5.3).
    static let goldenBytes: [UInt8] = [
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // baseOffset 0
        0x00, 0x00, 0x00, 0x56,  // batchLength 86 = 49 + 37 bytes of records
        0xFF, 0xFF, 0xFF, 0xFF,  // partitionLeaderEpoch -1
        0x02,  // magic
        0xC8, 0x3C, 0x15, 0x26,  // crc (CRC-32C of everything below; also computed by kafka-python)
        0x00, 0x00,  // attributes: no compression, CreateTime
        0x00, 0x00, 0x00, 0x02,  // lastOffsetDelta 2
        0x00, 0x00, 0x01, 0x8B, 0xCF, 0xE5, 0x68, 0x00,  // baseTimestamp 1_700_000_000_000
        0x00, 0x00, 0x01, 0x8B, 0xCF, 0xE5, 0x68, 0x05,  // maxTimestamp +5
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2A,  // producerId 42
        0x00, 0x03,  // producerEpoch 3
        0x00, 0x00, 0x00, 0x07,  // baseSequence 7
        0x00, 0x00, 0x00, 0x03,  // recordsCount 3
        // record 0 (varints zig-zag)
        0x26,  // length 19
        0x00,  // attributes
        0x00,  // timestampDelta 0
        0x00,  // offsetDelta 0
        0x02, 0x6B,  // key length 1, "k"
        0x0A, 0x68, 0x65, 0x6C, 0x6C, 0x6F,  // value length 5, "hello"
        0x02,  // 1 header
        0x08, 0x68, 0x6F, 0x73, 0x74,  // key length 4, "host"
        0x02, 0x61,  // value length 1, "a"
        // record 1
        0x12,  // length 9
        0x00,  // attributes
        0x0A,  // timestampDelta 5
        0x02,  // offsetDelta 1
        0x01,  // key length -1 (null)
        0x00,  // value length 0 (empty)
        0x02,  // 1 header
        0x02, 0x68,  // key length 1, "h"
        0x01,  // value length -1 (null)
        // record 2
        0x0C,  // length 6
        0x00,  // attributes
        0x05,  // timestampDelta -3
        0x04,  // offsetDelta 2
        0x00,  // key length 0 (empty)
        0x01,  // value length -1 (null)
        0x00,  // no headers
    ]

    static func goldenBuilder() throws -> RecordBatchBuilder {
        let builder = try RecordBatchBuilder()
        builder.producerId = 42
        builder.producerEpoch = 3
        builder.baseSequence = 7
        return builder
    }

    @Test func encodesTheGoldenBatchByteForByte() throws {
        let encoded = try encodeBatch(Self.goldenRecords, with: Self.goldenBuilder())
        #expect(Array(encoded.readableBytesView) == Self.goldenBytes)
    }

    @Test func decodesTheGoldenBatch() throws {
        var input = ByteBuffer(bytes: Self.goldenBytes)
        let batch = try RecordBatch(from: &input)
        #expect(input.readableBytes == 0)
        #expect(batch.header == RecordBatchHeader(
            baseOffset: 0, batchLength: 86, partitionLeaderEpoch: -1, magic: 2, crc: 0xC83C_1526,
            attributes: RecordBatchAttributes(), lastOffsetDelta: 2,
            baseTimestamp: Self.baseTimestamp, maxTimestamp: Self.baseTimestamp + 5,
            producerId: 42, producerEpoch: 3, baseSequence: 7, recordsCount: 3))
        #expect(batch.isChecksumValid)
        let records = try decodeRecords(batch)
        #expect(records.map(\.offset) == [0, 1, 2])
        #expect(records.map(\.record) == Self.goldenRecords)
    }

    @Test func headerParsingDoesNotConsume() throws {
        let buffer = ByteBuffer(bytes: Self.goldenBytes)
        let header = try RecordBatchHeader(from: buffer)
        #expect(buffer.readerIndex == 0)
        #expect(header.totalSize == Self.goldenBytes.count)
        #expect(header.lastOffset == 2 && header.nextOffset == 3)
        #expect(try buffer.getKafkaRecordBatchHeader(at: 0) == header)
        var rewritten = ByteBuffer()
        header.write(to: &rewritten)
        #expect(Array(rewritten.readableBytesView) == Array(Self.goldenBytes.prefix(RecordBatchHeader.size)))
    }

    @Test func fieldOffsetsMatchTheSpec() {
        typealias Offset = RecordBatchHeader.FieldOffset
        #expect(RecordBatchHeader.size == 61)
        #expect([Offset.baseOffset, Offset.batchLength, Offset.partitionLeaderEpoch, Offset.magic, Offset.crc,
                 Offset.attributes, Offset.lastOffsetDelta, Offset.baseTimestamp, Offset.maxTimestamp,
                 Offset.producerId, Offset.producerEpoch, Offset.baseSequence, Offset.recordsCount, Offset.records]
                == [0, 8, 12, 16, 17, 21, 23, 27, 35, 43, 51, 53, 57, 61])
    }

    @Test func attributesRoundTrip() throws {
        for raw in Int16(0)...0x7F where raw & 7 <= 4 {
            let attributes = try RecordBatchAttributes(rawValue: raw)
            #expect(attributes.rawValue == raw)
        }
        let all = try RecordBatchAttributes(rawValue: 0x7C | 0x100)  // unused bit 8 ignored
        #expect(all == RecordBatchAttributes(
            compression: .zstd, timestampType: .logAppendTime, isTransactional: true, isControl: true,
            hasDeleteHorizon: true))
        for codec in Int16(5)...7 {
            #expect(throws: KafkaDecodingError.self) { try RecordBatchAttributes(rawValue: codec) }
        }
        for compression in KafkaCompression.allCases {
            #expect(KafkaCompression(compression.algorithm) == compression)
        }
    }

    // MARK: Round trips

    /// Lines of every loghub sample with agent-like headers and keys.
    static func logRecords(limit: Int, random: inout SplitMix64) -> [TestRecord] {
        var records: [TestRecord] = []
        var timestamp = baseTimestamp
        for file in LogCorpus.files {
            for (index, line) in file.lines.prefix(limit).enumerated() {
                timestamp += Int64.random(in: -50...1_000, using: &random)
                let key: String? = switch index % 3 { case 0: "host-\(index % 7)"; case 1: nil; default: "" }
                records.append(TestRecord(
                    timestamp: timestamp, key: key, value: line,
                    headers: [("host", "host-\(index % 7)"), ("source", "/var/log/\(file.name)"),
                              ("origin", "fp-\(file.name):\(index * 80)"), ("truncated", index % 11 == 0 ? nil : "no")]))
            }
        }
        return records
    }

    @Test("log lines round-trip", arguments: KafkaCompression.allCases)
    func logLinesRoundTrip(compression: KafkaCompression) throws {
        try #require(LogCorpus.isAvailable, "loghub samples not found at \(TestPaths.loghub)")
        var random = SplitMix64(seed: 7)
        let records = Self.logRecords(limit: 300, random: &random)
        #expect(records.count >= 2_000, "7 loghub files x 300 lines")
        #expect(records.allSatisfy { $0.value!.count < 1_000 && !$0.value!.contains(0x0A) }, "split into lines")
        let builder = try RecordBatchBuilder(compression: compression)
        let decompressor = RecordBatchDecompressor()
        // Two batches from one builder: the second reuses its buffers and must not carry anything over.
        let half = records.count / 2
        for chunk in [records[..<half], records[half...]] {
            let encoded = try encodeBatch(Array(chunk), with: builder)
            let batch = try RecordBatch(bytes: encoded)
            #expect(batch.header.attributes.compression == compression)
            #expect(batch.header.recordsCount == Int32(chunk.count))
            #expect(batch.header.lastOffsetDelta == Int32(chunk.count - 1))
            #expect(batch.header.maxTimestamp == chunk.map(\.timestamp).max())
            #expect(batch.header.baseTimestamp == chunk.first!.timestamp)
            let decoded = try decodeRecords(batch, decompressor: decompressor)
            #expect(decoded.map(\.offset) == Array(0..<Int64(chunk.count)))
            #expect(decoded.map(\.record) == Array(chunk))
            if compression != .none {
                #expect(batch.size < builder.encodedSizeUncompressed(chunk), "compression shrinks log lines")
            }
        }
    }

    @Test("edge-case records round-trip", arguments: KafkaCompression.allCases)
    func edgeCasesRoundTrip(compression: KafkaCompression) throws {
        let big = [UInt8](repeating: 0x61, count: 300_000)
        let records = [
            TestRecord(timestamp: 0, key: nil, value: nil),
            TestRecord(timestamp: Int64.max, key: [], value: []),  // huge positive delta
            TestRecord(timestamp: Int64.min, key: [0xFF], value: nil, headers: [.init(key: "", value: [])]),
            TestRecord(timestamp: -1, key: big, value: big, headers: [.init(key: "ü-ключ", value: nil)]),
            TestRecord(
                timestamp: 12345, key: nil, value: [0, 1, 2],
                headers: (0..<200).map { .init(key: "h\($0)", value: $0 % 2 == 0 ? nil : Array("\($0)".utf8)) }),
        ]
        let builder = try RecordBatchBuilder(compression: compression)
        builder.baseOffset = 1_000_000
        builder.partitionLeaderEpoch = 9
        builder.producerId = 123_456_789_012
        builder.producerEpoch = 32_000
        builder.baseSequence = Int32.max - 10
        builder.isTransactional = true
        let batch = try RecordBatch(bytes: encodeBatch(records, with: builder))
        #expect(batch.header.baseOffset == 1_000_000)
        #expect(batch.header.partitionLeaderEpoch == 9)
        #expect(batch.header.producerId == 123_456_789_012)
        #expect(batch.header.producerEpoch == 32_000)
        #expect(batch.header.baseSequence == Int32.max - 10)
        #expect(batch.header.attributes.isTransactional && !batch.header.attributes.isControl)
        #expect(batch.header.maxTimestamp == Int64.max)
        let decoded = try decodeRecords(batch)
        #expect(decoded.map(\.offset) == (0..<5).map { 1_000_000 + $0 })
        #expect(decoded.map(\.record) == records)
        let viaNext = try batch.records()
        #expect(viaNext.count == 5)
        let headers = viaNext.first { $0.offsetDelta == 4 }!.headers
        #expect(headers.count == 200)
        #expect(headers.first(named: "h7")?.value.map { String(buffer: $0) } == "7")
        #expect(headers.first(named: "h8").map { $0.value == nil } == true)
        #expect(headers.first(named: "nope") == nil)
    }

    @Test func controlBatchAndLogAppendTime() throws {
        let builder = try RecordBatchBuilder()
        builder.isControl = true
        builder.isTransactional = true
        builder.producerId = 5
        builder.producerEpoch = 0
        // A commit marker: key = version 0, type 1; value = version 0, coordinator epoch 3.
        let key: [UInt8] = [0, 0, 0, 1]
        let value: [UInt8] = [0, 0, 0, 0, 0, 3]
        let record = TestRecord(timestamp: 77, key: key, value: value)
        var batch = try RecordBatch(bytes: encodeBatch([record], with: builder))
        #expect(batch.header.attributes.isControl && batch.header.attributes.isTransactional)
        #expect(try decodeRecords(batch).map(\.record) == [record])

        batch.setLogAppendTime(9_999)
        #expect(batch.isChecksumValid)
        let reread = try RecordBatch(bytes: batch.bytes)
        #expect(reread.header.attributes.timestampType == .logAppendTime)
        #expect(reread.header.maxTimestamp == 9_999)
        #expect(try decodeRecords(reread).map(\.record.timestamp) == [9_999])
    }

    @Test func emptyBatch() throws {
        let builder = try RecordBatchBuilder(compression: .lz4)
        let batch = try RecordBatch(bytes: builder.finish())
        #expect(batch.header.recordsCount == 0)
        #expect(batch.header.lastOffsetDelta == -1)
        #expect(batch.header.baseTimestamp == -1 && batch.header.maxTimestamp == -1)
        #expect(try decodeRecords(batch).isEmpty)
    }

    @Test func sizeAccounting() throws {
        let builder = try RecordBatchBuilder()
        var headers = EncodedRecordHeaders()
        headers.append(key: "host", value: "web-1")
        headers.append(key: "origin", value: ByteBuffer(string: "abc:42"))
        #expect(builder.sizeInBytes == RecordBatchHeader.size && builder.isEmpty)
        var random = SplitMix64(seed: 1)
        for index in 0..<500 {
            let timestamp = Self.baseTimestamp + Int64.random(in: -100_000...100_000, using: &random)
            let value = random.bytes(Int.random(in: 0...300, using: &random))
            let key: [UInt8]? = index % 2 == 0 ? nil : random.bytes(index % 20)
            let predicted = builder.encodedSize(
                ofRecordWithTimestamp: timestamp, keyLength: key?.count, valueLength: value.count,
                headers: index % 3 == 0 ? nil : headers)
            let before = builder.sizeInBytes
            withOptionalBytes(key) { key in
                value.withUnsafeBytes { value in
                    builder.append(timestamp: timestamp, key: key, value: value, headers: index % 3 == 0 ? nil : headers)
                }
            }
            #expect(builder.sizeInBytes - before == predicted, "record \(index)")
        }
        let expectedSize = builder.sizeInBytes
        #expect(try builder.finish().readableBytes == expectedSize)
    }

    @Test func byteBufferAppendAndHeaderOverloads() throws {
        let builder = try RecordBatchBuilder(compression: .zstd, compressionLevel: 5)
        var headers = EncodedRecordHeaders()
        headers.append(key: "a", value: "text")
        headers.append(key: "b", value: ByteBuffer(string: "buffer"))
        headers.append(key: "c", value: nil)
        "raw".utf8.withContiguousStorageIfAvailable { headers.append(keyBytes: UnsafeRawBufferPointer($0), value: nil) }
        var more = EncodedRecordHeaders()
        more.append(contentsOf: headers)
        more.append(key: "d", value: "last")
        #expect(more.count == 5)
        builder.append(timestamp: 1, key: ByteBuffer(string: "key"), value: ByteBuffer(string: "value"), headers: more)
        builder.append(timestamp: 2, key: nil, value: ByteBuffer(string: "v2"))
        builder.append(timestamp: 3, key: nil, value: nil)
        let decoded = try decodeRecords(RecordBatch(bytes: builder.finish()))
        #expect(decoded.map(\.record) == [
            TestRecord(timestamp: 1, key: "key", value: "value",
                       headers: [("a", "text"), ("b", "buffer"), ("c", nil), ("raw", nil), ("d", "last")]),
            TestRecord(timestamp: 2, key: nil, value: "v2"),
            TestRecord(timestamp: 3, key: nil, value: nil),
        ])
    }

    @Test func invalidCompressionLevelThrows() {
        #expect(throws: CompressionError.self) { try RecordBatchBuilder(compression: .gzip, compressionLevel: 42) }
    }

    // MARK: Broker helpers

    @Test func brokerFieldsOutsideTheCRC() throws {
        var buffer = ByteBuffer(bytes: Self.goldenBytes)
        buffer.setKafkaRecordBatchBaseOffset(1 << 40, batchAt: 0)
        buffer.setKafkaRecordBatchPartitionLeaderEpoch(17, batchAt: 0)
        var batch = try RecordBatch(bytes: buffer)
        #expect(batch.isChecksumValid)
        #expect(batch.header.baseOffset == 1 << 40 && batch.header.partitionLeaderEpoch == 17)
        #expect(try decodeRecords(batch).map(\.offset) == [1 << 40, (1 << 40) + 1, (1 << 40) + 2])

        batch.setBaseOffset(500)
        batch.setPartitionLeaderEpoch(3)
        #expect(batch.isChecksumValid)
        #expect(try RecordBatch(bytes: batch.bytes).header == batch.header)

        batch.setProducerState(producerId: 99, producerEpoch: 1, baseSequence: 1000)
        #expect(batch.isChecksumValid)
        let reread = try RecordBatch(bytes: batch.bytes)
        #expect(reread.header == batch.header)
        #expect(reread.header.producerId == 99 && reread.header.baseSequence == 1000)
    }
}

extension RecordBatchBuilder {
    /// The uncompressed size these records would take as one batch.
    func encodedSizeUncompressed(_ records: ArraySlice<TestRecord>) -> Int {
        records.reduce(RecordBatchHeader.size) { $0 + $1.approximateSize }
    }
}

extension TestRecord {
    var approximateSize: Int {
        (key?.count ?? 0) + (value?.count ?? 0) + headers.reduce(0) { $0 + $1.key.utf8.count + ($1.value?.count ?? 0) } + 7
    }
}
