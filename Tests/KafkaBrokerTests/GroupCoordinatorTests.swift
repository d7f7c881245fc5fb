@testable import KafkaBroker
import KafkaProtocol
import Logging
import NIOCore
import Synchronization
import Testing
import TributaryTestSupport

// MARK: - Helpers shared by the Group*Tests files

/// A clock that moves only when a test says so.
final class ManualGroupClock: GroupCoordinatorClock {
    private let milliseconds = Mutex<Int64>(1_000_000)

    func monotonicMilliseconds() -> Int64 { milliseconds.withLock { $0 } }
    func unixMilliseconds() -> Int64 { 1_700_000_000_000 + monotonicMilliseconds() }

    func advance(byMilliseconds delta: Int64) {
        milliseconds.withLock { $0 += delta }
    }
}

/// A coordinator over a fresh data directory and a manual clock.
struct GroupFixture {
    let directory: TemporaryDirectory
    let clock = ManualGroupClock()
    let coordinator: GroupCoordinator
    let group = "g"

    init(
        initialRebalanceDelay: Duration = .zero,
        partitionExists: @escaping @Sendable (String, Int32) -> Bool = { _, _ in true }
    ) throws {
        directory = try TemporaryDirectory(prefix: "tributary-groups")
        coordinator = GroupCoordinator(
            configuration: GroupCoordinatorConfiguration(initialRebalanceDelay: initialRebalanceDelay),
            offsetStore: try OffsetStore(dataDirectory: directory.path),
            clock: clock,
            partitionExists: partitionExists,
            logger: .quietForTests)
    }

    func tearDown(keepDirectory: Bool = false) async {
        await coordinator.shutdown()
        if !keepDirectory { directory.remove() }
    }

    /// Moves the clock and applies the timers.
    func advance(byMilliseconds delta: Int64) async {
        clock.advance(byMilliseconds: delta)
        await coordinator.tick()
    }

    /// One JoinGroup call.
    func join(
        memberId: String = "",
        client: String,
        protocols: [String] = ["range"],
        version: Int16 = 7,
        sessionTimeoutMs: Int32 = 10_000,
        rebalanceTimeoutMs: Int32 = 30_000,
        instanceId: String? = nil
    ) async -> JoinGroupResponse {
        await coordinator.joinGroup(
            JoinGroupRequest(
                groupId: group,
                sessionTimeoutMs: sessionTimeoutMs,
                rebalanceTimeoutMs: rebalanceTimeoutMs,
                memberId: memberId,
                groupInstanceId: instanceId,
                protocolType: "consumer",
                protocols: protocols.map {
                    .init(name: $0, metadata: ByteBuffer(string: "\(client)/\($0)"))
                }),
            version: version, clientId: client, clientHost: "/127.0.0.1")
    }

    /// JoinGroup as a v4+ client does it: the MEMBER_ID_REQUIRED round, then the real join.
    func joinNewMember(client: String, protocols: [String] = ["range"], version: Int16 = 7) async -> JoinGroupResponse {
        let first = await join(client: client, protocols: protocols, version: version)
        #expect(first.errorCode == KafkaErrorCode.memberIdRequired.rawValue)
        return await join(memberId: first.memberId, client: client, protocols: protocols, version: version)
    }

    func sync(
        memberId: String, generationId: Int32, assignments: [String: String] = [:], version: Int16 = 5
    ) async -> SyncGroupResponse {
        await coordinator.syncGroup(
            SyncGroupRequest(
                groupId: group, generationId: generationId, memberId: memberId,
                protocolType: version >= 5 ? "consumer" : nil,
                assignments: assignments.sorted { $0.key < $1.key }.map {
                    .init(memberId: $0.key, assignment: ByteBuffer(string: $0.value))
                }),
            version: version)
    }

    func heartbeat(memberId: String, generationId: Int32) async -> KafkaErrorCode {
        let response = await coordinator.heartbeat(
            HeartbeatRequest(groupId: group, generationId: generationId, memberId: memberId), version: 4)
        return KafkaErrorCode(rawValue: response.errorCode)
    }

    func waitUntil(_ predicate: @escaping @Sendable (GroupDescription?) -> Bool) async {
        await coordinator.waitUntil(group, predicate)
    }

