import KafkaProtocol
import NIOCore

/// The phase of a classic consumer group, as in Kafka's `GroupState` (without `Dead`, since a
/// single-node broker never migrates a group away).
public enum ClassicGroupState: String, Sendable, Hashable, CustomStringConvertible {
    /// No members; the group may still have committed offsets.
    case empty
    /// A rebalance started: waiting for the known members to send JoinGroup again.
    case preparingRebalance
    /// The join phase completed: waiting for the leader's SyncGroup with the assignment.
    case completingRebalance
    /// Every member has its assignment; heartbeats keep members alive.
    case stable

    /// Kafka's name for the state, as DescribeGroups reports it (`PreparingRebalance`, ...).
    public var description: String {
        switch self {
        case .empty: "Empty"
        case .preparingRebalance: "PreparingRebalance"
        case .completingRebalance: "CompletingRebalance"
        case .stable: "Stable"
        }
    }
}

/// One protocol a member supports (for consumers an assignor such as `range`), with the member's
/// metadata for it.
struct GroupMemberProtocol: Sendable, Hashable {
    var name: String
    var metadata: ByteBuffer
}

/// What the coordinator knows about one member of a classic group.
struct ClassicGroupMember: Sendable {
    var memberId: String
    var groupInstanceId: String?
    var clientId: String
    var clientHost: String
    var sessionTimeoutMs: Int64
    var rebalanceTimeoutMs: Int64
    var protocolType: String
    /// In the member's order of preference.
    var protocols: [GroupMemberProtocol]
    /// The assignment the leader gave this member in the current generation.
    var assignment: ByteBuffer = ByteBuffer()
    /// A JoinGroup from this member is parked until the join phase completes.
    var isAwaitingJoin = false
    /// A SyncGroup from this member is parked until the leader's SyncGroup arrives.
    var isAwaitingSync = false
    /// Monotonic milliseconds after which the member is dead unless it is parked.
    var heartbeatDeadline: Int64

    func metadata(for protocolName: String?) -> ByteBuffer {
        protocols.first { $0.name == protocolName }?.metadata ?? ByteBuffer()
    }

    func hasSameProtocols(_ other: [GroupMemberProtocol]) -> Bool { protocols == other }
}

/// A JoinGroup request reduced to what the state machine needs.
struct JoinGroupInput: Sendable {
    var memberId: String
    var groupInstanceId: String?
    var clientId: String
    var clientHost: String
    var sessionTimeoutMs: Int64
    var rebalanceTimeoutMs: Int64
    var protocolType: String
    var protocols: [GroupMemberProtocol]
    /// JoinGroup v4+: a member without id first gets `MEMBER_ID_REQUIRED` and its id.
    var requireKnownMemberId: Bool
}

/// A version-neutral JoinGroup answer; the coordinator encodes it at the request's version.
struct JoinOutcome: Sendable, Hashable {
    var error: KafkaErrorCode
    var generationId: Int32 = -1
    var protocolType: String? = nil
    var protocolName: String? = nil
    var leaderId: String = ""
    var memberId: String = ""
    /// Non-empty only in the leader's answer.
    var members: [JoinGroupResponse.JoinGroupResponseMember] = []

    static func failure(_ error: KafkaErrorCode, memberId: String = "") -> JoinOutcome {
        JoinOutcome(error: error, memberId: memberId)
    }
}

/// A version-neutral SyncGroup answer.
struct SyncOutcome: Sendable, Hashable {
    var error: KafkaErrorCode
    var protocolType: String? = nil
    var protocolName: String? = nil
    var assignment: ByteBuffer = ByteBuffer()

    static func failure(_ error: KafkaErrorCode) -> SyncOutcome { SyncOutcome(error: error) }
}

/// Whether a request is answered now or parked until the group moves on.
enum GroupDecision<Outcome: Sendable>: Sendable {
    /// Answer the request with this.
    case respond(Outcome)
    /// Park the request under `memberId`; a later ``GroupActions`` entry for that member answers it.
    case park(memberId: String)
}

