import Foundation
@testable import KafkaBroker
import KafkaProtocol
import NIOCore
import Testing
import TributaryTestSupport

@Suite("Storage: crash recovery")
struct StorageRecoveryTests {
    /// Appends `batches` durable batches of 3 records to a fresh topic and abandons the manager
    /// without close() (a crash). Returns the values written.
    func writeAndCrash(_ fixture: StorageFixture, batches: Int, configs: [String: String] = [:]) async throws -> [String] {
        let (manager, log) = try fixture.openWithTopic(configs: configs)
        var values: [String] = []
        for i in 0..<batches {
            try await log.appendDurably(try TestBatches.make(count: 3, prefix: "r\(i)"))
            values += (0..<3).map { "r\(i)-\($0)" }
        }
        _ = manager
        return values
    }

    func activeSegmentPath(_ fixture: StorageFixture) throws -> String {
        let directory = fixture.dataPath + "/logs-0"
        let logs = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".log") }.sorted()
        return directory + "/" + (try #require(logs.last))
    }

    @Test("a torn half batch at the end is cut off; every good record stays and appends continue")
    func tornWrite() async throws {
        let fixture = try StorageFixture(scanChunkBytes: 100)
        let values = try await writeAndCrash(fixture, batches: 10)
        let segment = try activeSegmentPath(fixture)
        let goodSize = try fileSize(segment)
        let half = try TestBatches.make(count: 3)
        try appendToFile(segment, Array(half.readableBytesView.prefix(half.readableBytes / 2)))

        let manager = try fixture.open()
        let log = try #require(manager.partition(topic: "logs", index: 0))
        #expect(try fileSize(segment) == goodSize)
        #expect(log.highWatermark == 30)
        #expect(try log.readAll().map(\.value) == values)
        let next = try await log.appendDurably(try TestBatches.make(count: 2, prefix: "new"))
        #expect(next.baseOffset == 30)
        #expect(try log.readAll(from: 29).map(\.value) == ["r9-2", "new-0", "new-1"])
        try manager.close()
    }

    @Test("garbage after the last batch, and a batch with a bad CRC, are cut off")
    func garbageAndBadCRC() async throws {
        let fixture = try StorageFixture()
        let seed = SplitMix64.testSeed()
        print("StorageRecoveryTests.garbageAndBadCRC seed \(seed)")
        var random = SplitMix64(seed: seed)
        let values = try await writeAndCrash(fixture, batches: 4)
        let segment = try activeSegmentPath(fixture)
        // A whole batch with a flipped payload byte (bad CRC), then random garbage.
        var bad = try TestBatches.make(count: 3)
        bad.setInteger(UInt64(12), at: 0)  // the expected next offset, so only the CRC is wrong
        bad.setInteger(bad.getInteger(at: bad.writerIndex - 1, as: UInt8.self)! ^ 0xff, at: bad.writerIndex - 1)
        try appendToFile(segment, Array(bad.readableBytesView) + random.bytes(300))

        let manager = try fixture.open()
        let log = try #require(manager.partition(topic: "logs", index: 0))
        #expect(log.highWatermark == 12)
        #expect(try log.readAll().map(\.value) == values)
        #expect(try await log.appendDurably(try TestBatches.make(count: 1)).baseOffset == 12)
        try manager.close()
    }

    @Test("random garbage of any length after the log never loses a good record", arguments: [1, 11, 12, 60, 61, 62, 200])
    func garbageLengths(length: Int) async throws {
        let fixture = try StorageFixture(scanChunkBytes: 64)
        var random = SplitMix64(seed: UInt64(length))
        let values = try await writeAndCrash(fixture, batches: 3)
        try appendToFile(try activeSegmentPath(fixture), random.bytes(length))
        let manager = try fixture.open()
        let log = try #require(manager.partition(topic: "logs", index: 0))
        #expect(try log.readAll().map(\.value) == values)
        #expect(log.logEndOffset == 9)
        try manager.close()
    }

    @Test("missing and corrupt indexes are rebuilt")
    func indexRebuild() async throws {
        let fixture = try StorageFixture(indexIntervalBytes: 100)
        let (manager, log) = try fixture.openWithTopic(configs: ["segment.bytes": "600"])
        var values: [String] = []
        for i in 0..<30 {
            try await log.appendDurably(try TestBatches.make(count: 3, prefix: "i\(i)", timestamp: 5_000 + Int64(i) * 10))
            values += (0..<3).map { "i\(i)-\($0)" }
        }
        #expect(log.segmentCount >= 4)
        try manager.close()

        let directory = fixture.dataPath + "/logs-0"
        let indexes = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".index") }.sorted()
        let timeIndexes = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".timeindex") }.sorted()
        #expect(indexes.count >= 4)
        let originalIndex = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + indexes[1]))
        #expect(originalIndex.count > 8)
        // Delete one, garble another (positions beyond the log), truncate a third mid-entry.
        try FileManager.default.removeItem(atPath: directory + "/" + indexes[0])
        try Data(repeating: 0xff, count: 16).write(to: URL(fileURLWithPath: directory + "/" + indexes[1]))
        let third = directory + "/" + indexes[2]
        let thirdData = try Data(contentsOf: URL(fileURLWithPath: third))
        try thirdData.prefix(thirdData.count - 3).write(to: URL(fileURLWithPath: third))
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: directory + "/" + timeIndexes[3]))

        let reopened = try fixture.open()
        let log2 = try #require(reopened.partition(topic: "logs", index: 0))
        #expect(try log2.readAll().map(\.value) == values)
        for offset in stride(from: Int64(0), to: 90, by: 7) {
            let read = try log2.read(from: offset, maxBytes: 1)
            let header = try #require(try TestBatches.headers(read.records).first)
            #expect(header.baseOffset <= offset && header.lastOffset >= offset)
        }
        #expect(try log2.offset(forTimestamp: 5_000 + 10 * 17)! == (51, 5_170))
        // The rebuilt index equals what appending wrote.
        #expect(try Data(contentsOf: URL(fileURLWithPath: directory + "/" + indexes[1])) == originalIndex)
        try reopened.close()
    }

    @Test("abandoning a LogManager without close() loses nothing that was durable")
    func crashWithoutClose() async throws {
        let fixture = try StorageFixture()
        var expected: [String] = []
        for round in 0..<3 {
            let manager = try fixture.open()
            if round == 0 { try manager.createTopic(name: "logs", partitions: 2, configs: ["segment.bytes": "700"]) }
            for partition in Int32(0)..<2 {
                let log = try #require(manager.partition(topic: "logs", index: partition))
                for i in 0..<5 where partition == 0 {
                    try await log.appendDurably(try TestBatches.make(count: 2, prefix: "c\(round).\(i)"))
                    expected += ["c\(round).\(i)-0", "c\(round).\(i)-1"]
                }
                // Written, not waited for: may or may not survive, must not corrupt anything.
                _ = try log.append(try TestBatches.make(count: 1, prefix: "maybe"), now: 0)
            }
            let log = try #require(manager.partition(topic: "logs", index: 0))
            let durable = try log.readAll().map(\.value).filter { !$0.hasPrefix("maybe") }
            #expect(durable == expected)
            // crash: no close()
        }
        let manager = try fixture.open()
        let log = try #require(manager.partition(topic: "logs", index: 0))
        #expect(try log.readAll().map(\.value).filter { !$0.hasPrefix("maybe") } == expected)
        #expect(manager.topic(named: "logs")?.partitionCount == 2)
        try manager.close()
    }

    @Test("a clean close leaves a marker; reopening trusts indexes and removes it")
    func cleanShutdownMarker() async throws {
        let fixture = try StorageFixture()
        let (manager, log) = try fixture.openWithTopic()
        try await log.appendDurably(try TestBatches.make(count: 2))
        let pending = try log.append(try TestBatches.make(count: 1), now: 0)
        try manager.close()
        // A produce appended before close is made durable by it, so its acknowledgement succeeds.
        try await log.waitDurable(through: pending.lastOffset)
        let marker = fixture.dataPath + "/logs-0/" + PartitionLog.cleanShutdownFileName
        #expect(FileManager.default.fileExists(atPath: marker))
        #expect(throws: StorageError.self) { try log.append(try TestBatches.make(count: 1), now: 0) }
        let reopened = try fixture.open()
        #expect(!FileManager.default.fileExists(atPath: marker))
        #expect(reopened.partition(topic: "logs", index: 0)?.highWatermark == 3)
        try reopened.close()
    }
}

