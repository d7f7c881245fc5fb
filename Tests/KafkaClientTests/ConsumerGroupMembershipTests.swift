import KafkaClient
import KafkaProtocol
import NIOCore
import Testing

/// The group membership state machine driven by scripted coordinator responses.
@Suite("Consumer group membership")
struct ConsumerGroupMembershipTests {
    private func makeMembership() -> ConsumerGroupMembership {
        ConsumerGroupMembership(
            groupID: "collectors", topics: ["logs", "audit", "logs"], assignors: [RangeAssignor(), RoundRobinAssignor()],
            sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 30_000)
    }

    private func joinResponse(
        error: KafkaErrorCode = .none, memberID: String, leader: String = "", generation: Int32 = -1,
        protocolName: String? = "range", members: [(String, [String])] = []
    ) -> JoinGroupResponse {
        JoinGroupResponse(
            errorCode: error.rawValue, generationId: generation, protocolType: "consumer", protocolName: protocolName,
            leader: leader, memberId: memberID,
            members: members.map { .init(memberId: $0.0, metadata: ConsumerProtocolSubscription(topics: $0.1).encoded()) })
    }

    private func syncResponse(error: KafkaErrorCode = .none, _ partitions: [ConsumerProtocolTopicPartitions] = []) -> SyncGroupResponse {
        SyncGroupResponse(
            errorCode: error.rawValue, protocolType: "consumer", protocolName: "range",
            assignment: error == .none ? ConsumerProtocolAssignment(assignedPartitions: partitions).encoded() : ByteBuffer())
    }

    @Test("join: MEMBER_ID_REQUIRED round, leader assigns, sync gives the partitions")
    func leaderFlow() throws {
        var membership = makeMembership()
        let first = membership.joinRequest()
        #expect(membership.phase == .joining)
        #expect(first.memberId == "")
        #expect(first.protocolType == "consumer")
        #expect(first.protocols.map(\.name) == ["range", "roundrobin"])
        let offered = try ConsumerProtocolSubscription(decoding: first.protocols[0].metadata)
        #expect(offered.topics == ["audit", "logs"])

        #expect(try membership.handleJoin(joinResponse(error: .memberIdRequired, memberID: "m-1")) == .rejoin)
        #expect(membership.memberID == "m-1")
        let second = membership.joinRequest()
        #expect(second.memberId == "m-1")

        let step = try membership.handleJoin(joinResponse(
            memberID: "m-1", leader: "m-1", generation: 5,
            members: [("m-1", ["logs", "audit"]), ("m-2", ["logs"])]))
        #expect(membership.isLeader)
        #expect(membership.generationID == 5)
        #expect(membership.phase == .syncing)
        guard case .assign(let members) = step else {
            Issue.record("leader expected .assign, got \(step)")
            return
        }
        #expect(Set(members.map(\.memberID)) == ["m-1", "m-2"])
        let assignments = try membership.assignments(members: members, partitionCounts: ["logs": 4, "audit": 1])
        #expect(assignments.map(\.memberId) == ["m-1", "m-2"])
        let forSecond = try ConsumerProtocolAssignment(decoding: assignments[1].assignment)
        #expect(forSecond.assignedPartitions == [.init(topic: "logs", partitions: [2, 3])])
        let sync = membership.syncRequest(assignments: assignments)
        #expect(sync.generationId == 5 && sync.memberId == "m-1" && sync.protocolName == "range")

        let forFirst = try ConsumerProtocolAssignment(decoding: assignments[0].assignment)
        let assigned = try membership.handleSync(syncResponse(forFirst.assignedPartitions))
        let expected = [TopicPartition(topic: "audit", partition: 0), .init(topic: "logs", partition: 0), .init(topic: "logs", partition: 1)]
        #expect(assigned == .assigned(expected))
        #expect(membership.phase == .stable)
        #expect(membership.assignment == expected)
    }

    @Test("follower: sync without assignments; topics not subscribed to are dropped from the assignment")
    func followerFlow() throws {
        var membership = makeMembership()
        _ = membership.joinRequest()
        let step = try membership.handleJoin(joinResponse(memberID: "m-2", leader: "m-1", generation: 3))
        #expect(step == .sync)
        #expect(!membership.isLeader)
        #expect(membership.syncRequest().assignments.isEmpty)
        let assigned = try membership.handleSync(syncResponse([
            .init(topic: "logs", partitions: [3, 1]), .init(topic: "other", partitions: [0]),
        ]))
        #expect(assigned == .assigned([.init(topic: "logs", partition: 1), .init(topic: "logs", partition: 3)]))
    }

