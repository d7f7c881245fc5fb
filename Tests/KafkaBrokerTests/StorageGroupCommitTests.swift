@testable import KafkaBroker
import KafkaProtocol
import NIOCore
import Testing
import TributaryTestSupport

@Suite("Storage: group commit and long poll")
struct StorageGroupCommitTests {
    @Test("concurrent producers share fsyncs")
    func groupCommit() async throws {
        let fixture = try StorageFixture()
        let (manager, log) = try fixture.openWithTopic()
        let producers = 64
        let batch = try TestBatches.make(count: 2)
        let results = try await withThrowingTaskGroup(of: PartitionLog.AppendResult.self) { group in
            for _ in 0..<producers {
                group.addTask { try await log.appendDurably(batch) }
            }
            var results: [PartitionLog.AppendResult] = []
            for try await result in group { results.append(result) }
            return results
        }
        #expect(results.count == producers)
        #expect(Set(results.map(\.baseOffset)).count == producers)
        #expect(log.highWatermark == Int64(2 * producers))
        #expect(log.flushCount < producers, "\(log.flushCount) fsyncs for \(producers) produces")
        #expect(log.flushCount >= 1)
        try manager.close()
    }

    @Test("appends queued behind one fsync are covered by a single next fsync")
    func queuedWaitersShareOneFsync() async throws {
        let fixture = try StorageFixture()
        let (manager, log) = try fixture.openWithTopic()
        var lastOffsets: [Int64] = []
        for _ in 0..<20 { lastOffsets.append(try log.append(try TestBatches.make(count: 1), now: 0).lastOffset) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for offset in lastOffsets { group.addTask { try await log.waitDurable(through: offset) } }
            try await group.waitForAll()
        }
        // All 20 were written before anyone waited: one fsync covers them (a second only if a
        // waiter raced the first flusher's target).
        #expect(log.flushCount <= 2)
        #expect(log.highWatermark == 20)
        try manager.close()
    }

    @Test("waitDurable for an offset never appended fails instead of hanging")
    func waitDurableBeyondEnd() async throws {
        let fixture = try StorageFixture()
        let (manager, log) = try fixture.openWithTopic()
        await #expect(throws: StorageError.self) { try await log.waitDurable(through: 0) }
        try manager.close()
    }

    @Test("waitForData returns at the timeout when nothing arrives")
    func waitForDataTimeout() async throws {
        let fixture = try StorageFixture()
        let (manager, log) = try fixture.openWithTopic()
        let clock = ContinuousClock()
        let start = clock.now
        let hasData = await log.waitForData(after: 0, timeout: .milliseconds(50))
        #expect(!hasData)
        #expect(clock.now - start >= .milliseconds(50))
        try manager.close()
    }

    @Test("waitForData returns as soon as another task makes data durable")
    func waitForDataWakes() async throws {
        let fixture = try StorageFixture()
        let (manager, log) = try fixture.openWithTopic()
        try await log.appendDurably(try TestBatches.make(count: 3))
        // Data already there: immediate.
        #expect(await log.waitForData(after: 1, timeout: .seconds(60)))
        let clock = ContinuousClock()
        let start = clock.now
        async let woke = log.waitForData(after: 2, timeout: .seconds(60))
        let producer = Task { try await log.appendDurably(try TestBatches.make(count: 1)) }
        #expect(await woke)
        #expect(clock.now - start < .seconds(30))
        _ = try await producer.value
        #expect(log.highWatermark == 4)
        try manager.close()
    }

    @Test("deleting a topic wakes long polls")
    func deleteWakesWaiters() async throws {
        let fixture = try StorageFixture()
        let (manager, log) = try fixture.openWithTopic()
        async let woke = log.waitForData(after: 0, timeout: .seconds(60))
        // Let the waiter register; delete wakes it whether or not it has yet.
        try manager.deleteTopic(name: "logs")
        #expect(await woke == false)
        #expect(throws: StorageError.self) { try log.append(try TestBatches.make(count: 1), now: 0) }
    }
}