/// Why a member left a group other than by LeaveGroup; for logging.
enum MemberRemovalReason: String, Sendable {
    case sessionTimeout = "session timeout expired"
    case rebalanceTimeout = "did not rejoin within the rebalance timeout"
    case syncTimeout = "did not send SyncGroup within the rebalance timeout"
    case pendingJoinTimeout = "did not rejoin after MEMBER_ID_REQUIRED within the session timeout"
    case leaveGroup = "sent LeaveGroup"
    case replacedStaticMember = "was replaced by a new member with the same group.instance.id"
}

/// What the caller must do after a state-machine step: answer parked requests of other members
/// (or of the same member), and log removals.
struct GroupActions: Sendable {
    /// Answers for parked JoinGroup requests, by member id, in order.
    var joins: [(memberId: String, outcome: JoinOutcome)] = []
    /// Answers for parked SyncGroup requests, by member id, in order.
    var syncs: [(memberId: String, outcome: SyncOutcome)] = []
    /// Members removed in this step and why.
    var removals: [(memberId: String, reason: MemberRemovalReason)] = []
    /// Generations completed in this step (the group's new generation id and member count).
    var completedGenerations: [(generationId: Int32, memberCount: Int)] = []

    var isEmpty: Bool { joins.isEmpty && syncs.isEmpty && removals.isEmpty && completedGenerations.isEmpty }
}

/// The classic consumer-group protocol for one group as a pure state machine: requests and the
/// current monotonic time in, decisions and ``GroupActions`` out. It holds no continuations,
/// timers or I/O; ``GroupCoordinator`` parks requests and delivers the actions.
///
/// Follows Kafka's `GroupCoordinator`/`GroupMetadata` (classic protocol): Empty →
/// PreparingRebalance → CompletingRebalance → Stable, a join phase that completes when every
/// known member has rejoined (or at the rebalance timeout, dropping the rest), a leader that
/// assigns partitions in SyncGroup, and members removed when their session times out.
struct ClassicGroup: Sendable {
    let groupId: String
    /// `group.initial.rebalance.delay.ms` in milliseconds.
    let initialRebalanceDelayMs: Int64

    private(set) var state: ClassicGroupState = .empty
    /// Incremented each time a join phase completes (also when it ends with no members).
    private(set) var generationId: Int32 = 0
    private(set) var protocolType: String?
    /// The protocol chosen for the current generation.
    private(set) var protocolName: String?
    private(set) var leaderId: String?
    /// Members in the order they joined.
    private(set) var members: [ClassicGroupMember] = []
    /// Member ids handed out with MEMBER_ID_REQUIRED, with the deadline to rejoin.
    private(set) var pendingMembers: [String: Int64] = [:]
    /// `group.instance.id` → member id of static members.
    private(set) var staticMembers: [String: String] = [:]

    /// PreparingRebalance: the join phase ends at this time at the latest.
    private var rebalanceDeadline: Int64?
    /// PreparingRebalance of a new group: the join phase does not end before this time.
    private var initialDelayDeadline: Int64?
    /// Members of the current generation that have not sent SyncGroup yet, and the deadline for them.
    private var pendingSyncMembers: Set<String> = []
    private var syncDeadline: Int64?

    init(groupId: String, initialRebalanceDelayMs: Int64) {
        self.groupId = groupId
        self.initialRebalanceDelayMs = max(0, initialRebalanceDelayMs)
    }

    /// The group can be forgotten: no members, nobody pending.
    var isRemovable: Bool { state == .empty && members.isEmpty && pendingMembers.isEmpty }

    /// The earliest time at which ``expire(now:)`` has something to do, if any.
    var nextDeadline: Int64? {
        var deadlines: [Int64] = Array(pendingMembers.values)
        for member in members where !member.isAwaitingJoin && !member.isAwaitingSync {
            deadlines.append(member.heartbeatDeadline)
        }
        if let syncDeadline { deadlines.append(syncDeadline) }
        if let rebalanceDeadline { deadlines.append(rebalanceDeadline) }
        if let initialDelayDeadline { deadlines.append(initialDelayDeadline) }
        return deadlines.min()
    }

    func member(_ memberId: String) -> ClassicGroupMember? {
        members.first { $0.memberId == memberId }
    }

    private func index(of memberId: String) -> Int? {
        members.firstIndex { $0.memberId == memberId }
    }

