@testable import KafkaBroker
import KafkaProtocol
import NIOCore
import Testing
import TributaryTestSupport

@Suite("Storage: partition log")
struct StoragePartitionLogTests {
    @Test("append and read round trip across segment rolls, offsets contiguous")
    func roundTripAcrossRolls() async throws {
        let fixture = try StorageFixture(indexIntervalBytes: 256)
        let (manager, log) = try fixture.openWithTopic(configs: ["segment.bytes": "2000"])
        var expected: [String] = []
        var nextOffset: Int64 = 0
        for batch in 0..<40 {
            let count = 1 + batch % 7
            let result = try await log.appendDurably(try TestBatches.make(count: count, prefix: "b\(batch)"))
            #expect(result.baseOffset == nextOffset)
            #expect(result.lastOffset == nextOffset + Int64(count) - 1)
            #expect(!result.isDuplicate)
            nextOffset += Int64(count)
            expected += (0..<count).map { "b\(batch)-\($0)" }
        }
        #expect(log.segmentCount >= 3, "segment.bytes 2000 should have rolled several times")
        #expect(log.highWatermark == nextOffset)
        let records = try log.readAll(maxBytes: 300)
        #expect(records.map(\.value) == expected)
        #expect(records.map(\.offset) == Array(0..<nextOffset))
        // Stored batches carry the assigned offsets and leader epoch 0.
        let first = try log.read(from: 0, maxBytes: 1 << 20)
        #expect(try TestBatches.headers(first.records).allSatisfy { $0.partitionLeaderEpoch == 0 })
        try manager.close()

        // The same after a clean reopen.
        let reopened = try fixture.open()
        let log2 = try #require(reopened.partition(topic: "logs", index: 0))
        #expect(log2.highWatermark == nextOffset)
        #expect(try log2.readAll(maxBytes: 300).map(\.value) == expected)
        let more = try await log2.appendDurably(try TestBatches.make(count: 2))
        #expect(more.baseOffset == nextOffset)
        try reopened.close()
    }

    @Test("a read from the middle of a batch returns the whole batch")
    func readFromMiddle() async throws {
        let fixture = try StorageFixture()
        let (manager, log) = try fixture.openWithTopic()
        try await log.appendDurably(try TestBatches.make(count: 5, prefix: "a"))
        try await log.appendDurably(try TestBatches.make(count: 5, prefix: "b"))
        let read = try log.read(from: 7, maxBytes: 1 << 20)
        let headers = try TestBatches.headers(read.records)
        #expect(headers.map(\.baseOffset) == [5])
        #expect(try TestBatches.records(read.records).map(\.value) == (0..<5).map { "b-\($0)" })
        #expect(read.highWatermark == 10)
        #expect(read.lastStableOffset == 10)
        #expect(read.logStartOffset == 0)
        // At the high watermark: nothing, no error. Beyond: out of range.
        #expect(try log.read(from: 10, maxBytes: 100).records.readableBytes == 0)
        #expect(throws: StorageError.self) { try log.read(from: 11, maxBytes: 100) }
        do {
            _ = try log.read(from: 11, maxBytes: 100)
        } catch {
            #expect(error.code == .offsetOutOfRange)
        }
        try manager.close()
    }

    @Test("maxBytes: whole batches only, the first one even if larger unless minOneBatch is false")
    func maxBytes() async throws {
        let fixture = try StorageFixture()
        let (manager, log) = try fixture.openWithTopic()
        let one = try TestBatches.make(count: 3)
        try await log.appendDurably(one)
        try await log.appendDurably(try TestBatches.make(count: 3))
        let size = one.readableBytes
        #expect(try TestBatches.headers(log.read(from: 0, maxBytes: 10).records).count == 1)
        #expect(try log.read(from: 0, maxBytes: 10, minOneBatch: false).records.readableBytes == 0)
        #expect(try TestBatches.headers(log.read(from: 0, maxBytes: size + 5).records).count == 1)
        #expect(try TestBatches.headers(log.read(from: 0, maxBytes: 2 * size).records).count == 2)
        try manager.close()
    }

