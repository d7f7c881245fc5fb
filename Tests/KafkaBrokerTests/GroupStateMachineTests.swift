@testable import KafkaBroker
import KafkaProtocol
import NIOCore
import Testing
import TributaryTestSupport

/// Random request sequences against the pure per-group state machine, with a model of which
/// requests are parked. Checked after every step: only parked requests are answered, the
/// group's invariants hold. At the end, with nobody heartbeating, the timers alone must answer
/// every parked request and empty the group.
@Suite("Classic group state machine: random request sequences")
struct GroupStateMachineTests {
    private struct Harness {
        var group = ClassicGroup(groupId: "g", initialRebalanceDelayMs: 0)
        var now: Int64 = 1_000_000
        var parkedJoins: Set<String> = []
        var parkedSyncs: Set<String> = []
        var answeredJoins = 0
        var answeredSyncs = 0
        var lastGeneration: Int32 = 0
        let context: String

        mutating func deliver(_ actions: GroupActions) {
            for (memberId, _) in actions.joins {
                #expect(parkedJoins.remove(memberId) != nil, "join answer for \(memberId) without a parked JoinGroup; \(context)")
                answeredJoins += 1
            }
            for (memberId, _) in actions.syncs {
                #expect(parkedSyncs.remove(memberId) != nil, "sync answer for \(memberId) without a parked SyncGroup; \(context)")
                answeredSyncs += 1
            }
        }

        mutating func join(_ decision: GroupDecision<JoinOutcome>, _ actions: GroupActions) {
            if case .park(let memberId) = decision {
                parkedJoins.insert(memberId)  // a JoinGroup parked earlier for the same id is answered by the actor
            }
            deliver(actions)
        }

        mutating func sync(_ decision: GroupDecision<SyncOutcome>, _ actions: GroupActions) {
            if case .park(let memberId) = decision { parkedSyncs.insert(memberId) }
            deliver(actions)
        }

        mutating func checkInvariants() {
            let ids = group.members.map(\.memberId)
            #expect(Set(ids).count == ids.count, "duplicate member ids; \(context)")
            #expect(group.generationId >= lastGeneration, "generation went back; \(context)")
            lastGeneration = group.generationId
            switch group.state {
            case .empty:
                #expect(ids.isEmpty, "members in an empty group; \(context)")
            case .preparingRebalance:
                #expect(!group.members.contains { $0.isAwaitingSync }, "parked sync while joining; \(context)")
            case .completingRebalance, .stable:
                #expect(group.leaderId.map(ids.contains) == true, "leader not a member; \(context)")
                #expect(!group.members.contains { $0.isAwaitingJoin }, "parked join after the join phase; \(context)")
                #expect(group.protocolName != nil, "no protocol chosen; \(context)")
            }
            if group.state != .completingRebalance {
                #expect(!group.members.contains { $0.isAwaitingSync }, "parked sync outside CompletingRebalance; \(context)")
            }
            // The model and the state machine agree on who is parked.
            #expect(Set(group.members.filter(\.isAwaitingJoin).map(\.memberId)) == parkedJoins, "parked joins differ; \(context)")
            #expect(Set(group.members.filter(\.isAwaitingSync).map(\.memberId)) == parkedSyncs, "parked syncs differ; \(context)")
        }
    }

    private static func protocols(_ names: [String]) -> [GroupMemberProtocol] {
        names.map { GroupMemberProtocol(name: $0, metadata: ByteBuffer(string: $0)) }
    }

