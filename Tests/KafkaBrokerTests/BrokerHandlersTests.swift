import KafkaBroker
import KafkaProtocol
import Logging
import NIOCore
import Testing
import TributaryTestSupport

/// The request handlers through the router, over the in-memory store.
@Suite("Broker: request handlers", .timeLimit(.minutes(1)))
struct BrokerHandlersTests {
    struct Broker {
        let router: KafkaRequestRouter
        let store: InMemoryLogStore
        private let connection = KafkaConnectionInfo(remoteAddress: nil, connectionNumber: 7)

        init(autoCreate: Bool = true) {
            var logger = Logger(label: "test.handlers")
            logger.logLevel = .critical
            store = InMemoryLogStore()
            let handlers = BrokerHandlers(
                identity: .init(host: "broker.test", port: 9999), policy: .init(autoCreateTopics: autoCreate),
                store: store, groups: nil, logger: logger)
            router = KafkaRequestRouter(broker: handlers, logger: logger)
        }

        /// Sends `request` in `version` and decodes the answer; `nil` if there is none (acks=0).
        func send<Request: KafkaRequestMessage>(_ request: Request, version: Int16) async throws -> Request.Response? {
            var frame = try KafkaFrame.encodeRequest(
                request, header: KafkaRequestHeader(apiKey: Request.apiKey, apiVersion: version, correlationId: 5, clientId: "t"))
            frame.moveReaderIndex(forwardBy: 4)
            switch await router.respond(to: frame, on: connection) {
            case .noResponse:
                return nil
            case .close(let reason, _):
                Issue.record("connection closed: \(reason)")
                return nil
            case .respond(var response):
                response.moveReaderIndex(forwardBy: 4)
                return try KafkaFrame.decodeResponse(Request.Response.self, version: version, frame: &response).response
            }
        }
    }

    static func batch(_ values: [String], timestamp: Int64 = 1_700_000_000_000) throws -> ByteBuffer {
        let builder = try RecordBatchBuilder()
        for value in values {
            builder.append(timestamp: timestamp, key: nil, value: ByteBuffer(string: value))
        }
        return try builder.finish()
    }

    static func produce(_ records: ByteBuffer, topic: String, acks: Int16 = -1, transactionalId: String? = nil) -> ProduceRequest {
        ProduceRequest(
            transactionalId: transactionalId, acks: acks, timeoutMs: 1000,
            topicData: [.init(name: topic, partitionData: [.init(index: 0, records: records)])])
    }

    static func fetch(topic: String, offset: Int64, maxWaitMs: Int32 = 0, minBytes: Int32 = 0) -> FetchRequest {
        FetchRequest(
            maxWaitMs: maxWaitMs, minBytes: minBytes, maxBytes: 1 << 20,
            topics: [.init(topic: topic, partitions: [.init(partition: 0, fetchOffset: offset, partitionMaxBytes: 1 << 20)])])
    }

    @Test func metadataCreatesTopicsOnlyWhenAllowed() async throws {
        let broker = Broker()
        let refused = try await broker.send(MetadataRequest(topics: [.init(name: "nope")], allowAutoTopicCreation: false), version: 4)
        #expect(refused?.topics.first?.errorCode == KafkaErrorCode.unknownTopicOrPartition.rawValue)
        let created = try #require(try await broker.send(MetadataRequest(topics: [.init(name: "yes")], allowAutoTopicCreation: true), version: 4))
        #expect(created.brokers.map(\.host) == ["broker.test"])
        #expect(created.brokers.map(\.port) == [9999])
        #expect(created.topics.map(\.errorCode) == [0])
        #expect(created.topics.first?.partitions.map(\.leaderId) == [0])
        let all = try await broker.send(MetadataRequest(topics: nil), version: 4)
        #expect(all?.topics.compactMap(\.name) == ["yes"])
        // Auto-creation switched off in the broker: never created.
        let strict = Broker(autoCreate: false)
        let none = try await strict.send(MetadataRequest(topics: [.init(name: "x")], allowAutoTopicCreation: true), version: 9)
        #expect(none?.topics.first?.errorCode == KafkaErrorCode.unknownTopicOrPartition.rawValue)
    }

    @Test func producedBatchesAreFetchedAsStoredWithOffsets() async throws {
        let broker = Broker()
        _ = try await broker.send(CreateTopicsRequest(topics: [.init(name: "logs", numPartitions: 1, replicationFactor: 1)]), version: 4)
        let first = try Self.batch(["a", "b", "c"])
        let second = try Self.batch(["d"])
        let one = try await broker.send(Self.produce(first, topic: "logs"), version: 7)
        let two = try await broker.send(Self.produce(second, topic: "logs"), version: 9)
        #expect(one?.responses.first?.partitionResponses.first?.baseOffset == 0)
        #expect(two?.responses.first?.partitionResponses.first?.baseOffset == 3)
        let fetched = try #require(try await broker.send(Self.fetch(topic: "logs", offset: 0), version: 11))
        #expect(fetched.sessionId == 0)
        let partition = try #require(fetched.responses.first?.partitions.first)
        #expect(partition.errorCode == 0)
        #expect(partition.highWatermark == 4)
        var expected = first
        expected.writeImmutableBuffer(second)
        expected.setInteger(Int64(3), at: first.readableBytes)  // the second batch's assigned base offset
        #expect(partition.records == expected)
        let listed = try await broker.send(
            ListOffsetsRequest(topics: [.init(name: "logs", partitions: [.init(partitionIndex: 0, timestamp: -1), .init(partitionIndex: 0, timestamp: -2)])]),
            version: 2)
        #expect(listed?.topics.first?.partitions.map(\.offset) == [4, 0])
    }

