@testable import KafkaBroker
import KafkaProtocol
import NIOCore
import Testing
import TributaryTestSupport

/// Encodes at `version` and decodes again, as the network layer does on both sides.
private func wire<M: KafkaMessage>(_ message: M, version: Int16) throws -> M {
    var buffer = ByteBuffer()
    try message.encode(into: &buffer, version: version)
    let decoded = try M(from: &buffer, version: version)
    #expect(buffer.readableBytes == 0)
    return decoded
}

/// Whole consumer-group sessions at the API versions real clients send, every request and
/// response going through the wire encoding at that version.
@Suite("Group coordinator: client sessions over the wire encoding")
struct GroupWireFlowTests {
    struct Versions: Sendable, CustomTestStringConvertible {
        var join: Int16, sync: Int16, heartbeat: Int16, leave: Int16, commit: Int16, fetch: Int16
        var testDescription: String { "JoinGroup v\(join), SyncGroup v\(sync), OffsetCommit v\(commit), OffsetFetch v\(fetch)" }
    }

    @Test("join, sync, heartbeat, commit, fetch, leave", arguments: [
        Versions(join: 0, sync: 0, heartbeat: 0, leave: 0, commit: 0, fetch: 0),  // oldest
        Versions(join: 2, sync: 1, heartbeat: 1, leave: 1, commit: 2, fetch: 1),  // kafka-python
        Versions(join: 5, sync: 3, heartbeat: 3, leave: 3, commit: 7, fetch: 7),  // librdkafka 2.x
        Versions(join: 9, sync: 5, heartbeat: 4, leave: 5, commit: 9, fetch: 9),  // newest
    ])
    func session(versions: Versions) async throws {
        let fixture = try GroupFixture()
        defer { fixture.directory.remove() }
        let coordinator = fixture.coordinator
        let protocols = [JoinGroupRequest.JoinGroupRequestProtocol(name: "range", metadata: ByteBuffer(string: "subscription"))]
        func join(_ memberId: String) async throws -> JoinGroupResponse {
            let request = try wire(
                JoinGroupRequest(groupId: "g", sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 20_000, memberId: memberId,
                                 protocolType: "consumer", protocols: protocols),
                version: versions.join)
            return try wire(await coordinator.joinGroup(request, version: versions.join, clientId: "py", clientHost: "/h"),
                            version: versions.join)
        }

        var joined = try await join("")
        if versions.join >= 4 {
            #expect(joined.errorCode == KafkaErrorCode.memberIdRequired.rawValue)
            joined = try await join(joined.memberId)
        }
        #expect(joined.errorCode == 0 && joined.generationId == 1 && joined.leader == joined.memberId)
        #expect(joined.protocolName == "range")
        #expect(joined.members.first?.metadata == ByteBuffer(string: "subscription"))
        let member = joined.memberId

        let sync = try wire(
            await coordinator.syncGroup(
                try wire(SyncGroupRequest(groupId: "g", generationId: 1, memberId: member,
                                          assignments: [.init(memberId: member, assignment: ByteBuffer(string: "p0"))]),
                         version: versions.sync),
                version: versions.sync),
            version: versions.sync)
        #expect(sync.errorCode == 0 && sync.assignment == ByteBuffer(string: "p0"))

        let heartbeat = try wire(
            await coordinator.heartbeat(
                try wire(HeartbeatRequest(groupId: "g", generationId: 1, memberId: member), version: versions.heartbeat),
                version: versions.heartbeat),
            version: versions.heartbeat)
        #expect(heartbeat.errorCode == 0)

        // v0 commits carry no generation: only a group without members accepts them.
        let commitGeneration: Int32 = versions.commit >= 1 ? 1 : -1
        let commit = try wire(
            await coordinator.commitOffsets(
                try wire(OffsetCommitRequest(
                    groupId: "g", generationIdOrMemberEpoch: commitGeneration, memberId: versions.commit >= 1 ? member : "",
                    topics: [.init(name: "logs", partitions: [.init(partitionIndex: 0, committedOffset: 77, committedMetadata: "m")])]),
                    version: versions.commit),
                version: versions.commit),
            version: versions.commit)
        let commitError = KafkaErrorCode(rawValue: commit.topics[0].partitions[0].errorCode)
        #expect(commitError == (versions.commit >= 1 ? .none : .unknownMemberId))

        let leave = try wire(
            await coordinator.leaveGroup(
                try wire(versions.leave >= 3
                         ? LeaveGroupRequest(groupId: "g", members: [.init(memberId: member)])
                         : LeaveGroupRequest(groupId: "g", memberId: member),
                         version: versions.leave),
                version: versions.leave),
            version: versions.leave)
        #expect(leave.errorCode == 0 && leave.members.allSatisfy { $0.errorCode == 0 })

        if versions.commit == 0 {
            // Now the group is empty: the standalone commit goes through.
            let retry = await coordinator.commitOffsets(
                OffsetCommitRequest(groupId: "g", topics: [.init(name: "logs", partitions: [
                    .init(partitionIndex: 0, committedOffset: 77, committedMetadata: "m")])]),
                version: 0)
            #expect(retry.topics[0].partitions[0].errorCode == 0)
        }

        let fetchRequest = versions.fetch >= 8
            ? OffsetFetchRequest(groups: [.init(groupId: "g", topics: [.init(name: "logs", partitionIndexes: [0, 1])])])
            : OffsetFetchRequest(groupId: "g", topics: [.init(name: "logs", partitionIndexes: [0, 1])])
        let fetch = try wire(
            await coordinator.fetchOffsets(try wire(fetchRequest, version: versions.fetch), version: versions.fetch),
            version: versions.fetch)
        if versions.fetch >= 8 {
            #expect(fetch.groups.first?.topics.first?.partitions.map(\.committedOffset) == [77, -1])
        } else {
            #expect(fetch.topics.first?.partitions.map(\.committedOffset) == [77, -1])
            #expect(fetch.topics.first?.partitions.first?.metadata == "m")
        }
        await fixture.tearDown()
    }
}
