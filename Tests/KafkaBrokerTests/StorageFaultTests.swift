#if canImport(Glibc)
import Glibc
#endif
import Foundation
@testable import KafkaBroker
import KafkaProtocol
import NIOCore
import Testing
import TributaryTestSupport

@Suite("Storage: injected I/O faults")
struct StorageFaultTests {
    @Test("a failed segment write appends nothing, leaves no partial bytes, and the next append works")
    func segmentWriteFailure() async throws {
        let fixture = try StorageFixture()
        do {
            let (manager, log) = try fixture.openWithTopic()
            try await log.appendDurably(try TestBatches.make(count: 2, prefix: "a"))
            let segment = fixture.dataPath + "/logs-0/00000000000000000000.log"
            let sizeBefore = try fileSize(segment)
            FaultInjection.failNext(.write, pathPrefix: fixture.dataPath, suffix: ".log", errno: ENOSPC)
            let batch = try TestBatches.make(count: 3, prefix: "lost")
            do {
                _ = try log.append(batch, now: 0)
                Issue.record("append succeeded despite the injected write failure")
            } catch {
                #expect(error.code == .kafkaStorageError)
            }
            #expect(try fileSize(segment) == sizeBefore)
            #expect(log.logEndOffset == 2)
            let next = try await log.appendDurably(try TestBatches.make(count: 1, prefix: "b"))
            #expect(next.baseOffset == 2)
            #expect(try log.readAll().map(\.value) == ["a-0", "a-1", "b-0"])
            _ = manager  // crash
        }
        let reopened = try fixture.open()
        #expect(try #require(reopened.partition(topic: "logs", index: 0)).readAll().map(\.value) == ["a-0", "a-1", "b-0"])
        try reopened.close()
    }

    @Test("a failed index write does not fail the append; the index files are rewritten at close")
    func indexWriteFailure() async throws {
        let fixture = try StorageFixture(indexIntervalBytes: 50)
        do {
            let (manager, log) = try fixture.openWithTopic()
            FaultInjection.failNext(.write, pathPrefix: fixture.dataPath, suffix: ".index", errno: EIO)
            FaultInjection.failNext(.write, pathPrefix: fixture.dataPath, suffix: ".timeindex", errno: EIO)
            for i in 0..<10 { try await log.appendDurably(try TestBatches.make(count: 2, prefix: "i\(i)", timestamp: Int64(i) * 10)) }
            try manager.close()
        }
        let index = fixture.dataPath + "/logs-0/00000000000000000000.index"
        #expect(try fileSize(index) == 10 * LogSegment.offsetIndexEntrySize)
        let reopened = try fixture.open()
        let log = try #require(reopened.partition(topic: "logs", index: 0))
        for offset in Int64(0)..<20 {
            let header = try #require(try TestBatches.headers(log.read(from: offset, maxBytes: 1).records).first)
            #expect(header.baseOffset == offset - offset % 2)
        }
        #expect(try log.offset(forTimestamp: 45)! == (10, 50))
        try reopened.close()
    }

    @Test("a failed atomic replace keeps the old topic configuration, in memory and on disk")
    func topicFileReplaceFailure() throws {
        let fixture = try StorageFixture()
        let manager = try fixture.open()
        try manager.createTopic(name: "t", partitions: 1, configs: ["retention.ms": "1000"])
        FaultInjection.failNext(.rename, pathPrefix: fixture.dataPath, suffix: "t.topic.json", errno: EIO)
        do {
            try manager.alterConfigs(topic: "t", configs: ["retention.ms": "2000"])
            Issue.record("alterConfigs succeeded despite the injected failure")
        } catch {
            #expect(error.code == .kafkaStorageError)
        }
        #expect(manager.topic(named: "t")?.config.retentionMs == 1000)
        #expect(manager.partition(topic: "t", index: 0)?.config.retentionMs == 1000)
        try manager.close()
        let reopened = try fixture.open()
        #expect(reopened.topic(named: "t")?.config.retentionMs == 1000)
        try reopened.close()
    }

    @Test("an fsync failing in the kernel fails the waiting produces and takes the partition offline")
    func realFsyncFailure() async throws {
        let fixture = try StorageFixture()
        let (manager, log) = try fixture.openWithTopic()
        let pending = try log.append(try TestBatches.make(count: 1), now: 0)
        FaultInjection.failNext(.sync, pathPrefix: fixture.dataPath, suffix: ".log", errno: EIO)
        do {
            try await log.waitDurable(through: pending.lastOffset)
            Issue.record("waitDurable succeeded")
        } catch {
            #expect(error.code == .kafkaStorageError)
        }
        #expect(log.highWatermark == 0)
        #expect(throws: StorageError.self) { try log.append(try TestBatches.make(count: 1), now: 0) }
        _ = manager
    }
}
