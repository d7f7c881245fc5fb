@testable import KafkaClient
import KafkaProtocol
import NIOConcurrencyHelpers
import NIOCore
import Testing

/// A broker remembers the last five batches per producer and partition (Kafka's `ProducerStateEntry`): a batch
/// re-sent after a lost response is recognised as a duplicate only while it is one of them, and only in the same
/// epoch. The producer handles answers as they come, not in request order, so it must count every batch sent since
/// the oldest one whose fate is unknown, resolve such batches before a new epoch, and report each batch once.
@Suite("Producer: idempotent sequences under lost and late answers")
struct ProducerSequenceWindowTests {
    /// A producer over `cluster` whose batches hold about 25 of `sendNumbers`' records, reporting to `log`.
    static func smallBatchProducer(
        _ cluster: ProducerTestCluster, log: ProducerReportLog, deliveryTimeout: Duration = .seconds(20)
    ) throws -> KafkaProducer {
        try KafkaProducer(
            transport: cluster,
            configuration: ProducerSenderTests.configuration {
                $0.maxBatchBytes = 300
                $0.deliveryTimeout = deliveryTimeout
            }, onDelivery: log.append)
    }

    /// Sends each number of `numbers` as a record (its decimal text, token = the number) to partition `partition` of "t".
    static func sendNumbers(_ numbers: Range<Int>, to producer: KafkaProducer, partition: Int32) async throws {
        for number in numbers {
            try await producer.send(
                topic: "t", partition: partition, key: nil, value: bytes("\(number)"), token: UInt64(number))
        }
    }

    /// The first request's response is lost and reported late (a slow timeout) while the next four are answered.
    /// Sending a sixth batch of the partition meanwhile would push the first out of the window: its re-send is
    /// then rejected as out of order (reported failed although stored), the producer starts a new epoch, and a
    /// batch awaiting a re-send in the new epoch is stored twice (the CI failure of `orderPerPartitionSurvivesRetries`).
    @Test func lateLostResponseIsResentAsADuplicateOfTheStoredBatch() async throws {
        let cluster = ProducerTestCluster(topics: ["t": [0]])
        await cluster.holdResponse(ofRequest: 1)
        // Request 6 is a sixth batch if the window is not kept (its re-send in a new epoch is then stored twice),
        // else the first batch's re-send.
        await cluster.loseResponses(ofRequests: [6])
        let log = ProducerReportLog()
        let producer = try Self.smallBatchProducer(cluster, log: log)
        let count = 400  // about 16 batches
        try await Self.sendNumbers(0..<count, to: producer, partition: 0)
        // Until a sixth batch was sent, or the producer waits for nothing but the held answer.
        try await waitUntil("the producer waits for the held answer") {
            if await cluster.totalProduceRequests > 5 { return true }
            return await cluster.isHoldingResponse && producer.isOnlyAwaiting(requests: 1)
        }
        let sentWhileInDoubt = await cluster.totalProduceRequests
        await cluster.releaseHeldResponse()
        await producer.flush()

        let requests = await cluster.requestLog.joined(separator: "\n")
        #expect(sentWhileInDoubt == 5, "batches sent while the first one's fate was unknown:\n\(requests)")
        let stored = await cluster.log("t", 0).map { Int(String(decoding: $0.value ?? [], as: UTF8.self)) ?? -1 }
        #expect(stored == Array(0..<count), "\(stored.count) records stored:\n\(requests)")
        #expect(log.failedTokens.isEmpty, "\(log.failedTokens.count) records reported failed:\n\(requests)")
        #expect(log.deliveredTokenCount == count)
        // The first batch's re-send is request 6, whose response is lost too: it is sent twice more, a duplicate each time.
        #expect(await cluster.duplicatesDropped == 2, "\(requests)")
        #expect(await cluster.initProducerIdRequests == 1)
        await producer.close()
    }