    @Test func fetchLongPollReturnsWhenDataArrives() async throws {
        let broker = Broker()
        _ = try await broker.send(CreateTopicsRequest(topics: [.init(name: "poll", numPartitions: 1, replicationFactor: 1)]), version: 4)
        let clock = ContinuousClock()
        let start = clock.now
        async let polled = broker.send(Self.fetch(topic: "poll", offset: 0, maxWaitMs: 30_000, minBytes: 1), version: 11)
        _ = try await broker.send(Self.produce(try Self.batch(["late"]), topic: "poll"), version: 7)
        let response = try await polled
        #expect(clock.now - start < .seconds(20), "the long poll waited for its timeout instead of the data")
        #expect(response?.responses.first?.partitions.first?.highWatermark == 1)
        #expect((response?.responses.first?.partitions.first?.records?.readableBytes ?? 0) > 0)
        // Nothing to wait for: an empty answer after max wait.
        let empty = try await broker.send(Self.fetch(topic: "poll", offset: 1, maxWaitMs: 10, minBytes: 1), version: 11)
        #expect(empty?.responses.first?.partitions.first?.records?.readableBytes == 0)
    }

    @Test func errorsArePerPartition() async throws {
        let broker = Broker()
        _ = try await broker.send(CreateTopicsRequest(topics: [.init(name: "e", numPartitions: 1, replicationFactor: 1)]), version: 4)
        let outOfRange = try await broker.send(Self.fetch(topic: "e", offset: 100), version: 11)
        #expect(outOfRange?.responses.first?.partitions.first?.errorCode == KafkaErrorCode.offsetOutOfRange.rawValue)
        let unknown = try await broker.send(Self.produce(try Self.batch(["x"]), topic: "missing"), version: 7)
        #expect(unknown?.responses.first?.partitionResponses.first?.errorCode == KafkaErrorCode.unknownTopicOrPartition.rawValue)
        let transactional = try await broker.send(Self.produce(try Self.batch(["x"]), topic: "e", transactionalId: "tx"), version: 7)
        #expect(transactional?.responses.first?.partitionResponses.first?.errorCode == KafkaErrorCode.transactionalIdAuthorizationFailed.rawValue)
        let initTx = try await broker.send(InitProducerIdRequest(transactionalId: "tx", transactionTimeoutMs: 1000), version: 4)
        #expect(initTx?.errorCode == KafkaErrorCode.transactionalIdAuthorizationFailed.rawValue)
        let idempotent = try await broker.send(InitProducerIdRequest(transactionalId: nil, transactionTimeoutMs: 1000), version: 4)
        #expect(idempotent?.errorCode == 0)
        #expect((idempotent?.producerId ?? -1) >= 0)
        let replicated = try await broker.send(CreateTopicsRequest(topics: [.init(name: "r", numPartitions: 1, replicationFactor: 3)]), version: 4)
        #expect(replicated?.topics.first?.errorCode == KafkaErrorCode.invalidReplicationFactor.rawValue)
        let duplicate = try await broker.send(CreateTopicsRequest(topics: [.init(name: "e", numPartitions: 1, replicationFactor: 1)]), version: 4)
        #expect(duplicate?.topics.first?.errorCode == KafkaErrorCode.topicAlreadyExists.rawValue)
        // A partition count from the wire never sizes an allocation (a fuzzed frame once asked for ~1.8e9).
        let huge = try await broker.send(CreateTopicsRequest(topics: [.init(name: "huge", numPartitions: .max, replicationFactor: 1)]), version: 4)
        #expect(huge?.topics.first?.errorCode == KafkaErrorCode.invalidPartitions.rawValue)
        #expect(huge?.topics.first?.errorMessage?.contains("10000") == true)
    }

    @Test func acksZeroGetsNoResponse() async throws {
        let broker = Broker()
        _ = try await broker.send(CreateTopicsRequest(topics: [.init(name: "z", numPartitions: 1, replicationFactor: 1)]), version: 4)
        #expect(try await broker.send(Self.produce(try Self.batch(["quiet"]), topic: "z", acks: 0), version: 7) == nil)
        #expect(try await broker.store.listOffset(topic: "z", partition: 0, timestampMs: -1).offset == 1)
    }

    @Test func findCoordinatorWithoutGroupsIsNotAvailable() async throws {
        let broker = Broker()
        let response = try await broker.send(FindCoordinatorRequest(key: "g", keyType: 0), version: 2)
        #expect(response?.errorCode == KafkaErrorCode.coordinatorNotAvailable.rawValue)
    }
}
