import Foundation
import KafkaProtocol
import NIOCore
import Testing
import TributaryTestSupport

/// Live interop with kafka-python 2.3.3 (`kafka.record.default_records`), an independent
/// implementation: Swift-encoded batches decoded by Python and Python-built batches decoded here,
/// for every codec. Skipped (visibly) when python3 or kafka-python and its codec modules are missing.
@Suite("Record batch interop with kafka-python", .enabled(if: Python.isKafkaPythonAvailable, "needs python3 with kafka-python, lz4, zstandard, python-snappy"))
struct RecordBatchInteropTests {
    /// The JSON both scripts print or write per batch.
    struct DecodedBatch: Decodable {
        struct DecodedRecord: Decodable {
            var offset: Int64
            var timestamp: Int64
            var key: String?  // hex
            var value: String?  // hex
            var headers: [[String?]]  // [key, hex value or null]
        }

        var compression: Int16
        var baseOffset: Int64
        var producerId: Int64
        var producerEpoch: Int16
        var baseSequence: Int32
        var isTransactional: Bool
        var records: [DecodedRecord]

        func testRecords() -> [(offset: Int64, record: TestRecord)] {
            records.map { record in
                (record.offset, TestRecord(
                    timestamp: record.timestamp, key: record.key.map(Self.unhex), value: record.value.map(Self.unhex),
                    headers: record.headers.map { TestRecord.Header(key: $0[0] ?? "", value: $0[1].map(Self.unhex)) }))
            }
        }

        static func unhex(_ text: String) -> [UInt8] {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(text.utf8.count / 2)
            var iterator = text.utf8.makeIterator()
            func nibble(_ c: UInt8) -> UInt8 { c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x61 + 10 }
            while let high = iterator.next(), let low = iterator.next() {
                bytes.append(nibble(high) << 4 | nibble(low))
            }
            return bytes
        }
    }

    static let pythonDecoder = """
        import json, sys
        from kafka.record.default_records import DefaultRecordBatch
        def hx(b): return None if b is None else bytes(b).hex()
        out = []
        for path in sys.argv[1:]:
            data = open(path, 'rb').read()
            batch = DefaultRecordBatch(data)
            assert batch.size_in_bytes == len(data), (batch.size_in_bytes, len(data))
            assert batch.validate_crc(), 'CRC mismatch in ' + path
            out.append(dict(
                compression=batch.compression_type, baseOffset=batch.base_offset,
                producerId=batch.producer_id, producerEpoch=batch.producer_epoch,
                baseSequence=batch.base_sequence, isTransactional=bool(batch.is_transactional),
                records=[dict(offset=r.offset, timestamp=r.timestamp, key=hx(r.key), value=hx(r.value),
                              headers=[[k, hx(v)] for k, v in r.headers]) for r in batch]))
        print(json.dumps(out))
        """

    /// Builds one batch per codec from lines of a log file; writes `<codec>.bin` and `<codec>.json`.
    static let pythonEncoder = """
        import json, sys
        from kafka.record.default_records import DefaultRecordBatchBuilder
        directory, log = sys.argv[1], sys.argv[2]
        lines = open(log, 'rb').read().split(b'\\n')[:400]
        for codec in range(5):
            builder = DefaultRecordBatchBuilder(magic=2, compression_type=codec, is_transactional=0,
                                                producer_id=1000 + codec, producer_epoch=2, base_sequence=50,
                                                batch_size=1 << 30)
            expected = []
            ts = 1_700_000_000_000
            for i, line in enumerate(lines):
                ts += (i * 37) % 1000 - 200
                key = None if i % 3 == 0 else (b'' if i % 3 == 1 else ('host-%d' % (i % 5)).encode())
                value = None if i == 7 else line
                headers = [('host', b'web-1'), ('source', log.encode()), ('origin', None if i % 4 == 0 else b'o%d' % i)]
                assert builder.append(i, timestamp=ts, key=key, value=value, headers=headers) is not None
                expected.append(dict(offset=i, timestamp=ts, key=None if key is None else key.hex(),
                                     value=None if value is None else value.hex(),
                                     headers=[[k, None if v is None else v.hex()] for k, v in headers]))
            open('%s/%d.bin' % (directory, codec), 'wb').write(bytes(builder.build()))
            json.dump(dict(compression=codec, baseOffset=0, producerId=1000 + codec, producerEpoch=2,
                           baseSequence=50, isTransactional=False, records=expected),
                      open('%s/%d.json' % (directory, codec), 'w'))
        """