    /// A new epoch restarts every partition's sequences at 0, so a batch re-sent in it is never taken for a
    /// duplicate. A batch whose fate is unknown (response lost) must therefore be resolved in the old epoch first:
    /// here partition 1's batch was stored but its answer lost, while partition 0's batch was refused for good
    /// (INVALID_RECORD, a sequence gap) and asks for a new epoch.
    @Test func batchOfUnknownFateIsResolvedBeforeANewEpoch() async throws {
        let cluster = ProducerTestCluster(topics: ["t": [0, 0]])
        await cluster.holdResponse(ofRequest: 1)
        let log = ProducerReportLog()
        let producer = try Self.smallBatchProducer(cluster, log: log)
        try await Self.sendNumbers(0..<3, to: producer, partition: 1)
        try await waitUntil("partition 1's batch was stored and its answer held") { await cluster.isHoldingResponse }
        await cluster.inject([.invalidRecord])
        await #expect {
            _ = try await producer.sendAndWait(topic: "t", partition: 0, key: nil, value: bytes("refused"))
        } throws: { error in
            (error as? KafkaProducerError)?.kind == .broker(.invalidRecord)
        }
        await cluster.releaseHeldResponse()
        await producer.flush()

        let requests = await cluster.requestLog.joined(separator: "\n")
        let stored = await cluster.log("t", 1).map { String(decoding: $0.value ?? [], as: UTF8.self) }
        #expect(stored == ["0", "1", "2"], "partition 1:\n\(requests)")
        let failedOnPartition1 = log.reports.filter { $0.partition == 1 && !$0.isSuccess }.flatMap(\.tokens)
        #expect(failedOnPartition1.isEmpty, "partition 1's records reported failed:\n\(requests)")
        #expect(await cluster.duplicatesDropped == 1, "\(requests)")
        // The new epoch is taken once the batch is resolved, and serves the next records.
        let next = try await producer.sendAndWait(topic: "t", partition: 0, key: nil, value: bytes("accepted"))
        #expect(next.offset == 0)
        #expect(await cluster.initProducerIdRequests == 2)
        await producer.close()
    }

    /// A batch that may be stored behind one the broker refused as out of order cannot be stored (sequences are
    /// stored without gaps): it needs no resolution in the old epoch. Here batch 0 is refused for good, batches 1
    /// to 4 are out of order, and batch 2's answer is lost; re-sending batch 1 in the old epoch until batch 2's
    /// fate is known would never end.
    @Test func batchBehindAnOutOfOrderOneIsNotResolvedInTheOldEpoch() async throws {
        let cluster = ProducerTestCluster(topics: ["t": [0]])
        await cluster.stall()
        let log = ProducerReportLog()
        let producer = try Self.smallBatchProducer(cluster, log: log, deliveryTimeout: .seconds(5))
        let count = 200  // about 8 batches
        try await Self.sendNumbers(0..<count, to: producer, partition: 0)
        try await waitUntil("five batches wait at the stalled broker") { await cluster.totalProduceRequests == 5 }
        await cluster.inject([.invalidRecord])
        await cluster.loseResponses(ofRequests: [3])
        await cluster.resume()
        await producer.flush()

        let requests = await cluster.requestLog.joined(separator: "\n")
        let failed = log.failedTokens.map(Int.init)
        #expect(!failed.isEmpty && failed == Array(0..<failed.count), "failed \(failed):\n\(requests)")
        let stored = await cluster.log("t", 0).map { Int(String(decoding: $0.value ?? [], as: UTF8.self)) ?? -1 }
        #expect(stored == Array(failed.count..<count), "\(stored.count) records stored:\n\(requests)")
        #expect(await cluster.initProducerIdRequests == 2)
        await producer.close()
    }

    /// Batches of one partition waiting for a re-send expire together when the broker keeps refusing them: each
    /// is reported once, failed with the timeout, and `flush` returns. (They were reported twice: the head's
    /// report took the later expired ones along, which were then reported again, and the count of pending records
    /// went negative, so `flush` never returned.)
    @Test func batchesExpiringTogetherAreReportedOnce() async throws {
        let cluster = ProducerTestCluster(topics: ["t": [0]])
        await cluster.inject(Array(repeating: .notEnoughReplicas, count: 10_000))
        let log = ProducerReportLog()
        let producer = try Self.smallBatchProducer(cluster, log: log, deliveryTimeout: .milliseconds(300))
        let count = 100  // 4 batches
        try await Self.sendNumbers(0..<count, to: producer, partition: 0)
        try await waitUntil("every record is reported") { log.reports.flatMap(\.tokens).count >= count }
        let reported = log.reports.flatMap(\.tokens).map(Int.init)
        // A double report leaves the producer unable to flush: stop here rather than hang.
        try #require(reported == Array(0..<count), "reported \(reported.count) tokens for \(count) records")
        #expect(log.reports.allSatisfy {
            if case .failure(let error) = $0.result { error.kind == .timedOut } else { false }
        })
        await producer.flush()
        #expect(producer.bufferedBytes == 0)
        await producer.close()
    }

    /// The same at the level of the sender's state, without tasks or timing: five requests of one partition in
    /// flight, the last four answered, the first one's fate unknown. No sixth batch may be planned until the first
    /// is resolved; its re-send keeps its identity and sequence.
    @Test func noSixthBatchIsPlannedWhileTheFirstIsUnresolved() throws {
        let configuration = ProducerSenderTests.configuration { $0.maxBatchBytes = 300 }
        let clock = ContinuousClock()
        let start = clock.now
        let core = ProducerCore(needsIdentity: true)
        // The state is driven as the sender does, with the lock held.
        try core.lock.withLock {
            let identity = ProducerIdentity(producerId: 7, epoch: 0)
            core.install(route: ProducerTopicRoute(leaders: [0]), topic: "t", now: start)
            core.install(identity: identity)
            for index in 0..<400 {
                let outcome = core.append(
                    topic: "t", partition: 0, key: nil, value: bytes("\(index)"), headers: nil, timestamp: 0,
                    token: UInt64(index), waiter: nil, configuration: configuration, clock: clock)
                guard case .appended = outcome else { Issue.record("record \(index) not appended: \(outcome)"); return }
            }
            var plans: [ProducerRequestPlan] = []
            while true {
                let work = core.collectWork(now: start, configuration: configuration)
                if work.requests.isEmpty { break }
                plans += work.requests
                try #require(plans.count <= 5, "more than five requests in flight to one broker")
            }
            try #require(plans.count == 5 && plans.allSatisfy { $0.batches.count == 1 })
            let first = plans[0].batches[0]
            for plan in plans.dropFirst() {
                var answer = ProduceResponse()
                answer.responses = [.init(name: "t", partitionResponses: [.init(index: 0, errorCode: 0, baseOffset: 0)])]
                core.handle(response: answer, to: plan, now: start, configuration: configuration)
            }
            let whileInDoubt = core.collectWork(now: start, configuration: configuration)
            #expect(whileInDoubt.requests.isEmpty, "a sixth batch was planned while the first one's fate is unknown")

            core.handle(failure: KafkaProducerError(.transport, "connection lost"), of: plans[0], now: start,
                        configuration: configuration)
            let resend = core.collectWork(now: start + .seconds(1), configuration: configuration)
            #expect(resend.requests.map { $0.batches.map { ObjectIdentifier($0) } } == [[ObjectIdentifier(first)]])
            #expect(first.baseSequence == 0 && first.identity == identity && !core.needsIdentity)
        }
    }
}

extension KafkaProducer {
    /// Whether the sender is parked with nothing to do but wait for the answers of `requests`
    /// requests in flight (reads the producer's state under its lock).
    func isOnlyAwaiting(requests: Int) -> Bool {
        core.lock.withLock {
            core.totalRequestsInFlight == requests && core.senderWaiter != nil && !core.senderSignalled
        }
    }
}
