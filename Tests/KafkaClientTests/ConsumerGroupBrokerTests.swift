import Foundation
@testable import KafkaClient
import KafkaProtocol
import NIOCore
import Testing
import TributaryTestSupport

/// Consumer groups on the embedded broker: members split partitions by the chosen assignor, and
/// when one dies (no LeaveGroup) the other takes its partitions over from the committed offsets.
@Suite("Consumer groups against the embedded broker", .serialized)
struct ConsumerGroupBrokerTests {
    typealias Support = ConsumerTestSupport

    static let assignors: [any ConsumerPartitionAssignor] = [RangeAssignor(), RoundRobinAssignor()]

    @Test("two members split 4 partitions; one dies, the other resumes its partitions from the committed offsets",
          arguments: ["range", "roundrobin"])
    func splitAndTakeOver(assignorName: String) async throws {
        var options = EmbeddedBroker.Options()
        options.partitions = 4
        try await EmbeddedBroker.with(options) { broker in
            let cluster = KafkaCluster(configuration: broker.clientConfiguration)
            try await Support.createTopic("events", cluster: cluster)
            let partitions = (0..<Int32(4)).map { TopicPartition(topic: "events", partition: $0) }
            for partition in partitions {
                try await Support.produce(
                    (0..<5).map { "p\(partition.partition)-\($0)" }, topic: "events", partition: partition.partition,
                    cluster: cluster, perBatch: 2)
            }
            var configuration = Support.configuration(group: "collectors-\(assignorName)")
            configuration.assignors = Self.assignors.filter { $0.name == assignorName }

            func start() -> (KafkaConsumer, Support.EventLog, Task<Void, Never>) {
                // Each member has its own connections, as separate processes would.
                let consumer = KafkaConsumer(
                    subscribing: ["events"], clientConfiguration: broker.clientConfiguration, configuration: configuration)
                let log = Support.EventLog()
                let task = Support.drain(consumer, into: log) { event in
                    if case .batches(let fetched) = event {
                        try? await consumer.commit([fetched.topicPartition: fetched.nextOffset])
                    }
                }
                return (consumer, log, task)
            }
            let (first, firstLog, firstTask) = start()
            let (second, secondLog, secondTask) = start()

            try await waitUntil("both members hold 2 partitions", timeout: .seconds(20)) {
                let a = await firstLog.lastAssignment ?? [], b = await secondLog.lastAssignment ?? []
                return a.count == 2 && b.count == 2 && Set(a + b) == Set(partitions)
            }
            // The split is the assignor's, over the members in member-id order.
            let ids = [await first.memberID, await second.memberID]
            let expected = configuration.assignors[0].assign(
                members: ids.map { .init(memberID: $0, topics: ["events"]) }, partitionCounts: ["events": 4])
            #expect(await firstLog.lastAssignment == expected[ids[0]])
            #expect(await secondLog.lastAssignment == expected[ids[1]])
            try await waitUntil("all 20 records consumed") { await firstLog.count + secondLog.count == 20 }
            let firstPartitions = await firstLog.lastAssignment ?? []
            try await waitUntil("the first member's offsets are committed") {
                let committed = try await second.committed(firstPartitions)
                return firstPartitions.allSatisfy { committed[$0] == 5 }
            }

            // The first member dies: no LeaveGroup, so the coordinator waits for its session timeout.
            firstTask.cancel()
            await first.close(leavingGroup: false)
            await firstTask.value
            for partition in partitions {
                try await Support.produce(
                    (5..<8).map { "p\(partition.partition)-\($0)" }, topic: "events", partition: partition.partition,
                    cluster: cluster, perBatch: 2)
            }
            try await waitUntil("the second member took every partition over", timeout: .seconds(20)) {
                await secondLog.lastAssignment == partitions
            }
            try await waitUntil("every new record consumed") { await firstLog.count + secondLog.count == 32 }
            await second.close()
            await secondTask.value

            // Nothing lost, nothing twice: the taken-over partitions resumed exactly at offset 5.
            for partition in firstPartitions {
                let taken = await secondLog.values[partition] ?? []
                #expect(taken.map(\.offset) == [5, 6, 7], "\(partition)")
                #expect(await firstLog.values[partition]?.map(\.offset) == [0, 1, 2, 3, 4], "\(partition)")
            }
            let events = await secondLog.events
            let revoked = try #require(events.lastIndex { $0.hasPrefix("revoked") })
            let assigned = try #require(events.lastIndex { $0.hasPrefix("assigned") })
            #expect(revoked < assigned, "revoked comes before the new assignment: \(events)")
            #expect(!events[revoked..<assigned].contains { $0.hasPrefix("batches") }, "\(events)")
            #expect(await secondLog.error == nil)
            #expect(await firstLog.error == nil)
            await cluster.shutdown()
        }
    }
}
