import Foundation
@testable import KafkaBroker
import KafkaProtocol
import NIOCore
import Testing
import TributaryTestSupport

@Suite("Storage: idempotent producers")
struct StorageIdempotenceTests {
    func batch(sequence: Int32, count: Int = 3, epoch: Int16 = 0, producer: Int64 = 7) throws -> ByteBuffer {
        try TestBatches.make(count: count, prefix: "s\(sequence)", producerID: producer, producerEpoch: epoch, baseSequence: sequence)
    }


    @Test("a duplicate batch returns its original offsets and is not appended; state survives reopen")
    func duplicates() async throws {
        let fixture = try StorageFixture()
        do {
            let (manager, log) = try fixture.openWithTopic()
            try await log.appendDurably(try TestBatches.make(count: 2))  // not idempotent
            let first = try await log.appendDurably(try batch(sequence: 0))
            let second = try await log.appendDurably(try batch(sequence: 3))
            #expect(first.baseOffset == 2 && second.baseOffset == 5)
            let retry = try log.append(try batch(sequence: 0), now: 0)
            #expect(retry.isDuplicate)
            #expect(retry.baseOffset == 2 && retry.lastOffset == 4)
            #expect(log.logEndOffset == 8)
            // A gap, a stale epoch, a new epoch not starting at 0.
            #expect(storageErrorCode { _ = try log.append(try batch(sequence: 9), now: 0) } == .outOfOrderSequenceNumber)
            #expect(storageErrorCode { _ = try log.append(try batch(sequence: 6), now: 0) } == nil)
            #expect(log.logEndOffset == 11)
            #expect(storageErrorCode { _ = try log.append(try batch(sequence: 5, epoch: 1), now: 0) } == .outOfOrderSequenceNumber)
            let bumped = try await log.appendDurably(try batch(sequence: 0, epoch: 1))
            #expect(bumped.baseOffset == 11)
            #expect(storageErrorCode { _ = try log.append(try batch(sequence: 3, epoch: 0), now: 0) } == .invalidProducerEpoch)
            // Another producer is independent.
            #expect(try log.append(try batch(sequence: 40, producer: 8), now: 0).baseOffset == 14)
            try await log.waitDurable(through: 16)
            _ = manager  // abandoned without close: crash
        }
        let reopened = try fixture.open()
        let log = try #require(reopened.partition(topic: "logs", index: 0))
        #expect(log.logEndOffset == 17)
        let retry = try log.append(try batch(sequence: 0, epoch: 1), now: 0)
        #expect(retry.isDuplicate && retry.baseOffset == 11)
        #expect(storageErrorCode { _ = try log.append(try batch(sequence: 7, epoch: 1), now: 0) } == .outOfOrderSequenceNumber)
        #expect(try log.append(try batch(sequence: 3, epoch: 1), now: 0).baseOffset == 17)
        #expect(try log.append(try batch(sequence: 43, producer: 8), now: 0).baseOffset == 20)
        try reopened.close()
    }

    @Test("producer state older than the last two segments survives a crash and a clean restart (snapshots)",
          arguments: [false, true])
    func snapshot(cleanClose: Bool) async throws {
        let fixture = try StorageFixture()
        do {
            let (manager, log) = try fixture.openWithTopic(configs: ["segment.bytes": "400"])
            try await log.appendDurably(try batch(sequence: 0, producer: 9))
            for _ in 0..<20 { try await log.appendDurably(try TestBatches.make(count: 2)) }
            #expect(log.segmentCount >= 4)
            if cleanClose { try manager.close() }
        }
        let reopened = try fixture.open()
        let log = try #require(reopened.partition(topic: "logs", index: 0))
        let retry = try log.append(try batch(sequence: 0, producer: 9), now: 0)
        #expect(retry.isDuplicate && retry.baseOffset == 0)
        #expect(storageErrorCode { _ = try log.append(try batch(sequence: 4, producer: 9), now: 0) } == .outOfOrderSequenceNumber)
        #expect(try log.append(try batch(sequence: 3, producer: 9), now: 0).isDuplicate == false)
        try reopened.close()
    }

    @Test("a corrupt snapshot is ignored and the state rebuilt from the log")
    func corruptSnapshot() async throws {
        let fixture = try StorageFixture()
        do {
            let (manager, log) = try fixture.openWithTopic()
            try await log.appendDurably(try batch(sequence: 0))
            try manager.close()
        }
        try [UInt8]("{not json".utf8).withUnsafeBufferPointer {
            try Data($0).write(to: URL(fileURLWithPath: fixture.dataPath + "/logs-0/" + PartitionLog.producerSnapshotFileName))
        }
        let reopened = try fixture.open()
        let log = try #require(reopened.partition(topic: "logs", index: 0))
        #expect(try log.append(try batch(sequence: 0), now: 0).isDuplicate)
        try reopened.close()
    }

    @Test("only the last five batches are remembered")
    func window() async throws {
        let fixture = try StorageFixture()
        let (manager, log) = try fixture.openWithTopic()
        for i in 0..<7 { _ = try log.append(try batch(sequence: Int32(i) * 3), now: 0) }
        #expect(try log.append(try batch(sequence: 6), now: 0).isDuplicate)
        // Sequence 0 and 3 fell out of the window: no longer recognised, and out of order.
        #expect(storageErrorCode { _ = try log.append(try batch(sequence: 3), now: 0) } == .outOfOrderSequenceNumber)
        try manager.close()
    }

    @Test("sequence numbers wrap at Int32.max")
    func wrap() {
        #expect(ProducerStateTable.lastSequence(first: Int32.max - 1, delta: 2) == 0)
        #expect(ProducerStateTable.lastSequence(first: 5, delta: 2) == 7)
        #expect(ProducerStateTable.nextSequence(after: Int32.max) == 0)
    }
}