    private var maxRebalanceTimeoutMs: Int64 {
        members.map(\.rebalanceTimeoutMs).max() ?? 0
    }

    // MARK: - Protocol selection

    /// Protocols every member supports.
    private func candidateProtocols(including extra: [GroupMemberProtocol]? = nil) -> Set<String> {
        var lists = members.map { Set($0.protocols.map(\.name)) }
        if let extra { lists.append(Set(extra.map(\.name))) }
        guard var result = lists.first else { return [] }
        for list in lists.dropFirst() { result.formIntersection(list) }
        return result
    }

    /// Whether a member with these protocols may join: same protocol type and at least one
    /// protocol in common with every current member (Kafka's `supportsProtocols`).
    func supportsProtocols(type: String, protocols: [GroupMemberProtocol]) -> Bool {
        if members.isEmpty { return !type.isEmpty && !protocols.isEmpty }
        return type == protocolType && !candidateProtocols(including: protocols).isEmpty
    }

    /// Kafka's `selectProtocol`: among the protocols all members support, each member votes for
    /// its most preferred one and the one with most votes wins; ties go to the leader's order.
    private func selectProtocol() -> String? {
        let candidates = candidateProtocols()
        guard !candidates.isEmpty else { return nil }
        var votes: [String: Int] = [:]
        for member in members {
            if let choice = member.protocols.first(where: { candidates.contains($0.name) }) {
                votes[choice.name, default: 0] += 1
            }
        }
        let leader = leaderId.flatMap { member($0) } ?? members.first
        let order = (leader?.protocols.map(\.name) ?? []).filter { candidates.contains($0) }
        var best: String?
        var bestVotes = -1
        for name in order where votes[name, default: 0] > bestVotes {
            best = name
            bestVotes = votes[name, default: 0]
        }
        return best
    }

    // MARK: - Outcomes

    /// The current generation's JoinGroup answer for `memberId`; the leader gets the members.
    private func currentJoinOutcome(for memberId: String) -> JoinOutcome {
        var outcome = JoinOutcome(
            error: .none,
            generationId: generationId,
            protocolType: protocolType,
            protocolName: protocolName,
            leaderId: leaderId ?? "",
            memberId: memberId
        )
        if memberId == leaderId {
            outcome.members = members.map {
                JoinGroupResponse.JoinGroupResponseMember(
                    memberId: $0.memberId,
                    groupInstanceId: $0.groupInstanceId,
                    metadata: $0.metadata(for: protocolName)
                )
            }
        }
        return outcome
    }

    private func syncOutcome(for member: ClassicGroupMember) -> SyncOutcome {
        SyncOutcome(error: .none, protocolType: protocolType, protocolName: protocolName, assignment: member.assignment)
    }

    // MARK: - Membership checks

    private enum MemberLookup {
        case success(Int)
        case failure(KafkaErrorCode)
    }

    /// Resolves the member a request speaks for, checking static-membership fencing.
    private func validateMember(_ memberId: String, instanceId: String?) -> MemberLookup {
        if let instanceId, let mapped = staticMembers[instanceId], mapped != memberId {
            return .failure(.fencedInstanceId)
        }
        guard let index = index(of: memberId) else { return .failure(.unknownMemberId) }
        if let instanceId, members[index].groupInstanceId != instanceId {
            return .failure(.fencedInstanceId)
        }
        return .success(index)
    }

    // MARK: - JoinGroup

