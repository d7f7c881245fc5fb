import Foundation
@testable import KafkaBroker
import KafkaProtocol
import NIOCore
import Testing
import TributaryTestSupport

/// Pins the on-disk formats: a change here is a format change and needs a version bump and a
/// reader for the old version.
@Suite("Storage: on-disk formats")
struct StorageFormatTests {
    func bytes(_ path: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    @Test("segment, offset index, time index and checkpoint layouts")
    func layouts() async throws {
        let fixture = try StorageFixture(indexIntervalBytes: 1)
        let (manager, log) = try fixture.openWithTopic(configs: ["segment.bytes": "100000"])
        let first = try TestBatches.make(count: 2, timestamp: 0x0102)
        let second = try TestBatches.make(count: 3, timestamp: 0x0102)  // max timestamp 0x0104: grows
        let third = try TestBatches.make(count: 1, timestamp: 0x0100)  // max 0x0100: no time entry
        for batch in [first, second, third] { try await log.appendDurably(batch) }
        try manager.close()

        let stem = fixture.dataPath + "/logs-0/00000000000000000000"
        // The log: the batches as produced, with baseOffset assigned and partitionLeaderEpoch 0.
        var expected = [UInt8]()
        for (batch, base) in [(first, Int64(0)), (second, 2), (third, 5)] {
            var copy = batch
            copy.setInteger(base, at: 0)
            copy.setInteger(Int32(0), at: RecordBatchHeader.FieldOffset.partitionLeaderEpoch)
            expected += copy.readableBytesView
        }
        #expect(try bytes(stem + ".log") == expected)
        // .index: (relative offset u32, position u32) big-endian, one per batch at interval 1.
        let p1 = UInt32(first.readableBytes), p2 = p1 + UInt32(second.readableBytes)
        func be32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.bigEndian, Array.init) }
        func be64(_ v: Int64) -> [UInt8] { withUnsafeBytes(of: v.bigEndian, Array.init) }
        #expect(try bytes(stem + ".index") == be32(0) + be32(0) + be32(2) + be32(p1) + be32(5) + be32(p2))
        // .timeindex: (max timestamp i64, relative offset u32) whenever the max grew.
        #expect(try bytes(stem + ".timeindex") == be64(0x0103) + be32(0) + be64(0x0104) + be32(2))
    }

    @Test("checkpoint and counter files are `v1 <number>\\n`")
    func checkpoints() async throws {
        let fixture = try StorageFixture()
        let (manager, log) = try fixture.openWithTopic(configs: ["segment.bytes": "200", "retention.bytes": "0"])
        for _ in 0..<6 { try await log.appendDurably(try TestBatches.make(count: 1)) }
        try log.enforceRetention(now: 0)
        let start = log.logStartOffset
        #expect(start > 0)
        _ = try manager.allocateProducerID()
        _ = try manager.allocateProducerID()
        try manager.close()
        #expect(try String(contentsOfFile: fixture.dataPath + "/logs-0/log-start-offset", encoding: .utf8) == "v1 \(start)\n")
        #expect(try String(contentsOfFile: fixture.dataPath + "/producer-id", encoding: .utf8) == "v1 2\n")
    }

    @Test("topic metadata version 1, as written by hand, opens")
    func topicFileV1() throws {
        let fixture = try StorageFixture()
        try FileManager.default.createDirectory(atPath: fixture.dataPath, withIntermediateDirectories: true)
        let json = """
            {
              "configs" : { "retention.ms" : "60000" },
              "name" : "syslog",
              "partitions" : 2,
              "topicID" : "0123456789abcdef0011223344556677",
              "version" : 1
            }
            """
        try json.write(toFile: fixture.dataPath + "/syslog.topic.json", atomically: false, encoding: .utf8)
        let manager = try fixture.open()
        let topic = try #require(manager.topic(named: "syslog"))
        #expect(topic.partitionCount == 2)
        #expect(topic.config.retentionMs == 60000)
        #expect(topic.topicID == KafkaUUID(high: 0x0123_4567_89ab_cdef, low: 0x0011_2233_4455_6677))
        #expect(manager.partition(topic: "syslog", index: 1)?.logEndOffset == 0)
        try manager.close()
    }

    @Test("a topic file of an unknown version is refused, not guessed at")
    func topicFileFutureVersion() throws {
        let fixture = try StorageFixture()
        try FileManager.default.createDirectory(atPath: fixture.dataPath, withIntermediateDirectories: true)
        let json = #"{"configs":{},"name":"x","partitions":1,"topicID":"0123456789abcdef0011223344556677","version":2}"#
        try json.write(toFile: fixture.dataPath + "/x.topic.json", atomically: false, encoding: .utf8)
        #expect(throws: StorageError.self) { _ = try fixture.open() }
    }

    @Test("producer state snapshot version 1 round trips")
    func producerSnapshot() throws {
        var table = ProducerStateTable()
        table.record(RecordBatchHeader(baseOffset: 10, lastOffsetDelta: 2, producerId: 4, producerEpoch: 1, baseSequence: 7, recordsCount: 3))
        let bytes = try table.snapshot(offset: 13)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.contains(#""version":1"#))
        let (loaded, offset) = try #require(ProducerStateTable.load(snapshot: bytes))
        #expect(offset == 13)
        #expect(loaded.producers == table.producers)
    }
}