    /// Forms a stable group of `clients` with the realistic flow of a zero initial delay: the
    /// first member gets generation 1 alone; each newcomer triggers a rebalance that the
    /// existing members join again. Returns the final join responses by client, and the
    /// leader synced the assignment `assign-<client>` to everyone.
    func formStableGroup(_ clients: [String]) async -> [String: JoinGroupResponse] {
        var members: [String: String] = [:]  // client → member id
        var responses: [String: JoinGroupResponse] = [:]
        for client in clients {
            let existing = members
            let round = await withTaskGroup(of: (String, JoinGroupResponse).self) { tasks in
                tasks.addTask { (client, await self.joinNewMember(client: client)) }
                if !existing.isEmpty {
                    await waitUntil { $0?.state == .preparingRebalance && $0?.members.count == existing.count + 1 }
                    for (other, memberId) in existing {
                        tasks.addTask { (other, await self.join(memberId: memberId, client: other)) }
                    }
                }
                var round: [String: JoinGroupResponse] = [:]
                for await (client, response) in tasks { round[client] = response }
                return round
            }
            for (client, response) in round {
                #expect(response.errorCode == 0)
                members[client] = response.memberId
            }
            responses = round
        }
        let generation = responses[clients[0]]!.generationId
        let leader = responses.values.first { $0.memberId == $0.leader }!
        let assignments = Dictionary(uniqueKeysWithValues: members.map { ($0.value, "assign-\($0.key)") })
        let leaderSync = await sync(memberId: leader.memberId, generationId: generation, assignments: assignments)
        #expect(leaderSync.errorCode == 0)
        for (_, response) in responses where response.memberId != leader.memberId {
            let followerSync = await sync(memberId: response.memberId, generationId: generation)
            #expect(followerSync.errorCode == 0)
        }
        return responses
    }
}

extension Logger {
    /// Only critical messages: keeps test output readable.
    static var quietForTests: Logger {
        var logger = Logger(label: "tributary.test.groups")
        logger.logLevel = .critical
        return logger
    }
}

extension ByteBuffer {
    var stringValue: String { String(buffer: self) }
}

// MARK: - Tests

@Suite("Group coordinator: membership and rebalances")
struct GroupCoordinatorTests {
    @Test("two members join a new group in one generation; the leader assigns, SyncGroup delivers")
    func twoMembersJoinOneGeneration() async throws {
        let fixture = try GroupFixture(initialRebalanceDelay: .seconds(3))
        defer { fixture.directory.remove() }

        let joins = await withTaskGroup(of: (String, JoinGroupResponse).self) { tasks in
            tasks.addTask { ("a", await fixture.joinNewMember(client: "a", protocols: ["range", "roundrobin"])) }
            await fixture.waitUntil { $0?.members.count == 1 }
            tasks.addTask { ("b", await fixture.joinNewMember(client: "b", protocols: ["roundrobin", "range"])) }
            await fixture.waitUntil { $0?.members.count == 2 && $0!.members.allSatisfy(\.isAwaitingJoin) }
            // The new group waits for the initial rebalance delay before completing.
            await fixture.advance(byMilliseconds: 2_999)
            #expect(await fixture.coordinator.describeGroup("g")?.state == .preparingRebalance)
            await fixture.advance(byMilliseconds: 1)
            var joins: [String: JoinGroupResponse] = [:]
            for await (client, response) in tasks { joins[client] = response }
            return joins
        }
        let a = try #require(joins["a"])
        let b = try #require(joins["b"])
        #expect(a.errorCode == 0 && b.errorCode == 0)
        #expect(a.generationId == 1 && b.generationId == 1)
        #expect(a.leader == a.memberId && b.leader == a.memberId)
        #expect(a.memberId.hasPrefix("a-") && b.memberId.hasPrefix("b-"))
        // One vote each: the tie goes to the leader's preference.
        #expect(a.protocolName == "range" && b.protocolName == "range")
        #expect(a.protocolType == "consumer")
        #expect(a.members.map(\.memberId) == [a.memberId, b.memberId])
        #expect(a.members.map(\.metadata.stringValue) == ["a/range", "b/range"])
        #expect(b.members.isEmpty)

        // The follower's SyncGroup waits for the leader's.
        let syncs = await withTaskGroup(of: (String, SyncGroupResponse).self) { tasks in
            tasks.addTask { ("b", await fixture.sync(memberId: b.memberId, generationId: 1)) }
            await fixture.waitUntil { $0?.members.last?.isAwaitingSync == true }
            tasks.addTask {
                ("a", await fixture.sync(
                    memberId: a.memberId, generationId: 1,
                    assignments: [a.memberId: "partitions 0,1", b.memberId: "partitions 2,3"]))
            }
            var syncs: [String: SyncGroupResponse] = [:]
            for await (client, response) in tasks { syncs[client] = response }
            return syncs
        }
        #expect(syncs["a"]?.errorCode == 0 && syncs["b"]?.errorCode == 0)
        #expect(syncs["a"]?.assignment.stringValue == "partitions 0,1")
        #expect(syncs["b"]?.assignment.stringValue == "partitions 2,3")
        #expect(syncs["b"]?.protocolName == "range")
        #expect(await fixture.coordinator.describeGroup("g")?.state == .stable)
        #expect(await fixture.heartbeat(memberId: b.memberId, generationId: 1) == .none)
        await fixture.tearDown()
    }