    /// Handles a JoinGroup whose protocol type, protocols and session timeout the caller checked.
    ///
    /// - Parameter generateMemberId: Makes a fresh member id (`clientId-UUID`).
    mutating func join(
        _ input: JoinGroupInput,
        now: Int64,
        maxGroupSize: Int,
        generateMemberId: () -> String
    ) -> (GroupDecision<JoinOutcome>, GroupActions) {
        var actions = GroupActions()
        guard supportsProtocols(type: input.protocolType, protocols: input.protocols) else {
            return (.respond(.failure(.inconsistentGroupProtocol, memberId: input.memberId)), actions)
        }
        if input.memberId.isEmpty {
            return joinUnknownMember(input, now: now, maxGroupSize: maxGroupSize, generateMemberId: generateMemberId)
        }
        if pendingMembers.removeValue(forKey: input.memberId) != nil {
            guard members.count < maxGroupSize else {
                maybeCompleteJoin(now: now, actions: &actions)
                return (.respond(.failure(.groupMaxSizeReached, memberId: input.memberId)), actions)
            }
            addMemberAndRebalance(input, memberId: input.memberId, now: now, actions: &actions)
            return (.park(memberId: input.memberId), actions)
        }
        let index: Int
        switch validateMember(input.memberId, instanceId: input.groupInstanceId) {
        case .failure(let error): return (.respond(.failure(error, memberId: input.memberId)), actions)
        case .success(let found): index = found
        }
        switch state {
        case .empty:
            return (.respond(.failure(.unknownMemberId, memberId: input.memberId)), actions)
        case .preparingRebalance:
            update(at: index, with: input)
            members[index].isAwaitingJoin = true
            maybeCompleteJoin(now: now, actions: &actions)
            return (.park(memberId: input.memberId), actions)
        case .completingRebalance:
            if members[index].hasSameProtocols(input.protocols) {
                // Probably a retry after a lost JoinGroup response: answer with this generation.
                members[index].heartbeatDeadline = now + members[index].sessionTimeoutMs
                return (.respond(currentJoinOutcome(for: input.memberId)), actions)
            }
            update(at: index, with: input)
            members[index].isAwaitingJoin = true
            prepareRebalance(now: now, actions: &actions)
            maybeCompleteJoin(now: now, actions: &actions)
            return (.park(memberId: input.memberId), actions)
        case .stable:
            if input.memberId != leaderId && members[index].hasSameProtocols(input.protocols) {
                // A follower rejoining unchanged: nothing to rebalance.
                members[index].heartbeatDeadline = now + members[index].sessionTimeoutMs
                return (.respond(currentJoinOutcome(for: input.memberId)), actions)
            }
            update(at: index, with: input)
            members[index].isAwaitingJoin = true
            prepareRebalance(now: now, actions: &actions)
            maybeCompleteJoin(now: now, actions: &actions)
            return (.park(memberId: input.memberId), actions)
        }
    }

    private mutating func joinUnknownMember(
        _ input: JoinGroupInput,
        now: Int64,
        maxGroupSize: Int,
        generateMemberId: () -> String
    ) -> (GroupDecision<JoinOutcome>, GroupActions) {
        var actions = GroupActions()
        let newMemberId = generateMemberId()
        if let instanceId = input.groupInstanceId, let oldId = staticMembers[instanceId],
           let index = index(of: oldId)
        {
            // A static member restarted: the new id replaces the old one, which is fenced.
            if members[index].isAwaitingJoin {
                actions.joins.append((oldId, .failure(.fencedInstanceId, memberId: oldId)))
            }
            if members[index].isAwaitingSync {
                actions.syncs.append((oldId, .failure(.fencedInstanceId)))
            }
            actions.removals.append((oldId, .replacedStaticMember))
            let wasLeader = leaderId == oldId
            let unchanged = members[index].hasSameProtocols(input.protocols)
            members[index].memberId = newMemberId
            members[index].isAwaitingJoin = false
            members[index].isAwaitingSync = false
            staticMembers[instanceId] = newMemberId
            pendingSyncMembers.remove(oldId)
            if wasLeader { leaderId = newMemberId }
            if state == .stable && unchanged && !wasLeader {
                update(at: index, with: input)
                members[index].heartbeatDeadline = now + members[index].sessionTimeoutMs
                return (.respond(currentJoinOutcome(for: newMemberId)), actions)
            }
            update(at: index, with: input)
            members[index].isAwaitingJoin = true
            if state != .preparingRebalance { prepareRebalance(now: now, actions: &actions) }
            maybeCompleteJoin(now: now, actions: &actions)
            return (.park(memberId: newMemberId), actions)
        }
        guard members.count + pendingMembers.count < maxGroupSize else {
            return (.respond(.failure(.groupMaxSizeReached)), actions)
        }
        if input.groupInstanceId == nil && input.requireKnownMemberId {
            pendingMembers[newMemberId] = now + input.sessionTimeoutMs
            return (.respond(.failure(.memberIdRequired, memberId: newMemberId)), actions)
        }
        if let instanceId = input.groupInstanceId { staticMembers[instanceId] = newMemberId }
        addMemberAndRebalance(input, memberId: newMemberId, now: now, actions: &actions)
        return (.park(memberId: newMemberId), actions)
    }

