import Foundation
@testable import KafkaClient
import KafkaProtocol
import NIOCore
import Testing
import TributaryTestSupport

/// Helpers for the consumer's tests against the embedded broker.
enum ConsumerTestSupport {
    /// Creates `topic` (auto-creation with the broker's default partition count) and waits for leaders.
    static func createTopic(_ topic: String, cluster: KafkaCluster) async throws {
        try await waitUntil("\(topic) has leaders") {
            let metadata = try await cluster.metadata(topics: [topic], allowAutoTopicCreation: true, forceRefresh: true)
            guard let partitions = metadata.topics[topic]?.partitions, !partitions.isEmpty else { return false }
            return partitions.allSatisfy { $0.leader >= 0 }
        }
    }

    /// Produces `values` to one partition as batches of `perBatch` records (acks=all), returning
    /// the base offset of the first batch.
    @discardableResult
    static func produce(
        _ values: [String], topic: String, partition: Int32, cluster: KafkaCluster, perBatch: Int = 4,
        compression: KafkaCompression = .none
    ) async throws -> Int64 {
        let metadata = try await cluster.metadata(topics: [topic])
        let leader = try #require(metadata.leader(topic: topic, partition: partition))
        let connection = try await cluster.connection(toNode: leader)
        var first: Int64 = -1
        var index = 0
        while index < values.count {
            let builder = try RecordBatchBuilder(compression: compression)
            for value in values[index..<min(index + perBatch, values.count)] {
                builder.append(timestamp: 1_700_000_000_000 + Int64(index), key: nil, value: ByteBuffer(string: value))
            }
            index += perBatch
            let request = ProduceRequest(
                acks: -1, timeoutMs: 10_000,
                topicData: [.init(name: topic, partitionData: [.init(index: partition, records: try builder.finish())])])
            let response = try await connection.send(request)
            let result = try #require(response.responses.first?.partitionResponses.first)
            #expect(result.errorCode == 0, "produce to \(topic)-\(partition): \(KafkaErrorCode(rawValue: result.errorCode))")
            if first < 0 { first = result.baseOffset }
        }
        return first
    }

    /// A consumer's events gathered by a background task, for assertions while it keeps running.
    actor EventLog {
        private(set) var events: [String] = []
        private(set) var values: [TopicPartition: [(offset: Int64, value: String)]] = [:]
        private(set) var assignments: [[TopicPartition]] = []
        private(set) var error: (any Error)?

        func record(_ event: KafkaConsumerEvent) throws {
            switch event {
            case .assigned(let partitions):
                events.append("assigned \(partitions)")
                assignments.append(partitions)
            case .revoked(let partitions):
                events.append("revoked \(partitions)")
            case .reachedEnd(let partition, let offset):
                events.append("end \(partition)@\(offset)")
            case .batches(let fetched):
                var received: [(Int64, String)] = []
                try fetched.forEachRecord { record in
                    let value = record.value.map { String(decoding: $0, as: UTF8.self) } ?? ""
                    received.append((record.offset, value))
                    return true
                }
                events.append("batches \(fetched.topicPartition) \(received.first?.0 ?? -1)..<\(fetched.nextOffset)")
                values[fetched.topicPartition, default: []].append(contentsOf: received.map { (offset: $0.0, value: $0.1) })
            }
        }

        func failed(_ error: any Error) { self.error = error }

        var allValues: [String] { values.keys.sorted().flatMap { values[$0]!.map(\.value) } }
        var count: Int { values.values.reduce(0) { $0 + $1.count } }
        var lastAssignment: [TopicPartition]? { assignments.last }
    }

    /// Iterates `consumer.events` into `log` until the consumer closes; `afterEvent` runs after each
    /// event (to commit, for example).
    static func drain(
        _ consumer: KafkaConsumer, into log: EventLog,
        afterEvent: @escaping @Sendable (KafkaConsumerEvent) async throws -> Void = { _ in }
    ) -> Task<Void, Never> {
        Task {
            do {
                for try await event in consumer.events {
                    try await log.record(event)
                    try await afterEvent(event)
                }
            } catch {
                await log.failed(error)
            }
        }
    }

    /// Runs blocking `work` (a child process) on a Dispatch thread, off Swift's cooperative pool.
    static func blocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
        }
    }

    /// A test configuration: short waits and timeouts.
    static func configuration(
        group: String? = nil, reset: KafkaConsumerConfiguration.OffsetReset = .earliest
    ) -> KafkaConsumerConfiguration {
        var configuration = KafkaConsumerConfiguration(groupID: group)
        configuration.autoOffsetReset = reset
        configuration.fetchMaxWait = .milliseconds(100)
        configuration.heartbeatInterval = .milliseconds(200)
        configuration.sessionTimeout = .seconds(6)  // the embedded broker's minimum
        configuration.rebalanceTimeout = .seconds(10)
        configuration.retryBackoff = .milliseconds(20)
        return configuration
    }
}