    @Test("reads stop at the high watermark: appended but not yet fsync'd data is invisible")
    func highWatermark() async throws {
        let fixture = try StorageFixture()
        let (manager, log) = try fixture.openWithTopic()
        try await log.appendDurably(try TestBatches.make(count: 2))
        let pending = try log.append(try TestBatches.make(count: 3), now: 1)
        #expect(log.logEndOffset == 5)
        #expect(log.highWatermark == 2)
        let read = try log.read(from: 0, maxBytes: 1 << 20)
        #expect(try TestBatches.headers(read.records).map(\.baseOffset) == [0])
        #expect(throws: StorageError.self) { try log.read(from: 3, maxBytes: 100) }
        try await log.waitDurable(through: pending.lastOffset)
        #expect(log.highWatermark == 5)
        #expect(try log.readAll().count == 5)
        try manager.close()
    }

    @Test("bad produce data is rejected and nothing is appended")
    func rejects() async throws {
        let fixture = try StorageFixture()
        let (manager, log) = try fixture.openWithTopic(configs: ["max.message.bytes": "500"])
        var corrupt = try TestBatches.make(count: 3)
        corrupt.setInteger(UInt8(0x55), at: corrupt.writerIndex - 1)
        #expect(storageErrorCode { _ = try log.append(corrupt, now: 0) } == .corruptMessage)
        let whole = try TestBatches.make(count: 3)
        #expect(storageErrorCode { _ = try log.append(whole.getSlice(at: 0, length: whole.readableBytes - 4)!, now: 0) } == .corruptMessage)
        var twoAndHalf = whole
        twoAndHalf.writeImmutableBuffer(whole.getSlice(at: 0, length: 30)!)
        #expect(storageErrorCode { _ = try log.append(twoAndHalf, now: 0) } == .corruptMessage)
        #expect(storageErrorCode { _ = try log.append(ByteBuffer(), now: 0) } == .corruptMessage)
        let big = try TestBatches.make(count: 10, valueSize: 100)
        #expect(storageErrorCode { _ = try log.append(big, now: 0) } == .messageTooLarge)
        #expect(log.logEndOffset == 0)
        #expect(try log.append(whole, now: 0).baseOffset == 0)
        try manager.close()
    }

    @Test("ListOffsets by timestamp via the time index")
    func offsetForTimestamp() async throws {
        let fixture = try StorageFixture(indexIntervalBytes: 100)
        let (manager, log) = try fixture.openWithTopic(configs: ["segment.bytes": "1000"])
        // Batch i holds 4 records with timestamps 10_000 + 100 * i + 0...3.
        for i in 0..<30 {
            try await log.appendDurably(try TestBatches.make(count: 4, timestamp: 10_000 + 100 * Int64(i)))
        }
        #expect(log.segmentCount > 2)
        #expect(try log.offset(forTimestamp: 0)! == (0, 10_000))
        #expect(try log.offset(forTimestamp: 10_000)! == (0, 10_000))
        #expect(try log.offset(forTimestamp: 10_002)! == (2, 10_002))
        #expect(try log.offset(forTimestamp: 10_004)! == (4, 10_100))
        #expect(try log.offset(forTimestamp: 11_503)! == (63, 11_503))
        #expect(try log.offset(forTimestamp: 12_903)! == (119, 12_903))
        #expect(try log.offset(forTimestamp: 12_904) == nil)
        try manager.close()
    }