    private mutating func update(at index: Int, with input: JoinGroupInput) {
        members[index].clientId = input.clientId
        members[index].clientHost = input.clientHost
        members[index].sessionTimeoutMs = input.sessionTimeoutMs
        members[index].rebalanceTimeoutMs = input.rebalanceTimeoutMs
        members[index].protocols = input.protocols
    }

    private mutating func addMemberAndRebalance(
        _ input: JoinGroupInput, memberId: String, now: Int64, actions: inout GroupActions
    ) {
        if members.isEmpty { protocolType = input.protocolType }
        if leaderId == nil { leaderId = memberId }
        members.append(ClassicGroupMember(
            memberId: memberId,
            groupInstanceId: input.groupInstanceId,
            clientId: input.clientId,
            clientHost: input.clientHost,
            sessionTimeoutMs: input.sessionTimeoutMs,
            rebalanceTimeoutMs: input.rebalanceTimeoutMs,
            protocolType: input.protocolType,
            protocols: input.protocols,
            isAwaitingJoin: true,
            heartbeatDeadline: now + input.sessionTimeoutMs
        ))
        if state == .preparingRebalance, initialDelayDeadline != nil, let rebalanceDeadline {
            // Kafka's InitialDelayedJoin: each newcomer extends the wait, up to the rebalance timeout.
            initialDelayDeadline = min(now + initialRebalanceDelayMs, rebalanceDeadline)
        } else if state != .preparingRebalance {
            prepareRebalance(now: now, actions: &actions)
        }
        maybeCompleteJoin(now: now, actions: &actions)
    }

    // MARK: - Rebalance

    /// Starts a join phase (Kafka's `prepareRebalance`); parked SyncGroups get
    /// REBALANCE_IN_PROGRESS.
    private mutating func prepareRebalance(now: Int64, actions: inout GroupActions) {
        if state == .preparingRebalance { return }
        if state == .completingRebalance || state == .stable {
            for index in members.indices {
                if members[index].isAwaitingSync {
                    members[index].isAwaitingSync = false
                    actions.syncs.append((members[index].memberId, .failure(.rebalanceInProgress)))
                }
                members[index].assignment = ByteBuffer()
            }
        }
        pendingSyncMembers = []
        syncDeadline = nil
        rebalanceDeadline = now + maxRebalanceTimeoutMs
        if state == .empty && initialRebalanceDelayMs > 0 {
            initialDelayDeadline = min(now + initialRebalanceDelayMs, rebalanceDeadline!)
        } else {
            initialDelayDeadline = nil
        }
        state = .preparingRebalance
    }

    /// Ends the join phase if every known member rejoined (and no MEMBER_ID_REQUIRED member is
    /// outstanding), or the rebalance timeout passed; not before the initial delay of a new group.
    private mutating func maybeCompleteJoin(now: Int64, actions: inout GroupActions) {
        guard state == .preparingRebalance else { return }
        if let initialDelayDeadline {
            guard now >= initialDelayDeadline else { return }
            self.initialDelayDeadline = nil
        }
        let allJoined = pendingMembers.isEmpty && members.allSatisfy(\.isAwaitingJoin)
        let timedOut = rebalanceDeadline.map { now >= $0 } ?? true
        if allJoined || timedOut { completeJoin(now: now, actions: &actions) }
    }

    /// Kafka's `onCompleteJoin` + `initNextGeneration`.
    private mutating func completeJoin(now: Int64, actions: inout GroupActions) {
        for member in members where !member.isAwaitingJoin {
            forget(member)
            actions.removals.append((member.memberId, .rebalanceTimeout))
        }
        members.removeAll { !$0.isAwaitingJoin }
        rebalanceDeadline = nil
        initialDelayDeadline = nil
        generationId &+= 1
        guard !members.isEmpty else {
            state = .empty
            protocolType = nil
            protocolName = nil
            leaderId = nil
            actions.completedGenerations.append((generationId, 0))
            return
        }
        protocolName = selectProtocol()
        if leaderId == nil || index(of: leaderId!) == nil { leaderId = members[0].memberId }
        state = .completingRebalance
        pendingSyncMembers = Set(members.map(\.memberId))
        syncDeadline = now + maxRebalanceTimeoutMs
        for index in members.indices {
            members[index].isAwaitingJoin = false
            members[index].heartbeatDeadline = now + members[index].sessionTimeoutMs
        }
        for member in members {
            actions.joins.append((member.memberId, currentJoinOutcome(for: member.memberId)))
        }
        actions.completedGenerations.append((generationId, members.count))
    }