    @Test("heartbeat: REBALANCE_IN_PROGRESS rejoins keeping the member id; stale ids reset")
    func heartbeatErrors() throws {
        var membership = makeMembership()
        _ = membership.joinRequest()
        _ = try membership.handleJoin(joinResponse(memberID: "m-2", leader: "m-1", generation: 3))
        _ = try membership.handleSync(syncResponse([.init(topic: "logs", partitions: [0])]))
        #expect(membership.heartbeatRequest().generationId == 3)
        #expect(try membership.handleHeartbeat(HeartbeatResponse()) == .none)
        #expect(try membership.handleHeartbeat(HeartbeatResponse(errorCode: KafkaErrorCode.notCoordinator.rawValue)) == .findCoordinator)
        #expect(membership.phase == .stable)

        #expect(try membership.handleHeartbeat(HeartbeatResponse(errorCode: KafkaErrorCode.rebalanceInProgress.rawValue)) == .rejoin)
        #expect(membership.memberID == "m-2" && membership.generationID == 3)
        let rejoin = membership.joinRequest()
        #expect(rejoin.memberId == "m-2")
        #expect(membership.assignment.isEmpty, "eager protocol: everything is revoked before a rejoin")
        #expect(try ConsumerProtocolSubscription(decoding: rejoin.protocols[0].metadata).generationID == 3)

        _ = try membership.handleJoin(joinResponse(memberID: "m-2", leader: "m-1", generation: 4))
        #expect(try membership.handleHeartbeat(HeartbeatResponse(errorCode: KafkaErrorCode.illegalGeneration.rawValue)) == .rejoin)
        #expect(membership.memberID == "m-2" && membership.generationID == -1 && membership.phase == .unjoined)

        #expect(try membership.handleHeartbeat(HeartbeatResponse(errorCode: KafkaErrorCode.unknownMemberId.rawValue)) == .rejoin)
        #expect(membership.memberID == "" && membership.generationID == -1)

        #expect(throws: KafkaConsumerError.self) {
            try membership.handleHeartbeat(HeartbeatResponse(errorCode: KafkaErrorCode.groupAuthorizationFailed.rawValue))
        }
    }

    @Test("join and sync errors: retry, rediscover, reset or fail")
    func joinAndSyncErrors() throws {
        var membership = makeMembership()
        _ = membership.joinRequest()
        #expect(try membership.handleJoin(joinResponse(error: .coordinatorLoadInProgress, memberID: "")) == .retryJoinAfterBackoff)
        #expect(try membership.handleJoin(joinResponse(error: .notCoordinator, memberID: "")) == .findCoordinatorAndRejoin)
        #expect(try membership.handleJoin(joinResponse(error: .unknownMemberId, memberID: "")) == .rejoin)
        do {
            _ = try membership.handleJoin(joinResponse(error: .inconsistentGroupProtocol, memberID: ""))
            Issue.record("INCONSISTENT_GROUP_PROTOCOL did not throw")
        } catch {
            #expect(error.kind == .groupError(.inconsistentGroupProtocol))
            #expect(error.description.contains("collectors"))
        }

        _ = try membership.handleJoin(joinResponse(memberID: "m-1", leader: "m-0", generation: 2))
        #expect(try membership.handleSync(syncResponse(error: .rebalanceInProgress)) == .rejoin)
        #expect(membership.memberID == "m-1")
        _ = try membership.handleJoin(joinResponse(memberID: "m-1", leader: "m-0", generation: 3))
        #expect(try membership.handleSync(syncResponse(error: .unknownMemberId)) == .rejoin)
        #expect(membership.memberID == "")

        // The leader got members whose metadata is garbage.
        var garbage = joinResponse(memberID: "m-1", leader: "m-1", generation: 4)
        garbage.members = [.init(memberId: "m-9", metadata: ByteBuffer(bytes: [0, 0, 0]))]
        #expect(throws: KafkaConsumerError.self) { try membership.handleJoin(garbage) }
        #expect(membership.phase == .unjoined)
    }

    @Test("the leader refuses an assignor it did not offer")
    func unknownAssignor() throws {
        var membership = makeMembership()
        _ = membership.joinRequest()
        _ = try membership.handleJoin(joinResponse(
            memberID: "m-1", leader: "m-1", generation: 1, protocolName: "cooperative-sticky", members: [("m-1", ["logs"])]))
        #expect(throws: KafkaConsumerError.self) { try membership.assignments(members: [], partitionCounts: [:]) }
    }

    @Test("commit errors that mean the generation is gone reset it; leave sends the member id once")
    func commitAndLeave() throws {
        var membership = makeMembership()
        #expect(membership.leaveRequest() == nil, "never joined: nothing to leave")
        membership = makeMembership()
        _ = membership.joinRequest()
        _ = try membership.handleJoin(joinResponse(memberID: "m-1", leader: "m-1", generation: 1, members: [("m-1", ["logs"])]))
        let partition = TopicPartition(topic: "logs", partition: 0)
        #expect(membership.commitError(.none, partition: partition) == nil)
        let failed = membership.commitError(.illegalGeneration, partition: partition)
        #expect(failed?.kind == .commitFailed(.illegalGeneration))
        #expect(failed?.description.contains("logs-0") == true)
        #expect(membership.generationID == -1 && membership.memberID == "m-1")
        #expect(membership.commitError(.offsetMetadataTooLarge, partition: partition)?.kind == .groupError(.offsetMetadataTooLarge))
        var old = membership
        #expect(old.leaveRequest(version: 2)?.memberId == "m-1")
        let leave = membership.leaveRequest(version: 5)
        #expect(leave?.memberId == "")
        #expect(leave?.members.map(\.memberId) == ["m-1"])
        #expect(membership.phase == .left)
        // Every version the requests are built for encodes (no field a version cannot carry).
        for version in LeaveGroupRequest.validVersions {
            var copy = makeMembership()
            _ = copy.joinRequest()
            _ = try copy.handleJoin(joinResponse(memberID: "m-1", leader: "m-0", generation: 1))
            var buffer = ByteBuffer()
            try copy.syncRequest(version: min(version, 5)).encode(into: &buffer, version: min(version, 5))
            try copy.leaveRequest(version: version)?.encode(into: &buffer, version: version)
        }
    }
}
