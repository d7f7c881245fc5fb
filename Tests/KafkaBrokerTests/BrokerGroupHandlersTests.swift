@testable import KafkaBroker
import KafkaProtocol
import Logging
import NIOCore
import Testing
import TributaryTestSupport

/// Group APIs through the router with a real coordinator: what the handlers add around it.
@Suite("Broker: group handlers")
struct BrokerGroupHandlersTests {
    /// A router over an in-memory store and the fixture's coordinator.
    static func router(_ fixture: GroupFixture, store: InMemoryLogStore) -> KafkaRequestRouter {
        let handlers = BrokerHandlers(
            identity: .init(host: "127.0.0.1", port: 9092), store: store, groups: fixture.coordinator, logger: .quietForTests)
        return KafkaRequestRouter(broker: handlers, logger: .quietForTests)
    }

    /// Sends `request` and decodes the answer.
    static func send<Request: KafkaRequestMessage>(
        _ router: KafkaRequestRouter, _ request: Request, version: Int16, on connection: KafkaConnectionInfo
    ) async throws -> Request.Response {
        guard case .respond(var buffer) = await router.respond(
            to: try BrokerTestHarness.requestFrame(request, version: version), on: connection)
        else {
            Issue.record("no response to \(Request.self)")
            throw CancellationError()
        }
        buffer.moveReaderIndex(forwardBy: 4)
        return try KafkaFrame.decodeResponse(Request.Response.self, version: version, frame: &buffer).1
    }

    @Test("JoinGroup records the connection's real address as the member's client host")
    func clientHostIsThePeerAddress() async throws {
        let fixture = try GroupFixture()
        let router = Self.router(fixture, store: InMemoryLogStore())
        let connection = KafkaConnectionInfo(
            remoteAddress: try SocketAddress(ipAddress: "127.0.0.9", port: 40_000), connectionNumber: 1)
        let join = JoinGroupRequest(
            groupId: "g", sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, protocolType: "consumer",
            protocols: [.init(name: "range", metadata: ByteBuffer(string: "m"))])
        let response = try await Self.send(router, join, version: 3, on: connection)
        #expect(response.errorCode == 0)
        let members = await fixture.coordinator.describeGroup("g")?.members ?? []
        #expect(members.map(\.clientHost) == ["/127.0.0.9"])
        await fixture.tearDown()
    }

    @Test("DeleteTopics removes every group's committed offsets of that topic, and only of that topic")
    func deleteTopicRemovesOffsets() async throws {
        let fixture = try GroupFixture()
        let store = InMemoryLogStore()
        try await store.createTopic("doomed", partitions: 2, configs: [:])
        try await store.createTopic("kept", partitions: 1, configs: [:])
        let router = Self.router(fixture, store: store)
        let connection = KafkaConnectionInfo(remoteAddress: nil, connectionNumber: 2)
        for group in ["g1", "g2"] {
            let commit = OffsetCommitRequest(
                groupId: group, generationIdOrMemberEpoch: -1, memberId: "",
                topics: [
                    .init(name: "doomed", partitions: [.init(partitionIndex: 0, committedOffset: 5), .init(partitionIndex: 1, committedOffset: 6)]),
                    .init(name: "kept", partitions: [.init(partitionIndex: 0, committedOffset: 7)]),
                ])
            let response = try await Self.send(router, commit, version: 7, on: connection)
            #expect(response.topics.flatMap(\.partitions).allSatisfy { $0.errorCode == 0 })
        }
        #expect(fixture.coordinator.offsetStore.committedOffsets(group: "g1")["doomed"]?.count == 2)

        let deleted = try await Self.send(router, DeleteTopicsRequest(topicNames: ["doomed"], timeoutMs: 1000), version: 4, on: connection)
        #expect(deleted.responses.map(\.errorCode) == [0])
        for group in ["g1", "g2"] {
            let offsets = fixture.coordinator.offsetStore.committedOffsets(group: group)
            #expect(offsets["doomed"] == nil, "\(group) still has offsets of the deleted topic")
            #expect(offsets["kept"]?[0]?.offset == 7)
        }
        // Durable: a store reopened from the same directory agrees.
        await fixture.tearDown(keepDirectory: true)
        let reopened = try OffsetStore(dataDirectory: fixture.directory.path)
        #expect(reopened.committedOffsets(group: "g1")["doomed"] == nil)
        #expect(reopened.committedOffsets(group: "g1")["kept"]?[0]?.offset == 7)
        reopened.close()
        fixture.directory.remove()
    }
}