    @Test("retention by ms deletes the oldest whole segments and moves the log start offset")
    func retentionByTime() async throws {
        let fixture = try StorageFixture()
        let (manager, log) = try fixture.openWithTopic(configs: ["segment.bytes": "400", "retention.ms": "1000"])
        // Segments fill at now = 0, 10_000, 20_000 ...: each append has the broker clock as its time.
        var now: Int64 = 0
        for i in 0..<20 {
            now = Int64(i / 4) * 10_000
            _ = try log.append(try TestBatches.make(count: 2, timestamp: now), now: now)
        }
        try await log.waitDurable(through: log.logEndOffset - 1)
        let before = log.segmentBaseOffsets
        #expect(before.count >= 4)
        // Nothing is old enough yet relative to a time just after the first segment.
        #expect(try log.enforceRetention(now: 1_000) == 0)
        let deleted = try log.enforceRetention(now: now + 500)
        #expect(deleted == before.count - 1 || deleted > 0)
        let after = log.segmentBaseOffsets
        #expect(after.count == before.count - deleted)
        #expect(log.logStartOffset == after[0])
        #expect(log.logStartOffset > 0)
        #expect(throws: StorageError.self) { try log.read(from: 0, maxBytes: 100) }
        #expect(try log.readAll(from: log.logStartOffset).first?.offset == log.logStartOffset)
        // Every remaining segment is younger than retention.ms, the active one is never deleted.
        #expect(try log.enforceRetention(now: now + 500) == 0)
        #expect(try log.enforceRetention(now: now + 1_000_000) == after.count - 1)
        #expect(log.segmentCount == 1)
        let start = log.logStartOffset
        try manager.close()

        // The log start offset survives a restart (checkpoint).
        let reopened = try fixture.open()
        #expect(reopened.partition(topic: "logs", index: 0)?.logStartOffset == start)
        try reopened.close()
    }

    @Test("retention by bytes deletes the oldest segments while the rest still holds retention.bytes (as Kafka)")
    func retentionBySize() async throws {
        let fixture = try StorageFixture()
        let (manager, log) = try fixture.openWithTopic(configs: ["segment.bytes": "500", "retention.bytes": "1200"])
        for _ in 0..<30 { try await log.appendDurably(try TestBatches.make(count: 2)) }
        let total = log.sizeInBytes
        #expect(total > 1200)
        let deleted = try log.enforceRetention(now: 2_000)
        #expect(deleted > 0)
        // As Kafka: delete the oldest while what remains is still at least retention.bytes.
        #expect(log.sizeInBytes >= 1200)
        #expect(log.sizeInBytes - log.segmentSizes[0] < 1200)
        #expect(log.logStartOffset == log.segmentBaseOffsets[0])
        // One more segment's worth would not fit: the oldest kept segment is needed.
        #expect(try log.enforceRetention(now: 2_000) == 0)
        try manager.close()
    }
}

@Suite("Storage: segment rolling")
struct StorageRollTests {
    @Test("segments roll by segment.ms, counted on the broker's clock from the first append")
    func rollByTime() async throws {
        let fixture = try StorageFixture()
        let (manager, log) = try fixture.openWithTopic(configs: ["segment.ms": "1000"])
        _ = try log.append(try TestBatches.make(count: 1, timestamp: 1), now: 10_000)
        _ = try log.append(try TestBatches.make(count: 1, timestamp: 1), now: 10_900)
        #expect(log.segmentCount == 1)
        _ = try log.append(try TestBatches.make(count: 1, timestamp: 1), now: 11_001)
        #expect(log.segmentBaseOffsets == [0, 2])
        try await log.waitDurable(through: 2)
        #expect(try log.readAll().map(\.offset) == [0, 1, 2])
        try manager.close()
    }

    @Test("a produce larger than segment.bytes is RECORD_LIST_TOO_LARGE")
    func tooLargeForSegment() throws {
        let fixture = try StorageFixture()
        let (manager, log) = try fixture.openWithTopic(configs: ["segment.bytes": "100"])
        let batch = try TestBatches.make(count: 5, valueSize: 50)
        do {
            _ = try log.append(batch, now: 0)
            Issue.record("append succeeded")
        } catch {
            #expect(error.code == .recordListTooLarge)
        }
        try manager.close()
    }

    @Test("topic names differing only in '.' and '_' collide, as in Kafka")
    func dotUnderscoreCollision() throws {
        let fixture = try StorageFixture()
        let manager = try fixture.open()
        try manager.createTopic(name: "a.b", partitions: 1, configs: [:])
        do {
            try manager.createTopic(name: "a_b", partitions: 1, configs: [:])
            Issue.record("created a_b beside a.b")
        } catch {
            #expect(error.code == .invalidTopicException)
        }
        try manager.close()
    }
}
