import Foundation
@testable import KafkaClient
import KafkaProtocol
import NIOCore
import Testing
import TributaryTestSupport

/// The consumer against the embedded broker: positions, seeks, prefetch bound, groups.
@Suite("Consumer against the embedded broker", .serialized)
struct ConsumerBrokerTests {
    typealias Support = ConsumerTestSupport

    @Test("manual assignment from earliest: .assigned first, then every record in order")
    func manualEarliest() async throws {
        try await EmbeddedBroker.with { broker in
            let cluster = KafkaCluster(configuration: broker.clientConfiguration)
            try await Support.createTopic("logs", cluster: cluster)
            let values = (0..<10).map { "line \($0)" }
            try await Support.produce(values, topic: "logs", partition: 0, cluster: cluster, perBatch: 3)
            let consumer = KafkaConsumer(
                assigning: [TopicPartition(topic: "logs", partition: 0)], cluster: cluster,
                configuration: Support.configuration())
            let log = Support.EventLog()
            let task = Support.drain(consumer, into: log)
            try await waitUntil("10 records arrived") { await log.count >= 10 }
            await consumer.close()
            await task.value
            #expect(await log.events.first == "assigned [logs-0]")
            #expect(await log.allValues == values)
            #expect(await log.values[TopicPartition(topic: "logs", partition: 0)]?.map(\.offset) == Array(0..<10))
            #expect(await log.error == nil)
            await cluster.shutdown()
        }
    }

    @Test("latest starts at the end; seek into the middle of a batch skips the records below the offset")
    func latestAndSeek() async throws {
        try await EmbeddedBroker.with { broker in
            let cluster = KafkaCluster(configuration: broker.clientConfiguration)
            try await Support.createTopic("logs", cluster: cluster)
            try await Support.produce((0..<6).map { "old \($0)" }, topic: "logs", partition: 0, cluster: cluster, perBatch: 6)
            var configuration = Support.configuration(reset: .latest)
            configuration.reportsEndOfPartition = true
            let partition = TopicPartition(topic: "logs", partition: 0)
            let consumer = KafkaConsumer(assigning: [partition], cluster: cluster, configuration: configuration)
            let log = Support.EventLog()
            let task = Support.drain(consumer, into: log)
            try await waitUntil("the end was reached") { await log.events.contains("end logs-0@6") }
            try await Support.produce(["new 0", "new 1"], topic: "logs", partition: 0, cluster: cluster)
            try await waitUntil("the new records arrived") { await log.count >= 2 }
            #expect(await log.allValues == ["new 0", "new 1"])

            // Offsets 0-5 are one batch: seeking to 3 must deliver 3, 4, 5 (then the new ones), not 0-2.
            try await consumer.seek(topic: "logs", partition: 0, offset: 3)
            try await waitUntil("the re-read arrived") { await log.count >= 7 }
            await consumer.close()
            await task.value
            #expect(await log.allValues == ["new 0", "new 1", "old 3", "old 4", "old 5", "new 0", "new 1"])
            await #expect(throws: KafkaConsumerError.self) {
                try await consumer.seek(topic: "other", partition: 0, offset: 0)
            }
            await cluster.shutdown()
        }
    }

    @Test("bounded prefetch: buffered bytes never exceed the limit while the caller is slow, nothing is lost")
    func boundedPrefetch() async throws {
        try await EmbeddedBroker.with { broker in
            let cluster = KafkaCluster(configuration: broker.clientConfiguration)
            try await Support.createTopic("bulk", cluster: cluster)
            let line = String(repeating: "x", count: 200)
            let values = (0..<2000).map { "\($0) \(line)" }
            try await Support.produce(values, topic: "bulk", partition: 0, cluster: cluster, perBatch: 20)
            var configuration = Support.configuration()
            configuration.maxBufferedBytes = 64 * 1024
            configuration.partitionMaxBytes = 16 * 1024
            let consumer = KafkaConsumer(
                assigning: [TopicPartition(topic: "bulk", partition: 0)], cluster: cluster, configuration: configuration)
            var iterator = consumer.events.makeAsyncIterator()
            guard case .assigned? = try await iterator.next() else {
                Issue.record("the first event is not .assigned")
                return
            }
            var received: [String] = []
            func take(_ event: KafkaConsumerEvent?) throws {
                guard case .batches(let fetched)? = event else { return }
                try fetched.forEachRecord { record in
                    received.append(record.value.map { String(decoding: $0, as: UTF8.self) } ?? "")
                    return true
                }
            }
            // Asking for the event after .assigned starts fetching; then the caller takes nothing
            // for a while: the fetcher fills the buffer and stops.
            try take(try await iterator.next())
            try await waitUntil("the buffer filled") { await consumer.bufferedBytes > 64 * 1024 - 16 * 1024 }
            #expect(await consumer.bufferedBytes <= 64 * 1024)
            // Slow caller: one event at a time, checking the bound in between.
            while received.count < values.count {
                try take(try await iterator.next())
                #expect(await consumer.bufferedBytes <= 64 * 1024)
            }
            let peak = await consumer.peakBufferedBytes
            await consumer.close()
            #expect(received == values)
            #expect(peak <= 64 * 1024, "peak buffered bytes \(peak)")
            #expect(peak > 32 * 1024, "the buffer was used: peak \(peak)")
            await cluster.shutdown()
        }
    }
}