    @Test("JoinGroup v4+ without member id: MEMBER_ID_REQUIRED with clientId-UUID, then the join")
    func memberIdRequiredRound() async throws {
        let fixture = try GroupFixture()
        defer { fixture.directory.remove() }

        let first = await fixture.join(client: "consumer-1", version: 4)
        #expect(first.errorCode == KafkaErrorCode.memberIdRequired.rawValue)
        #expect(first.generationId == -1)
        let suffix = first.memberId.dropFirst("consumer-1-".count)
        #expect(first.memberId.hasPrefix("consumer-1-"))
        #expect(suffix.count == 36 && suffix.split(separator: "-").map(\.count) == [8, 4, 4, 4, 12])
        #expect(await fixture.coordinator.describeGroup("g")?.pendingMemberCount == 1)

        let second = await fixture.join(memberId: first.memberId, client: "consumer-1", version: 4)
        #expect(second.errorCode == 0)
        #expect(second.memberId == first.memberId && second.leader == first.memberId)
        #expect(second.generationId == 1 && second.members.count == 1)

        // Before v4 there is no such round: the member id comes with the completed join.
        let old = try GroupFixture()
        defer { old.directory.remove() }
        let v3 = await old.join(client: "legacy", version: 3)
        #expect(v3.errorCode == 0 && v3.memberId.hasPrefix("legacy-") && v3.generationId == 1)

        // A member id that never comes back expires after the session timeout.
        let pending = await old.join(client: "late", version: 5)
        #expect(pending.errorCode == KafkaErrorCode.memberIdRequired.rawValue)
        #expect(await old.coordinator.describeGroup("g")?.pendingMemberCount == 1)
        await old.advance(byMilliseconds: 5_000)
        #expect(await old.heartbeat(memberId: v3.memberId, generationId: 1) == .none)
        await old.advance(byMilliseconds: 5_000)
        #expect(await old.coordinator.describeGroup("g")?.pendingMemberCount == 0)
        #expect(await old.coordinator.describeGroup("g")?.members.count == 1)
        // A pending id was never a member: its expiry does not start a rebalance.
        #expect(await old.coordinator.describeGroup("g")?.state == .completingRebalance)
        // An unknown member id is refused.
        let bogus = await old.join(memberId: "nobody", client: "x")
        #expect(bogus.errorCode == KafkaErrorCode.unknownMemberId.rawValue)
        await old.tearDown()
        await fixture.tearDown()
    }

    @Test("a third member triggers a rebalance: heartbeats say REBALANCE_IN_PROGRESS, all rejoin, new generation")
    func thirdMemberTriggersRebalance() async throws {
        let fixture = try GroupFixture()
        defer { fixture.directory.remove() }
        let stable = await fixture.formStableGroup(["a", "b"])
        let a = stable["a"]!
        let b = stable["b"]!
        let generation = a.generationId
        #expect(b.generationId == generation)

        let round = await withTaskGroup(of: (String, JoinGroupResponse).self) { tasks in
            tasks.addTask { ("c", await fixture.joinNewMember(client: "c")) }
            await fixture.waitUntil { $0?.state == .preparingRebalance }
            #expect(await fixture.heartbeat(memberId: a.memberId, generationId: generation) == .rebalanceInProgress)
            #expect(await fixture.heartbeat(memberId: b.memberId, generationId: generation) == .rebalanceInProgress)
            tasks.addTask { ("a", await fixture.join(memberId: a.memberId, client: "a")) }
            await fixture.waitUntil { $0?.members.filter(\.isAwaitingJoin).count == 2 }
            #expect(await fixture.coordinator.describeGroup("g")?.state == .preparingRebalance)
            tasks.addTask { ("b", await fixture.join(memberId: b.memberId, client: "b")) }
            var round: [String: JoinGroupResponse] = [:]
            for await (client, response) in tasks { round[client] = response }
            return round
        }
        #expect(Set(round.values.map(\.generationId)) == [generation + 1])
        #expect(round.values.allSatisfy { $0.errorCode == 0 && $0.leader == a.memberId })
        #expect(round["a"]?.members.count == 3)
        // The old generation is now stale.
        #expect(await fixture.heartbeat(memberId: a.memberId, generationId: generation) == .illegalGeneration)
        #expect(await fixture.heartbeat(memberId: a.memberId, generationId: generation + 1) == .none)
        await fixture.tearDown()
    }