    private mutating func forget(_ member: ClassicGroupMember) {
        if let instanceId = member.groupInstanceId, staticMembers[instanceId] == member.memberId {
            staticMembers.removeValue(forKey: instanceId)
        }
        pendingSyncMembers.remove(member.memberId)
    }

    /// Removes a member and answers its parked requests with `UNKNOWN_MEMBER_ID`.
    private mutating func removeMember(at index: Int, reason: MemberRemovalReason, actions: inout GroupActions) {
        let member = members.remove(at: index)
        forget(member)
        if member.isAwaitingJoin {
            actions.joins.append((member.memberId, .failure(.unknownMemberId, memberId: member.memberId)))
        }
        if member.isAwaitingSync {
            actions.syncs.append((member.memberId, .failure(.unknownMemberId)))
        }
        actions.removals.append((member.memberId, reason))
    }

    /// After members were removed: a settled group rebalances, a joining one may now be complete.
    private mutating func membersRemoved(now: Int64, actions: inout GroupActions) {
        if state == .stable || state == .completingRebalance {
            prepareRebalance(now: now, actions: &actions)
        }
        maybeCompleteJoin(now: now, actions: &actions)
    }

    // MARK: - SyncGroup

    /// Handles a SyncGroup: the leader's assignment moves the group to Stable and answers the
    /// parked followers; a follower waits for it.
    mutating func sync(
        memberId: String,
        generationId: Int32,
        instanceId: String?,
        protocolType: String?,
        protocolName: String?,
        assignments: [String: ByteBuffer],
        now: Int64
    ) -> (GroupDecision<SyncOutcome>, GroupActions) {
        var actions = GroupActions()
        let index: Int
        switch validateMember(memberId, instanceId: instanceId) {
        case .failure(let error): return (.respond(.failure(error)), actions)
        case .success(let found): index = found
        }
        guard generationId == self.generationId else { return (.respond(.failure(.illegalGeneration)), actions) }
        if let protocolType, protocolType != self.protocolType {
            return (.respond(.failure(.inconsistentGroupProtocol)), actions)
        }
        if let protocolName, protocolName != self.protocolName {
            return (.respond(.failure(.inconsistentGroupProtocol)), actions)
        }
        switch state {
        case .empty:
            return (.respond(.failure(.unknownMemberId)), actions)
        case .preparingRebalance:
            return (.respond(.failure(.rebalanceInProgress)), actions)
        case .completingRebalance:
            pendingSyncMembers.remove(memberId)
            if pendingSyncMembers.isEmpty { syncDeadline = nil }
            members[index].heartbeatDeadline = now + members[index].sessionTimeoutMs
            guard memberId == leaderId else {
                members[index].isAwaitingSync = true
                return (.park(memberId: memberId), actions)
            }
            for i in members.indices {
                members[i].assignment = assignments[members[i].memberId] ?? ByteBuffer()
            }
            state = .stable
            for i in members.indices where members[i].isAwaitingSync {
                members[i].isAwaitingSync = false
                actions.syncs.append((members[i].memberId, syncOutcome(for: members[i])))
            }
            return (.respond(syncOutcome(for: members[index])), actions)
        case .stable:
            pendingSyncMembers.remove(memberId)
            if pendingSyncMembers.isEmpty { syncDeadline = nil }
            members[index].heartbeatDeadline = now + members[index].sessionTimeoutMs
            return (.respond(syncOutcome(for: members[index])), actions)
        }
    }

    // MARK: - Heartbeat