    @Test func pythonDecodesSwiftBatches() throws {
        try #require(LogCorpus.isAvailable, "loghub samples not found at \(TestPaths.loghub)")
        let directory = try TemporaryDirectory(prefix: "tributary-batch-interop")
        defer { directory.remove() }
        var random = SplitMix64(seed: 11)
        var expected: [[TestRecord]] = []
        var paths: [String] = []
        for compression in KafkaCompression.allCases {
            var records = RecordBatchTests.logRecords(limit: 40, random: &random)
            records += [
                TestRecord(timestamp: 5, key: nil, value: nil, headers: [.init(key: "origin", value: nil)]),
                TestRecord(timestamp: Int64.max / 2, key: [], value: [0, 0xFF, 0x80]),
            ]
            let builder = try RecordBatchBuilder(compression: compression)
            builder.producerId = 77
            builder.producerEpoch = 4
            builder.baseSequence = 1_000
            builder.baseOffset = 500
            let batch = try encodeBatch(records, with: builder)
            let path = "\(directory.path)/\(compression).bin"
            try Data(batch.readableBytesView).write(to: URL(fileURLWithPath: path))
            paths.append(path)
            expected.append(records)
        }
        let output = try Python.run(Self.pythonDecoder, arguments: paths)
        let decoded = try JSONDecoder().decode([DecodedBatch].self, from: Data(output.utf8))
        try #require(decoded.count == KafkaCompression.allCases.count)
        for (index, compression) in KafkaCompression.allCases.enumerated() {
            let batch = decoded[index]
            #expect(batch.compression == compression.rawValue)
            #expect(batch.baseOffset == 500 && batch.producerId == 77 && batch.producerEpoch == 4 && batch.baseSequence == 1_000)
            let records = batch.testRecords()
            #expect(records.map(\.offset) == (0..<Int64(expected[index].count)).map { 500 + $0 }, "\(compression)")
            #expect(records.map(\.record) == expected[index], "\(compression)")
        }
    }

    @Test func swiftDecodesPythonBatches() throws {
        try #require(LogCorpus.isAvailable, "loghub samples not found at \(TestPaths.loghub)")
        let directory = try TemporaryDirectory(prefix: "tributary-batch-interop")
        defer { directory.remove() }
        try Python.run(Self.pythonEncoder, arguments: [directory.path, "\(TestPaths.loghub)/OpenSSH_2k.log"])
        let decompressor = RecordBatchDecompressor()
        for compression in KafkaCompression.allCases {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: "\(directory.path)/\(compression.rawValue).bin"))
            let json = try Data(contentsOf: URL(fileURLWithPath: "\(directory.path)/\(compression.rawValue).json"))
            let expected = try JSONDecoder().decode(DecodedBatch.self, from: json)
            var reader = RecordBatchReader(ByteBuffer(bytes: bytes))
            let batches = try reader.readAll()
            #expect(batches.count == 1 && !reader.stoppedEarly)
            let batch = try #require(batches.first)
            #expect(batch.header.attributes.compression == compression, "kafka-python kept \(compression)")
            #expect(batch.header.producerId == expected.producerId && batch.header.baseSequence == 50)
            #expect(batch.header.producerEpoch == 2 && batch.header.recordsCount == Int32(expected.records.count))
            let records = try decodeRecords(batch, decompressor: decompressor)
            let wanted = expected.testRecords()
            #expect(records.map(\.offset) == wanted.map(\.offset), "\(compression)")
            #expect(records.map(\.record) == wanted.map(\.record), "\(compression)")
        }
    }

    @Test func pythonBuildsTheGoldenBatchIdentically() throws {
        let script = """
            import sys
            from kafka.record.default_records import DefaultRecordBatchBuilder
            b = DefaultRecordBatchBuilder(magic=2, compression_type=0, is_transactional=0,
                                          producer_id=42, producer_epoch=3, base_sequence=7, batch_size=1 << 20)
            base = 1_700_000_000_000
            b.append(0, timestamp=base, key=b'k', value=b'hello', headers=[('host', b'a')])
            b.append(1, timestamp=base + 5, key=None, value=b'', headers=[('h', None)])
            b.append(2, timestamp=base - 3, key=b'', value=None, headers=[])
            sys.stdout.write(bytes(b.build()).hex())
            """
        let python = DecodedBatch.unhex(try Python.run(script, arguments: []))
        var golden = RecordBatchTests.goldenBytes
        // kafka-python writes partitionLeaderEpoch 0 where producers conventionally send -1; it is outside the CRC.
        golden.replaceSubrange(12..<16, with: [0, 0, 0, 0])
        #expect(python == golden)
    }
}