    @Test("random joins, rejoins, syncs, heartbeats, leaves and time; timers answer everything in the end")
    func randomSequences() {
        let seed = SplitMix64.testSeed()
        var random = SplitMix64(seed: seed)
        let protocolChoices = [["range"], ["range", "roundrobin"], ["roundrobin", "range"], ["sticky"]]
        var knownIds: [String] = []  // every id handed out, to replay stale ones
        func makeId(_ prefix: String) -> String {
            let id = "\(prefix)-\(knownIds.count)"
            knownIds.append(id)
            return id
        }
        var statesSeen: Set<ClassicGroupState> = []
        var answeredJoins = 0
        var answeredSyncs = 0
        var generations: Int32 = 0
        for run in 0..<60 {
            var harness = Harness(context: "seed \(seed), run \(run)")
            if Bool.random(using: &random) {
                harness.group = ClassicGroup(groupId: "g", initialRebalanceDelayMs: 3_000)
            }
            for _ in 0..<Int.random(in: 5...80, using: &random) {
                let candidates = harness.group.members.map(\.memberId) + Array(harness.group.pendingMembers.keys)
                let someId = candidates.randomElement(using: &random) ?? knownIds.randomElement(using: &random) ?? "nobody"
                switch Int.random(in: 0..<9, using: &random) {
                case 0, 1:
                    let isStatic = Int.random(in: 0..<4, using: &random) == 0
                    var input = JoinGroupInput(
                        memberId: "", groupInstanceId: isStatic ? "host-\(Int.random(in: 0..<3, using: &random))" : nil,
                        clientId: "c", clientHost: "h",
                        sessionTimeoutMs: Int64.random(in: 6_000...20_000, using: &random),
                        rebalanceTimeoutMs: Int64.random(in: 6_000...40_000, using: &random),
                        protocolType: "consumer",
                        protocols: Self.protocols(protocolChoices.randomElement(using: &random)!),
                        requireKnownMemberId: Bool.random(using: &random))
                    var prefix = "m"
                    if Int.random(in: 0..<10, using: &random) == 0 { input.protocolType = "connect"; prefix = "x" }
                    let (decision, actions) = harness.group.join(input, now: harness.now, maxGroupSize: 6) { makeId(prefix) }
                    harness.join(decision, actions)
                case 2:
                    let member = harness.group.member(someId)
                    let input = JoinGroupInput(
                        memberId: someId, groupInstanceId: member?.groupInstanceId, clientId: "c", clientHost: "h",
                        sessionTimeoutMs: member?.sessionTimeoutMs ?? 10_000, rebalanceTimeoutMs: member?.rebalanceTimeoutMs ?? 20_000,
                        protocolType: "consumer",
                        protocols: Bool.random(using: &random) && member != nil
                            ? member!.protocols : Self.protocols(protocolChoices.randomElement(using: &random)!),
                        requireKnownMemberId: true)
                    let (decision, actions) = harness.group.join(input, now: harness.now, maxGroupSize: 6) { makeId("m") }
                    harness.join(decision, actions)
                case 3, 4:
                    let generation = harness.group.generationId - (Int.random(in: 0..<6, using: &random) == 0 ? 1 : 0)
                    let assignments = Dictionary(uniqueKeysWithValues: harness.group.members.map { ($0.memberId, ByteBuffer(string: $0.memberId)) })
                    let (decision, actions) = harness.group.sync(
                        memberId: someId, generationId: generation, instanceId: harness.group.member(someId)?.groupInstanceId,
                        protocolType: nil, protocolName: nil, assignments: assignments, now: harness.now)
                    harness.sync(decision, actions)
                case 5:
                    _ = harness.group.heartbeat(
                        memberId: someId, generationId: harness.group.generationId,
                        instanceId: harness.group.member(someId)?.groupInstanceId, now: harness.now)
                case 6:
                    var identities: [(memberId: String, instanceId: String?)] = [(someId, nil)]
                    if Bool.random(using: &random) { identities.append(("ghost", nil)) }
                    if Bool.random(using: &random) { identities.append(("", "host-\(Int.random(in: 0..<3, using: &random))")) }
                    let (errors, actions) = harness.group.leave(identities, now: harness.now)
                    #expect(errors.count == identities.count)
                    harness.deliver(actions)
                default:
                    harness.now += Int64.random(in: 0...12_000, using: &random)
                    harness.deliver(harness.group.expire(now: harness.now))
                }
                harness.checkInvariants()
                statesSeen.insert(harness.group.state)
            }
            // Silence: nobody heartbeats or rejoins. Timers alone must drain the group.
            for _ in 0..<200 where !(harness.group.isRemovable && harness.parkedJoins.isEmpty && harness.parkedSyncs.isEmpty) {
                harness.now += 5_000
                harness.deliver(harness.group.expire(now: harness.now))
                harness.checkInvariants()
            }
            #expect(harness.parkedJoins.isEmpty && harness.parkedSyncs.isEmpty, "requests left parked; \(harness.context)")
            #expect(harness.group.isRemovable, "group not drained; \(harness.context)")
            #expect(harness.group.nextDeadline == nil, "a deadline is left; \(harness.context)")
            answeredJoins += harness.answeredJoins
            answeredSyncs += harness.answeredSyncs
            generations += harness.group.generationId
        }
        // The sequences really exercise the protocol.
        #expect(statesSeen == [.empty, .preparingRebalance, .completingRebalance, .stable], "seed \(seed)")
        #expect(answeredJoins > 100 && answeredSyncs > 0 && generations > 100, "seed \(seed): \(answeredJoins) \(answeredSyncs) \(generations)")
    }