    @Test("a member that stops heartbeating is removed after its session timeout; the rest rebalance")
    func sessionTimeoutRemovesMember() async throws {
        let fixture = try GroupFixture()
        defer { fixture.directory.remove() }
        let stable = await fixture.formStableGroup(["a", "b"])
        let a = stable["a"]!
        let b = stable["b"]!
        let generation = a.generationId

        await fixture.advance(byMilliseconds: 6_000)
        #expect(await fixture.heartbeat(memberId: a.memberId, generationId: generation) == .none)
        await fixture.advance(byMilliseconds: 3_999)
        #expect(await fixture.coordinator.describeGroup("g")?.members.count == 2)
        await fixture.advance(byMilliseconds: 1)  // b: 10 s without a heartbeat
        let group = await fixture.coordinator.describeGroup("g")
        #expect(group?.members.map(\.memberId) == [a.memberId])
        #expect(group?.state == .preparingRebalance)
        #expect(await fixture.heartbeat(memberId: b.memberId, generationId: generation) == .unknownMemberId)
        #expect(await fixture.heartbeat(memberId: a.memberId, generationId: generation) == .rebalanceInProgress)

        let rejoin = await fixture.join(memberId: a.memberId, client: "a")
        #expect(rejoin.errorCode == 0 && rejoin.generationId == generation + 1)
        #expect(rejoin.leader == a.memberId && rejoin.members.map(\.memberId) == [a.memberId])
        await fixture.tearDown()
    }

    @Test("members that do not rejoin within the rebalance timeout are dropped from the new generation")
    func rebalanceTimeoutDropsLaggards() async throws {
        let fixture = try GroupFixture()
        defer { fixture.directory.remove() }
        let stable = await fixture.formStableGroup(["a", "b"])
        let a = stable["a"]!
        let b = stable["b"]!
        let generation = a.generationId

        let round = await withTaskGroup(of: (String, JoinGroupResponse).self) { tasks in
            tasks.addTask { ("c", await fixture.joinNewMember(client: "c")) }
            await fixture.waitUntil { $0?.state == .preparingRebalance }
            tasks.addTask { ("a", await fixture.join(memberId: a.memberId, client: "a")) }
            await fixture.waitUntil { $0?.members.filter(\.isAwaitingJoin).count == 2 }
            // b keeps heartbeating but never rejoins: it stays alive until the 30 s rebalance timeout.
            for _ in 0..<3 {
                await fixture.advance(byMilliseconds: 9_000)
                #expect(await fixture.heartbeat(memberId: b.memberId, generationId: generation) == .rebalanceInProgress)
            }
            await fixture.advance(byMilliseconds: 3_000)
            var round: [String: JoinGroupResponse] = [:]
            for await (client, response) in tasks { round[client] = response }
            return round
        }
        #expect(round["a"]?.generationId == generation + 1 && round["c"]?.generationId == generation + 1)
        #expect(Set(round["a"]!.members.map(\.memberId)) == [a.memberId, round["c"]!.memberId])
        #expect(await fixture.heartbeat(memberId: b.memberId, generationId: generation) == .unknownMemberId)
        await fixture.tearDown()
    }

