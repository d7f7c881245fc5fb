import KafkaClient
import KafkaProtocol
import NIOConcurrencyHelpers
import NIOCore
import Testing

/// Collects delivery reports (thread-safe) for assertions.
final class ProducerReportLog: Sendable {
    private let box = NIOLockedValueBox<[KafkaProducerDeliveryReport]>([])

    var reports: [KafkaProducerDeliveryReport] { box.withLockedValue { $0 } }

    func append(_ report: KafkaProducerDeliveryReport) { box.withLockedValue { $0.append(report) } }

    /// Successful tokens with their (partition, offset).
    var delivered: [UInt64: (partition: Int32, offset: Int64)] {
        var result: [UInt64: (Int32, Int64)] = [:]
        for report in reports {
            guard case .success(let base) = report.result else { continue }
            for (index, token) in report.tokens.enumerated() { result[token] = (report.partition, base + Int64(index)) }
        }
        return result
    }

    var failedTokens: [UInt64] {
        reports.filter { !$0.isSuccess }.flatMap(\.tokens)
    }

    var deliveredTokenCount: Int { reports.filter(\.isSuccess).reduce(0) { $0 + $1.tokens.count } }
}

func bytes(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

@Suite("Producer: sender against a scripted cluster")
struct ProducerSenderTests {
    static func configuration(_ change: (inout KafkaProducerConfiguration) -> Void = { _ in }) -> KafkaProducerConfiguration {
        var configuration = KafkaProducerConfiguration()
        configuration.linger = .milliseconds(1)
        configuration.retryBackoff = .milliseconds(5)
        configuration.retryBackoffMax = .milliseconds(50)
        configuration.deliveryTimeout = .seconds(20)
        change(&configuration)
        return configuration
    }

    @Test func deliversEveryRecordWithTokensOffsetsAndKeyPartitions() async throws {
        let cluster = ProducerTestCluster(topics: ["logs": [0, 1, 2]])
        let log = ProducerReportLog()
        let producer = try KafkaProducer(
            transport: cluster, configuration: Self.configuration { $0.maxBatchBytes = 2000 }, onDelivery: log.append)
        for index in 0..<1000 {
            let key = index % 2 == 0 ? bytes("host-\(index % 7)") : nil
            try await producer.send(topic: "logs", key: key, value: bytes("line \(index)"), token: UInt64(index))
        }
        await producer.flush()
        let delivered = log.delivered
        #expect(delivered.count == 1000)
        #expect(log.failedTokens.isEmpty)
        for index in 0..<1000 {
            guard let place = delivered[UInt64(index)] else { continue }
            let stored = await cluster.log("logs", place.partition)
            #expect(Int(place.offset) < stored.count)
            if Int(place.offset) < stored.count {
                #expect(stored[Int(place.offset)].value == Array("line \(index)".utf8), "token \(index)")
            }
            if index % 2 == 0 {
                #expect(place.partition == KafkaKeyPartitioner.partition(forKey: "host-\(index % 7)", partitionCount: 3))
            }
        }
        let total = await (0..<3).asyncSum { await cluster.log("logs", Int32($0)).count }
        #expect(total == 1000)
        #expect(await cluster.initProducerIdRequests == 1)
        #expect(producer.identity != nil)
        await producer.close()
        #expect(producer.bufferedBytes == 0)
    }

    @Test func lostResponseIsRetriedWithoutDuplicate() async throws {
        let cluster = ProducerTestCluster(topics: ["t": [0]])
        await cluster.dropResponses(2)
        let log = ProducerReportLog()
        let producer = try KafkaProducer(transport: cluster, configuration: Self.configuration(), onDelivery: log.append)
        for index in 0..<100 {
            try await producer.send(topic: "t", key: nil, value: bytes("v\(index)"), token: UInt64(index))
        }
        await producer.flush()
        let stored = await cluster.log("t", 0).map { String(decoding: $0.value ?? [], as: UTF8.self) }
        #expect(stored == (0..<100).map { "v\($0)" })
        #expect(await cluster.duplicatesDropped >= 1)
        #expect(log.deliveredTokenCount == 100)
        await producer.close()
    }

    @Test func orderPerPartitionSurvivesRetries() async throws {
        let cluster = ProducerTestCluster(topics: ["t": [0, 0]])
        let log = ProducerReportLog()
        let producer = try KafkaProducer(
            transport: cluster, configuration: Self.configuration { $0.maxBatchBytes = 300 }, onDelivery: log.append)
        await cluster.dropResponses(3)
        await cluster.inject([.notEnoughReplicas, .requestTimedOut, .notLeaderOrFollower])
        for index in 0..<2000 {
            try await producer.send(
                topic: "t", partition: Int32(index % 2), key: nil, value: bytes("\(index)"), token: UInt64(index))
            if index == 1000 { await cluster.dropResponses(2) }
        }
        await producer.flush()
        let requests = await cluster.requestLog.joined(separator: "\n")
        for partition: Int32 in [0, 1] {
            let stored = await cluster.log("t", partition).map { Int(String(decoding: $0.value ?? [], as: UTF8.self)) ?? -1 }
            let expected = Array(stride(from: Int(partition), to: 2000, by: 2))
            let producerIds = await cluster.initProducerIdRequests
            let firstDifference = zip(stored, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset
            #expect(stored.count == expected.count && firstDifference == nil,
                    "partition \(partition): \(stored.count) records, first difference at \(String(describing: firstDifference)); failed \(log.failedTokens.count), producer ids \(producerIds); requests:\n\(requests)")
            // Reports of one partition come in send order.
            let reported = log.reports.filter { $0.partition == partition }.flatMap(\.tokens).map(Int.init)
            #expect(reported == expected, "reports of partition \(partition) out of order")
        }
        await producer.close()
    }

    @Test func fencedSequenceFailsTheBatchAndReinitialises() async throws {
        let cluster = ProducerTestCluster(topics: ["t": [0]])
        let producer = try KafkaProducer(transport: cluster, configuration: Self.configuration())
        let first = try await producer.sendAndWait(topic: "t", key: nil, value: bytes("a"))
        #expect(first.offset == 0)
        let identity = producer.identity
        await cluster.inject([.outOfOrderSequenceNumber])
        await #expect {
            _ = try await producer.sendAndWait(topic: "t", key: nil, value: bytes("b"))
        } throws: { error in
            (error as? KafkaProducerError)?.kind == .producerFenced(.outOfOrderSequenceNumber)
        }
        let third = try await producer.sendAndWait(topic: "t", key: nil, value: bytes("c"))
        #expect(third.offset == 1)
        #expect(producer.identity != identity)
        #expect(await cluster.initProducerIdRequests == 2)
        await producer.close()
    }

    @Test func withoutDeliveryTimeoutAFencedSequenceIsResentInANewEpoch() async throws {
        let cluster = ProducerTestCluster(topics: ["t": [0]])
        let producer = try KafkaProducer(transport: cluster, configuration: Self.configuration { $0.deliveryTimeout = nil })
        _ = try await producer.sendAndWait(topic: "t", key: nil, value: bytes("a"))
        let identity = producer.identity
        await cluster.inject([.outOfOrderSequenceNumber])
        let second = try await producer.sendAndWait(topic: "t", key: nil, value: bytes("b"))
        #expect(second.offset == 1)
        #expect(producer.identity != identity)
        #expect(producer.retries.batches == 1 && producer.retries.records == 1)
        let stored = await cluster.log("t", 0).map { String(decoding: $0.value ?? [], as: UTF8.self) }
        #expect(stored == ["a", "b"])
        await producer.close()
    }

    static let smallBufferBytes = 8 * 1024

    /// A producer whose buffer holds `smallBufferBytes` in batches of at most 1 KiB.
    static func smallBufferProducer(_ cluster: ProducerTestCluster) throws -> KafkaProducer {
        try KafkaProducer(
            transport: cluster,
            configuration: configuration {
                $0.bufferBytes = smallBufferBytes
                $0.maxBatchBytes = 1024
            })
    }

    @Test func fullBufferSuspendsSendAndBoundsMemory() async throws {
        let cluster = ProducerTestCluster(topics: ["t": [0]])
        await cluster.stall()
        let bufferBytes = Self.smallBufferBytes
        let producer = try Self.smallBufferProducer(cluster)
        let accepted = NIOLockedValueBox(0)
        let value = ByteBuffer(repeating: UInt8(ascii: "x"), count: 100)
        let sender = Task {
            for index in 0..<1000 {
                try await producer.send(topic: "t", key: nil, value: value, token: UInt64(index))
                accepted.withLockedValue { $0 += 1 }
            }
        }
        // The sender fills the buffer, then stays suspended while the broker is stalled.
        try await waitUntil("the buffer is full") { producer.bufferedBytes > bufferBytes - 200 }
        let stuckAt = accepted.withLockedValue { $0 }
        #expect(stuckAt < 1000)
        #expect(producer.bufferedBytes <= bufferBytes)
        await cluster.resume()
        try await sender.value
        await producer.flush()
        #expect(await cluster.log("t", 0).count == 1000)
        #expect(producer.bufferedBytes == 0)
        await producer.close()
    }

    @Test func trySendAcceptsOnlyWhatNeedsNoWaiting() async throws {
        let cluster = ProducerTestCluster(topics: ["t": [0]])
        await cluster.stall()
        let bufferBytes = Self.smallBufferBytes
        let producer = try Self.smallBufferProducer(cluster)
        let value = ByteBuffer(repeating: UInt8(ascii: "x"), count: 100)
        // The topic's partitions are not known yet: nothing is accepted without a metadata lookup.
        #expect(try producer.trySend(topic: "t", key: nil, value: value, token: 0) == .topicRoute)
        try await producer.send(topic: "t", key: nil, value: value, token: 0)
        var accepted = 1
        var refusal: KafkaProducerWait?
        while true {
            refusal = try producer.trySend(topic: "t", key: nil, value: value, token: UInt64(accepted))
            if refusal != nil { break }
            accepted += 1
            try #require(accepted < 1000, "trySend kept accepting past the buffer")
        }
        // Refused only because the buffer is full; `send` would wait for space. The size reported is the
        // record's as the buffer counts it (more than its value's 100 bytes), and it does not fit.
        #expect(producer.bufferedBytes <= bufferBytes)
        #expect(producer.bufferedBytes > bufferBytes - 200)
        guard case .bufferSpace(let bytes) = refusal else {
            Issue.record("refused for \(String(describing: refusal)), not buffer space")
            return
        }
        #expect(bytes > 100)
        #expect(producer.bufferedBytes + bytes > bufferBytes)
        await cluster.resume()
        try await producer.waitUntilAccepting(topic: "t", .bufferSpace(bytes: bytes))
        await producer.flush()
        #expect(await cluster.log("t", 0).count == accepted)
        #expect(try producer.trySend(topic: "t", key: nil, value: value, token: UInt64(accepted)) == nil)
        await producer.close()
        #expect(throws: KafkaProducerError.self) { try producer.trySend(topic: "t", key: nil, value: value) }
    }

    @Test func leaderMoveIsFollowedAfterMetadataRefresh() async throws {
        let cluster = ProducerTestCluster(topics: ["t": [0, 1, 2]])
        let log = ProducerReportLog()
        let producer = try KafkaProducer(transport: cluster, configuration: Self.configuration(), onDelivery: log.append)
        for index in 0..<300 {
            try await producer.send(topic: "t", key: bytes("k\(index)"), value: bytes("\(index)"), token: UInt64(index))
        }
        await producer.flush()
        // Every leader moves to the next node while records are waiting.
        await cluster.stall()
        for index in 300..<600 {
            try await producer.send(topic: "t", key: bytes("k\(index)"), value: bytes("\(index)"), token: UInt64(index))
        }
        for partition: Int32 in 0..<3 { await cluster.moveLeader(topic: "t", partition: partition, to: (partition + 1) % 3) }
        await cluster.resume()
        await producer.flush()
        #expect(log.deliveredTokenCount == 600)
        #expect(await cluster.refreshes >= 1)
        var all: [String] = []
        for partition: Int32 in 0..<3 {
            all += await cluster.log("t", partition).map { String(decoding: $0.value ?? [], as: UTF8.self) }
        }
        #expect(all.count == 600)
        #expect(Set(all).count == 600)
        await producer.close()
    }

    @Test func acksZeroReportsWithoutOffsets() async throws {
        let cluster = ProducerTestCluster(topics: ["t": [0]])
        let log = ProducerReportLog()
        let producer = try KafkaProducer(
            transport: cluster,
            configuration: Self.configuration {
                $0.acks = .none
                $0.idempotent = false
            }, onDelivery: log.append)
        for index in 0..<10 { try await producer.send(topic: "t", key: nil, value: bytes("\(index)"), token: UInt64(index)) }
        await producer.close()
        #expect(log.reports.allSatisfy { (try? $0.result.get()) == -1 })
        #expect(log.reports.flatMap(\.tokens) == Array(0..<10))
        #expect(await cluster.log("t", 0).count == 10)
        #expect(await cluster.initProducerIdRequests == 0)
    }

    @Test func rejectsIdempotenceWithoutAcksAll() {
        #expect(throws: KafkaProducerError.self) {
            _ = try KafkaProducer(transport: ProducerTestCluster(topics: [:]), configuration: Self.configuration { $0.acks = .leader })
        }
    }

    @Test func unknownTopicFailsSend() async throws {
        let cluster = ProducerTestCluster(topics: [:])
        let producer = try KafkaProducer(
            transport: cluster, configuration: Self.configuration { $0.deliveryTimeout = .milliseconds(100) })
        await #expect {
            try await producer.send(topic: "missing", key: nil, value: bytes("x"))
        } throws: { error in
            (error as? KafkaProducerError)?.kind == .unknownTopic
        }
        await producer.close()
    }
}

extension Sequence {
    func asyncSum(_ transform: (Element) async -> Int) async -> Int {
        var total = 0
        for element in self { total += await transform(element) }
        return total
    }
}