@Suite("Storage: damaged sealed segments")
struct StorageSealedDamageTests {
    @Test("a CRC-bad batch in a sealed segment is reported and kept, never cut off with what follows")
    func badChecksumInSealedSegment() async throws {
        let fixture = try StorageFixture()
        do {
            let (manager, log) = try fixture.openWithTopic(configs: ["segment.bytes": "500"])
            for i in 0..<20 { try await log.appendDurably(try TestBatches.make(count: 2, prefix: "d\(i)")) }
            #expect(log.segmentCount >= 3)
            try manager.close()
        }
        let directory = fixture.dataPath + "/logs-0"
        let first = directory + "/00000000000000000000"
        let size = try fileSize(first + ".log")
        // Flip the last byte of the segment's second batch's records, and drop its index so the
        // segment is scanned again.
        let data = try Data(contentsOf: URL(fileURLWithPath: first + ".log"))
        var bytes = ByteBuffer(bytes: data)
        let firstBatch = try RecordBatch(from: &bytes)
        let second = try RecordBatch(from: &bytes)
        var damaged = Array(data)
        let position = firstBatch.size + second.size - 1
        damaged[position] ^= 0xff
        try Data(damaged).write(to: URL(fileURLWithPath: first + ".log"))
        try FileManager.default.removeItem(atPath: first + ".index")

        let reopened = try fixture.open()
        let log = try #require(reopened.partition(topic: "logs", index: 0))
        #expect(try fileSize(first + ".log") == size)
        // The damaged batch is served as stored: a consumer's CRC check rejects it.
        let read = try log.read(from: second.header.baseOffset, maxBytes: 1)
        var reader = RecordBatchReader(read.records)
        #expect(throws: KafkaDecodingError.self) { _ = try reader.next() }
        // Everything after it, in this segment and the next ones, is still there.
        let after = try log.readAll(from: second.header.nextOffset).map(\.value)
        #expect(after.count == 40 - Int(second.header.nextOffset))
        #expect(after.last == "d19-1")
        try reopened.close()
    }
}
