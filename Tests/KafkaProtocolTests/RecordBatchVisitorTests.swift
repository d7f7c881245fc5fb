import TributaryTestSupport
import NIOCore
import Testing

@testable import KafkaProtocol

/// `RecordBatch.forEachRecord`: the single-pass borrowing visitor sees what `records()` returns,
/// and refuses what `records()` refuses, with the same error.
@Suite("Record batch visitor")
struct RecordBatchVisitorTests {
    /// A record as the visitor shows it, copied out of the views.
    static func testRecord(_ record: borrowing RecordView) -> TestRecord {
        TestRecord(
            timestamp: record.timestamp, key: record.key.map { Array($0) }, value: record.value.map { Array($0) },
            headers: record.headers.map { TestRecord.Header(key: String(decoding: $0.key, as: UTF8.self), value: $0.value.map { Array($0) }) })
    }

    static func visitAll(
        _ batch: RecordBatch, decompressor: RecordBatchDecompressor? = nil, maxUncompressedBytes: Int? = nil
    ) throws -> [(offset: Int64, record: TestRecord)] {
        var seen: [(offset: Int64, record: TestRecord)] = []
        let count = try batch.forEachRecord(maxUncompressedBytes: maxUncompressedBytes, decompressor: decompressor) { record in
            seen.append((record.offset, testRecord(record)))
            return true
        }
        #expect(count == seen.count)
        return seen
    }

    static func sampleRecords() -> [TestRecord] {
        (0..<40).map { index in
            TestRecord(
                timestamp: 1_700_000_000_000 + Int64(index * 7 % 13), key: index % 3 == 0 ? nil : "key \(index)",
                value: index % 11 == 5 ? nil : String(repeating: "log line \(index) ", count: index % 4 + 1),
                headers: index % 2 == 0 ? [] : [("host", "web-1"), ("origin", index % 5 == 0 ? nil : "o\(index)")])
        }
    }

    @Test("visits what records() returns", arguments: KafkaCompression.allCases)
    func visitsWhatRecordsReturns(compression: KafkaCompression) throws {
        let builder = try RecordBatchBuilder(compression: compression)
        builder.baseOffset = 1_000
        let records = Self.sampleRecords()
        let batch = try RecordBatch(bytes: try encodeBatch(records, with: builder))
        let decompressor = RecordBatchDecompressor()
        let expected = try decodeRecords(batch, decompressor: decompressor)
        for _ in 0..<2 {  // the second time with the decompressor's buffer reused
            let visited = try Self.visitAll(batch, decompressor: decompressor)
            #expect(visited.map(\.offset) == expected.map(\.offset))
            #expect(visited.map(\.record) == expected.map(\.record))
            #expect(visited.map(\.record) == records)
        }
        #expect(try Self.visitAll(batch).map(\.record) == records, "without a decompressor")
    }

    @Test func logAppendTimeAndOffsets() throws {
        let builder = try RecordBatchBuilder(compression: .none)
        builder.baseOffset = 42
        var batch = try RecordBatch(bytes: try encodeBatch(Self.sampleRecords(), with: builder))
        batch.setLogAppendTime(99)
        var timestamps: Set<Int64> = []
        var offsets: [Int64] = []
        _ = try batch.forEachRecord { record in
            timestamps.insert(record.timestamp)
            offsets.append(record.offset)
            #expect(record.offset == 42 + Int64(record.offsetDelta))
            return true
        }
        #expect(timestamps == [99])
        #expect(offsets == Array(42..<82))
    }

    @Test func stopsEarly() throws {
        let batch = try RecordBatch(bytes: try encodeBatch(Self.sampleRecords(), with: RecordBatchBuilder(compression: .lz4)))
        var seen = 0
        let visited = try batch.forEachRecord { _ in
            seen += 1
            return seen < 5
        }
        #expect(visited == 5 && seen == 5)
        struct Stop: Error {}
        #expect(throws: Stop.self) { try batch.forEachRecord { _ in throw Stop() } }
    }

    @Test("an empty batch visits nothing")
    func emptyBatch() throws {
        let builder = try RecordBatchBuilder(compression: .none)
        let batch = try RecordBatch(bytes: try builder.finish())
        #expect(try batch.forEachRecord { _ in Issue.record("visited a record"); return true } == 0)
    }

    @Test("a bad record throws after the records before it were visited")
    func corruptRecordAfterGoodOnes() throws {
        var bytes = RecordBatchCorruptionTests.golden
        // lastOffsetDelta 0: record 1 (offset delta 1) is out of range.
        withUnsafeBytes(of: Int32(0).bigEndian) { for (index, byte) in $0.enumerated() { bytes[23 + index] = byte } }
        RecordBatchCorruptionTests.resign(&bytes)
        let batch = try RecordBatch(bytes: ByteBuffer(bytes: bytes))
        var visited: [Int32] = []
        do {
            _ = try batch.forEachRecord { record in
                visited.append(record.offsetDelta)
                return true
            }
            Issue.record("no error")
        } catch let error as KafkaDecodingError {
            #expect(error.kind == .invalidValue)
            #expect(error.context == "RecordBatch.records[1].offsetDelta", "\(error)")
        }
        #expect(visited == [0])
        #expect(throws: KafkaDecodingError.self) { try batch.records() }
    }

    @Test("seeded random mutations: the visitor and records() fail alike")
    func agreesWithRecordsOnMutations() throws {
        let seed = SplitMix64.testSeed()
        print("RecordBatchVisitorTests.agreesWithRecordsOnMutations seed: \(seed)")
        var random = SplitMix64(seed: seed)
        var originals: [[UInt8]] = [RecordBatchCorruptionTests.golden]
        for compression in KafkaCompression.allCases {
            let builder = try RecordBatchBuilder(compression: compression)
            originals.append(Array(try encodeBatch(Array(Self.sampleRecords().prefix(8)), with: builder).readableBytesView))
        }
        for round in 0..<2_000 {
            var bytes = originals[round % originals.count]
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                let index = Int.random(in: 61..<bytes.count, using: &random)
                if Bool.random(using: &random) {
                    bytes[index] = UInt8.random(in: 0...255, using: &random)
                } else {
                    bytes[index] ^= 1 << UInt8.random(in: 0..<8, using: &random)
                }
            }
            RecordBatchCorruptionTests.resign(&bytes)
            guard let batch = try? RecordBatch(bytes: ByteBuffer(bytes: bytes)) else { continue }
            let expected: Result<[(offset: Int64, record: TestRecord)], KafkaDecodingError> = Result { () throws(KafkaDecodingError) in
                let records = try batch.records(maxUncompressedBytes: 1 << 20)
                return records.map { ($0.offset, TestRecord($0)) }
            }
            var visited: [(offset: Int64, record: TestRecord)] = []
            var visitError: KafkaDecodingError?
            do {
                _ = try batch.forEachRecord(maxUncompressedBytes: 1 << 20) { record in
                    visited.append((record.offset, Self.testRecord(record)))
                    return true
                }
            } catch let error as KafkaDecodingError {
                visitError = error
            }
            switch expected {
            case .success(let records):
                #expect(visitError == nil, "seed \(seed) round \(round)")
                #expect(visited.map(\.record) == records.map(\.record), "seed \(seed) round \(round)")
                #expect(visited.map(\.offset) == records.map(\.offset), "seed \(seed) round \(round)")
            case .failure(let error):
                #expect(visitError == error, "seed \(seed) round \(round)")
                #expect(error.detail != "records failed validation", "seed \(seed) round \(round)")
            }
        }
    }
}