    private static func input(_ memberId: String = "", rebalanceTimeoutMs: Int64 = 30_000) -> JoinGroupInput {
        JoinGroupInput(
            memberId: memberId, groupInstanceId: nil, clientId: "c", clientHost: "h",
            sessionTimeoutMs: 10_000, rebalanceTimeoutMs: rebalanceTimeoutMs, protocolType: "consumer",
            protocols: protocols(["range"]), requireKnownMemberId: false)
    }

    @Test("the initial rebalance delay is extended by each newcomer, up to the rebalance timeout")
    func initialDelayExtension() {
        var ids = 0
        func nextId() -> String { ids += 1; return "m\(ids)" }
        for (rebalanceTimeoutMs, completesAt) in [(Int64(30_000), Int64(5_000)), (Int64(4_000), Int64(4_000))] {
            var group = ClassicGroup(groupId: "g", initialRebalanceDelayMs: 3_000)
            let t0: Int64 = 100_000
            let (first, _) = group.join(Self.input(rebalanceTimeoutMs: rebalanceTimeoutMs), now: t0, maxGroupSize: 10, generateMemberId: nextId)
            guard case .park = first else { Issue.record("first join not parked"); return }
            let (second, _) = group.join(Self.input(rebalanceTimeoutMs: rebalanceTimeoutMs), now: t0 + 2_000, maxGroupSize: 10, generateMemberId: nextId)
            guard case .park = second else { Issue.record("second join not parked"); return }
            #expect(group.expire(now: t0 + 3_000).joins.isEmpty)
            #expect(group.nextDeadline == t0 + completesAt)
            #expect(group.expire(now: t0 + completesAt - 1).joins.isEmpty)
            let actions = group.expire(now: t0 + completesAt)
            #expect(actions.joins.count == 2 && group.generationId == 1 && group.state == .completingRebalance)
        }
    }

    @Test("a leader that never sends SyncGroup is removed at the rebalance timeout; parked followers are told to rejoin")
    func syncTimeout() {
        var ids = 0
        func nextId() -> String { ids += 1; return "m\(ids)" }
        var group = ClassicGroup(groupId: "g", initialRebalanceDelayMs: 1_000)
        let t0: Int64 = 100_000
        _ = group.join(Self.input(rebalanceTimeoutMs: 20_000), now: t0, maxGroupSize: 10, generateMemberId: nextId)
        _ = group.join(Self.input(rebalanceTimeoutMs: 20_000), now: t0, maxGroupSize: 10, generateMemberId: nextId)
        let joined = group.expire(now: t0 + 1_000)
        #expect(joined.joins.map(\.memberId) == ["m1", "m2"] && group.leaderId == "m1")
        let (decision, _) = group.sync(
            memberId: "m2", generationId: 1, instanceId: nil, protocolType: "consumer", protocolName: "range",
            assignments: [:], now: t0 + 2_000)
        guard case .park = decision else { Issue.record("follower sync not parked"); return }
        // The follower stays alive while parked; the leader's session would end at t0+11s, but
        // the sync deadline (t0+1s+20s) is what removes it if it keeps heartbeating.
        for step in 1...4 {
            #expect(group.heartbeat(memberId: "m1", generationId: 1, instanceId: nil, now: t0 + 1_000 + Int64(step) * 5_000) == .none)
            #expect(group.expire(now: t0 + 1_000 + Int64(step) * 5_000 - 1).isEmpty)
        }
        let actions = group.expire(now: t0 + 21_000)
        #expect(actions.removals.map(\.memberId) == ["m1"])
        #expect(actions.syncs.map(\.memberId) == ["m2"] && actions.syncs.first?.outcome.error == .rebalanceInProgress)
        #expect(group.state == .preparingRebalance && group.members.map(\.memberId) == ["m2"])
    }
}