    @Test("LeaveGroup (v0-2 single member, v3+ batch) triggers a rebalance; unknown members are reported")
    func leaveTriggersRebalance() async throws {
        let fixture = try GroupFixture()
        defer { fixture.directory.remove() }
        let stable = await fixture.formStableGroup(["a", "b", "c"])
        let (a, b, c) = (stable["a"]!, stable["b"]!, stable["c"]!)
        let generation = a.generationId

        let v3 = await fixture.coordinator.leaveGroup(
            LeaveGroupRequest(groupId: "g", members: [.init(memberId: b.memberId), .init(memberId: "ghost")]), version: 3)
        #expect(v3.errorCode == 0)
        #expect(v3.members.map(\.errorCode) == [0, KafkaErrorCode.unknownMemberId.rawValue])
        #expect(await fixture.coordinator.describeGroup("g")?.state == .preparingRebalance)
        #expect(await fixture.heartbeat(memberId: a.memberId, generationId: generation) == .rebalanceInProgress)

        let round = await withTaskGroup(of: (String, JoinGroupResponse).self) { tasks in
            tasks.addTask { ("a", await fixture.join(memberId: a.memberId, client: "a")) }
            tasks.addTask { ("c", await fixture.join(memberId: c.memberId, client: "c")) }
            var round: [String: JoinGroupResponse] = [:]
            for await (client, response) in tasks { round[client] = response }
            return round
        }
        #expect(round["a"]?.generationId == generation + 1 && round["c"]?.generationId == generation + 1)
        #expect(round["a"]?.members.count == 2)

        // v0: one member; a member whose JoinGroup is parked gets UNKNOWN_MEMBER_ID for it.
        let single = await fixture.coordinator.leaveGroup(LeaveGroupRequest(groupId: "g", memberId: "ghost"), version: 0)
        #expect(single.errorCode == KafkaErrorCode.unknownMemberId.rawValue)
        let parked = await withTaskGroup(of: JoinGroupResponse.self) { tasks in
            tasks.addTask { await fixture.join(memberId: a.memberId, client: "a", protocols: ["sticky", "range"]) }
            await fixture.waitUntil { $0?.members.first?.isAwaitingJoin == true }
            let leave = await fixture.coordinator.leaveGroup(LeaveGroupRequest(groupId: "g", memberId: a.memberId), version: 1)
            #expect(leave.errorCode == 0)
            return await tasks.next()!
        }
        #expect(parked.errorCode == KafkaErrorCode.unknownMemberId.rawValue)
        // c is alone now and completes the rebalance by rejoining.
        let alone = await fixture.join(memberId: c.memberId, client: "c")
        #expect(alone.generationId == generation + 2 && alone.leader == c.memberId)
        // The last member leaving empties the group.
        _ = await fixture.coordinator.leaveGroup(LeaveGroupRequest(groupId: "g", memberId: c.memberId), version: 2)
        #expect(await fixture.coordinator.describeGroup("g") == nil)
        await fixture.tearDown()
    }

    @Test("SyncGroup and Heartbeat errors: unknown member, stale generation, rebalance while awaiting sync")
    func syncAndHeartbeatErrors() async throws {
        let fixture = try GroupFixture()
        defer { fixture.directory.remove() }
        #expect(await fixture.heartbeat(memberId: "x", generationId: 1) == .unknownMemberId)
        let unknownGroupSync = await fixture.sync(memberId: "x", generationId: 1)
        #expect(unknownGroupSync.errorCode == KafkaErrorCode.unknownMemberId.rawValue)

        let stable = await fixture.formStableGroup(["a", "b"])
        let (a, b) = (stable["a"]!, stable["b"]!)
        let generation = a.generationId
        #expect(await fixture.sync(memberId: "x", generationId: generation).errorCode == KafkaErrorCode.unknownMemberId.rawValue)
        #expect(await fixture.sync(memberId: b.memberId, generationId: generation - 1).errorCode
            == KafkaErrorCode.illegalGeneration.rawValue)
        // In Stable a repeated SyncGroup returns the same assignment.
        #expect(await fixture.sync(memberId: b.memberId, generationId: generation).assignment.stringValue == "assign-b")