    /// Handles a Heartbeat: refreshes the member's session and tells it whether to rejoin.
    mutating func heartbeat(memberId: String, generationId: Int32, instanceId: String?, now: Int64) -> KafkaErrorCode {
        if state == .empty { return .unknownMemberId }
        let index: Int
        switch validateMember(memberId, instanceId: instanceId) {
        case .failure(let error): return error
        case .success(let found): index = found
        }
        guard generationId == self.generationId else { return .illegalGeneration }
        members[index].heartbeatDeadline = now + members[index].sessionTimeoutMs
        return state == .preparingRebalance ? .rebalanceInProgress : .none
    }

    // MARK: - LeaveGroup

    /// Handles a LeaveGroup for one or more members (by member id, or by `group.instance.id`
    /// for static members); returns one error per identity, in order.
    mutating func leave(
        _ identities: [(memberId: String, instanceId: String?)],
        now: Int64
    ) -> ([KafkaErrorCode], GroupActions) {
        var actions = GroupActions()
        var errors: [KafkaErrorCode] = []
        var removedAny = false
        for (memberId, instanceId) in identities {
            if instanceId == nil, pendingMembers.removeValue(forKey: memberId) != nil {
                // Never a member: no rebalance, but a join phase may have been waiting for it.
                errors.append(.none)
                continue
            }
            var resolvedId = memberId
            if let instanceId {
                guard let mapped = staticMembers[instanceId] else {
                    errors.append(.unknownMemberId)
                    continue
                }
                if !memberId.isEmpty && memberId != mapped {
                    errors.append(.fencedInstanceId)
                    continue
                }
                resolvedId = mapped
            }
            guard let index = index(of: resolvedId) else {
                errors.append(.unknownMemberId)
                continue
            }
            removeMember(at: index, reason: .leaveGroup, actions: &actions)
            removedAny = true
            errors.append(.none)
        }
        if removedAny {
            membersRemoved(now: now, actions: &actions)
        } else {
            maybeCompleteJoin(now: now, actions: &actions)
        }
        return (errors, actions)
    }

    // MARK: - Timers

    /// Applies every deadline that passed by `now`: dead sessions, MEMBER_ID_REQUIRED members
    /// that never came back, the rebalance timeout, the sync timeout, the initial delay.
    mutating func expire(now: Int64) -> GroupActions {
        var actions = GroupActions()
        var removedAny = false
        for (memberId, deadline) in pendingMembers where deadline <= now {
            // Never a member: no rebalance, but a join phase may have been waiting for it.
            pendingMembers.removeValue(forKey: memberId)
            actions.removals.append((memberId, .pendingJoinTimeout))
        }
        var index = 0
        while index < members.count {
            let member = members[index]
            if !member.isAwaitingJoin && !member.isAwaitingSync && member.heartbeatDeadline <= now {
                removeMember(at: index, reason: .sessionTimeout, actions: &actions)
                removedAny = true
            } else {
                index += 1
            }
        }
        if let syncDeadline, syncDeadline <= now, state == .completingRebalance || state == .stable {
            self.syncDeadline = nil
            let laggards = pendingSyncMembers
            pendingSyncMembers = []
            for memberId in laggards {
                if let index = self.index(of: memberId) {
                    removeMember(at: index, reason: .syncTimeout, actions: &actions)
                    removedAny = true
                }
            }
        }
        if removedAny {
            membersRemoved(now: now, actions: &actions)
        } else {
            maybeCompleteJoin(now: now, actions: &actions)
        }
        return actions
    }

    // MARK: - OffsetCommit

    /// Checks that an OffsetCommit may store offsets for this group (Kafka's `doCommitOffsets`):
    /// a standalone commit (`generationId < 0`) needs an empty group; otherwise the member must
    /// belong to the current generation. Refreshes the member's session on success.
    mutating func validateOffsetCommit(
        memberId: String, generationId: Int32, instanceId: String?, now: Int64
    ) -> KafkaErrorCode {
        if generationId < 0 && state == .empty { return .none }
        if state == .completingRebalance { return .rebalanceInProgress }
        let index: Int
        switch validateMember(memberId, instanceId: instanceId) {
        case .failure(let error): return error
        case .success(let found): index = found
        }
        guard generationId == self.generationId else { return .illegalGeneration }
        members[index].heartbeatDeadline = now + members[index].sessionTimeoutMs
        return .none
    }
}
