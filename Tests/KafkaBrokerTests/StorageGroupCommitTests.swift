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
        print("group commit: \(log.flushCount) fsyncs for \(producers) concurrent produces")
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

    @Test("a long poll flushes data nobody waited for (acks=0) instead of waiting for the timeout")
    func waitForDataFlushesUnacknowledged() async throws {
        let fixture = try StorageFixture()
        let (manager, log) = try fixture.openWithTopic()
        _ = try log.append(try TestBatches.make(count: 2), now: 0)
        #expect(log.highWatermark == 0)
        #expect(await log.waitForData(after: 0, timeout: .seconds(60)))
        #expect(log.highWatermark == 2)
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

@Suite("Storage: failures and concurrency")
struct StorageFailureTests {
    @Test("a failed fsync fails the waiting produces and takes the partition offline until reopened")
    func fsyncFailure() async throws {
        let fixture = try StorageFixture()
        do {
            let (manager, log) = try fixture.openWithTopic()
            try await log.appendDurably(try TestBatches.make(count: 2, prefix: "ok"))
            let pending = try log.append(try TestBatches.make(count: 2, prefix: "lost?"), now: 0)
            log.injectFlushFailure(StorageError(.kafkaStorageError, "EIO (injected)"))
            do {
                try await log.waitDurable(through: pending.lastOffset)
                Issue.record("waitDurable succeeded after a failed fsync")
            } catch {
                #expect(error.code == .kafkaStorageError)
                #expect(error.message.contains("offline"))
            }
            #expect(log.highWatermark == 2)
            #expect(throws: StorageError.self) { try log.append(try TestBatches.make(count: 1), now: 0) }
            #expect(throws: StorageError.self) { try log.read(from: 0, maxBytes: 100) }
            #expect(await log.waitForData(after: 2, timeout: .seconds(60)) == false)
            _ = manager
        }
        let reopened = try fixture.open()
        let log = try #require(reopened.partition(topic: "logs", index: 0))
        #expect(try log.readAll().prefix(2).map(\.value) == ["ok-0", "ok-1"])
        #expect(try await log.appendDurably(try TestBatches.make(count: 1)).baseOffset == log.logEndOffset - 1)
        try reopened.close()
    }

    @Test("readers running alongside producers see only whole, valid, durable batches")
    func concurrentReadsAndWrites() async throws {
        let fixture = try StorageFixture(indexIntervalBytes: 200)
        let (manager, log) = try fixture.openWithTopic(configs: ["segment.bytes": "3000"])
        let producers = 4, batchesEach = 25
        try await withThrowingTaskGroup(of: Void.self) { group in
            for p in 0..<producers {
                group.addTask {
                    for i in 0..<batchesEach {
                        try await log.appendDurably(try TestBatches.make(count: 1 + i % 3, prefix: "p\(p).\(i)"))
                    }
                }
            }
            for r in 0..<2 {
                group.addTask {
                    var random = SplitMix64(seed: UInt64(r))
                    var next: Int64 = 0
                    while log.highWatermark < Int64(producers * batchesEach) {
                        let hw = log.highWatermark
                        if hw == 0 {
                            await log.waitForData(after: 0, timeout: .seconds(10))
                            continue
                        }
                        let offset = Int64(random.next() % UInt64(hw))
                        let read = try log.read(from: offset, maxBytes: Int(random.next() % 600))
                        #expect(read.highWatermark >= hw)
                        let headers = try TestBatches.headers(read.records)  // CRC-checked, whole batches
                        #expect(headers.first.map { $0.baseOffset <= offset && $0.lastOffset >= offset } ?? false)
                        #expect(headers.allSatisfy { $0.lastOffset < read.highWatermark })
                        // Follow the log like a consumer, waiting for data rather than spinning.
                        let more = try log.read(from: next, maxBytes: 1000)
                        if let last = try TestBatches.headers(more.records).last { next = last.nextOffset }
                        else { await log.waitForData(after: next, timeout: .seconds(10)) }
                    }
                }
            }
            try await group.waitForAll()
        }
        // Each producer's batches are in its own order.
        let values = try log.readAll().map(\.value)
        for p in 0..<producers {
            let mine = values.filter { $0.hasPrefix("p\(p).") }.map { $0.split(separator: "-")[0] }
            var seen: [Substring] = []
            for value in mine where seen.last != value { seen.append(value) }
            #expect(seen == (0..<batchesEach).map { Substring("p\(p).\($0)") })
        }
        try manager.close()
    }
}