        // A follower waiting for the leader's assignment learns about a new rebalance.
        let round = await withTaskGroup(of: (String, JoinGroupResponse).self) { tasks in
            tasks.addTask { ("a", await fixture.join(memberId: a.memberId, client: "a")) }  // the leader rejoins
            await fixture.waitUntil { $0?.state == .preparingRebalance }
            tasks.addTask { ("b", await fixture.join(memberId: b.memberId, client: "b")) }
            var round: [String: JoinGroupResponse] = [:]
            for await (client, response) in tasks { round[client] = response }
            return round
        }
        let next = round["a"]!.generationId
        #expect(next == generation + 1)
        let interrupted = await withTaskGroup(of: SyncGroupResponse?.self) { tasks in
            tasks.addTask { await fixture.sync(memberId: b.memberId, generationId: next) }
            await fixture.waitUntil { $0?.members.contains { $0.isAwaitingSync } == true }
            tasks.addTask {
                _ = await fixture.joinNewMember(client: "c")
                return nil
            }
            var interrupted: SyncGroupResponse?
            while let response = await tasks.next() {
                if let response {
                    interrupted = response
                    // Answers c's parked JoinGroup so the task group can finish.
                    await fixture.coordinator.shutdown()
                }
            }
            return interrupted
        }
        #expect(interrupted?.errorCode == KafkaErrorCode.rebalanceInProgress.rawValue)
        await fixture.tearDown()
    }

    @Test("protocol selection: the protocol most members prefer among those all support; mismatches are refused")
    func protocolSelection() async throws {
        let fixture = try GroupFixture(initialRebalanceDelay: .seconds(1))
        defer { fixture.directory.remove() }
        let joins = await withTaskGroup(of: (String, JoinGroupResponse).self) { tasks in
            tasks.addTask { ("a", await fixture.joinNewMember(client: "a", protocols: ["range", "roundrobin"])) }
            await fixture.waitUntil { $0?.members.count == 1 }
            tasks.addTask { ("b", await fixture.joinNewMember(client: "b", protocols: ["roundrobin", "range", "sticky"])) }
            tasks.addTask { ("c", await fixture.joinNewMember(client: "c", protocols: ["sticky", "roundrobin", "range"])) }
            await fixture.waitUntil { $0?.members.count == 3 }
            // No protocol in common with the members: refused.
            let odd = await fixture.join(client: "d", protocols: ["cooperative-sticky"])
            #expect(odd.errorCode == KafkaErrorCode.inconsistentGroupProtocol.rawValue)
            await fixture.advance(byMilliseconds: 1_000)
            var joins: [String: JoinGroupResponse] = [:]
            for await (client, response) in tasks { joins[client] = response }
            return joins
        }
        // range: 1 vote (a); roundrobin: 2 votes (b, and c whose sticky is not common).
        #expect(joins.values.allSatisfy { $0.protocolName == "roundrobin" })
        // b and c join concurrently, so only a's place (first, the leader) is fixed.
        let members = joins["a"]?.members.map(\.metadata.stringValue) ?? []
        #expect(members.first == "a/roundrobin")
        #expect(members.sorted() == ["a/roundrobin", "b/roundrobin", "c/roundrobin"])

        let wrongType = await fixture.coordinator.joinGroup(
            JoinGroupRequest(groupId: "g", sessionTimeoutMs: 10_000, protocolType: "connect",
                             protocols: [.init(name: "range")]),
            version: 5, clientId: "x", clientHost: "h")
        #expect(wrongType.errorCode == KafkaErrorCode.inconsistentGroupProtocol.rawValue)
        let badSession = await fixture.join(client: "x", sessionTimeoutMs: 1_000)
        #expect(badSession.errorCode == KafkaErrorCode.invalidSessionTimeout.rawValue)
        let noGroup = await fixture.coordinator.joinGroup(
            JoinGroupRequest(groupId: "", sessionTimeoutMs: 10_000, protocolType: "consumer", protocols: [.init(name: "range")]),
            version: 5, clientId: "x", clientHost: "h")
        #expect(noGroup.errorCode == KafkaErrorCode.invalidGroupId.rawValue)
        await fixture.tearDown()
    }

    @Test("static members (group.instance.id) rejoin under a new member id without a rebalance; the old id is fenced")
    func staticMembership() async throws {
        let fixture = try GroupFixture(initialRebalanceDelay: .seconds(1))
        defer { fixture.directory.remove() }
        let joins = await withTaskGroup(of: (String, JoinGroupResponse).self) { tasks in
            tasks.addTask { ("a", await fixture.join(client: "a", instanceId: "host-a")) }
            await fixture.waitUntil { $0?.members.count == 1 }
            tasks.addTask { ("b", await fixture.join(client: "b", instanceId: "host-b")) }
            await fixture.waitUntil { $0?.members.count == 2 }
            await fixture.advance(byMilliseconds: 1_000)
            var joins: [String: JoinGroupResponse] = [:]
            for await (client, response) in tasks { joins[client] = response }
            return joins
        }
        let (a, b) = (joins["a"]!, joins["b"]!)
        #expect(a.errorCode == 0 && b.errorCode == 0 && a.generationId == 1)
        #expect(a.members.map(\.groupInstanceId) == ["host-a", "host-b"])
        _ = await fixture.sync(memberId: a.memberId, generationId: 1, assignments: [a.memberId: "A", b.memberId: "B"])

        // b restarts: same instance id, no member id. Same generation, same assignment after sync.
        let restarted = await fixture.join(client: "b", instanceId: "host-b")
        #expect(restarted.errorCode == 0 && restarted.generationId == 1 && restarted.memberId != b.memberId)
        #expect(await fixture.coordinator.describeGroup("g")?.state == .stable)
        #expect(await fixture.sync(memberId: restarted.memberId, generationId: 1).assignment.stringValue == "B")
        let fenced = await fixture.coordinator.heartbeat(
            HeartbeatRequest(groupId: "g", generationId: 1, memberId: b.memberId, groupInstanceId: "host-b"), version: 3)
        #expect(fenced.errorCode == KafkaErrorCode.fencedInstanceId.rawValue)
        // Leaving by instance id.
        let leave = await fixture.coordinator.leaveGroup(
            LeaveGroupRequest(groupId: "g", members: [.init(groupInstanceId: "host-b")]), version: 4)
        #expect(leave.members.map(\.errorCode) == [0])
        #expect(await fixture.coordinator.describeGroup("g")?.members.count == 1)
        await fixture.tearDown()
    }

    @Test("FindCoordinator names this broker for groups, in the v0-3 and v4+ shapes")
    func findCoordinator() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let coordinator = GroupCoordinator(
            configuration: GroupCoordinatorConfiguration(nodeId: 7),
            offsetStore: try OffsetStore(dataDirectory: directory.path))
        let v3 = coordinator.findCoordinator(FindCoordinatorRequest(key: "g"), version: 3, host: "localhost", port: 9092)
        #expect(v3.errorCode == 0 && v3.nodeId == 7 && v3.host == "localhost" && v3.port == 9092)
        let v4 = coordinator.findCoordinator(
            FindCoordinatorRequest(coordinatorKeys: ["g1", "g2"]), version: 4, host: "h", port: 1)
        #expect(v4.coordinators.map(\.key) == ["g1", "g2"] && v4.coordinators.allSatisfy { $0.nodeId == 7 && $0.errorCode == 0 })
        let txn = coordinator.findCoordinator(FindCoordinatorRequest(key: "t", keyType: 1), version: 2, host: "h", port: 1)
        #expect(txn.errorCode == KafkaErrorCode.coordinatorNotAvailable.rawValue)
        for version in FindCoordinatorResponse.validVersions {
            var buffer = ByteBuffer()
            let response = version >= 4
                ? v4 : coordinator.findCoordinator(FindCoordinatorRequest(key: "g"), version: version, host: "h", port: 1)
            #expect(throws: Never.self) { try response.encode(into: &buffer, version: version) }
        }
    }

    @Test("responses built for every version encode at that version")
    func responsesEncodeAtEveryVersion() throws {
        let member = JoinGroupResponse.JoinGroupResponseMember(memberId: "m", groupInstanceId: "i", metadata: ByteBuffer(string: "x"))
        let outcomes = [
            JoinOutcome.failure(.memberIdRequired, memberId: "m"),
            JoinOutcome(error: .none, generationId: 3, protocolType: "consumer", protocolName: "range",
                        leaderId: "m", memberId: "m", members: [member]),
        ]
        for version in JoinGroupResponse.validVersions {
            for outcome in outcomes {
                var buffer = ByteBuffer()
                #expect(throws: Never.self) {
                    try GroupCoordinator.joinResponse(outcome, version: version).encode(into: &buffer, version: version)
                }
            }
        }
        for version in SyncGroupResponse.validVersions {
            var buffer = ByteBuffer()
            let outcome = SyncOutcome(error: .none, protocolType: "consumer", protocolName: "range", assignment: ByteBuffer(string: "a"))
            #expect(throws: Never.self) {
                try GroupCoordinator.syncResponse(outcome, version: version).encode(into: &buffer, version: version)
            }
        }
    }
}
