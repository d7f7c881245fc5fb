public import KafkaProtocol
public import Logging
public import NIOCore
import NIOPosix

/// The classic consumer-group coordinator of the single-node broker: JoinGroup, SyncGroup,
/// Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch and FindCoordinator.
///
/// The request handlers call one method per request with the decoded request and its API
/// version and encode the returned response at that version. ``joinGroup(_:version:clientId:clientHost:)``
/// and ``syncGroup(_:version:)`` suspend until the group moves on (the join phase completes, the
/// leader sends the assignment, or a timeout passes); the others answer at once, except
/// ``commitOffsets(_:version:)``, which returns once the offsets are fsync'd.
///
/// The protocol logic lives in a per-group state machine (`ClassicGroup`) that takes the time
/// as input; this actor parks requests, reads the ``GroupCoordinatorClock`` and applies timers
/// when ``tick()`` runs.
///
/// Wiring, in the broker:
///
///     let offsets = try OffsetStore(dataDirectory: dataDirectory)
///     let groups = GroupCoordinator(
///         configuration: GroupCoordinatorConfiguration(nodeId: 0),
///         offsetStore: offsets,
///         partitionExists: { topic, partition in logs.hasPartition(topic, partition) })
///     taskGroup.addTask { await groups.run() }        // timers until cancelled, then shutdown()
///     // per request:
///     let response = await groups.joinGroup(request, version: header.apiVersion,
///                                           clientId: header.clientId ?? "", clientHost: "/\(remoteAddress)")
///     // DeleteTopics: try await groups.removeOffsets(topic: name)
///
/// - Important: Call ``run()`` (for example from the broker's service group) or call ``tick()``
///   periodically; without it session timeouts, rebalance timeouts and the initial rebalance
///   delay never fire. Call ``shutdown()`` (``run()`` does on cancellation) to answer parked
///   requests before the broker stops.
public actor GroupCoordinator {
    /// The settings this coordinator was created with.
    public nonisolated let configuration: GroupCoordinatorConfiguration
    /// The durable store of committed offsets.
    public nonisolated let offsetStore: OffsetStore
    nonisolated let clock: any GroupCoordinatorClock
    nonisolated let partitionExists: @Sendable (_ topic: String, _ partition: Int32) -> Bool
    nonisolated let logger: Logger

    private struct MemberKey: Hashable {
        var groupId: String
        var memberId: String
    }

    private struct ParkedJoin {
        var version: Int16
        var continuation: CheckedContinuation<JoinGroupResponse, Never>
    }

    private struct ParkedSync {
        var version: Int16
        var continuation: CheckedContinuation<SyncGroupResponse, Never>
    }

    private struct Waiter {
        var groupId: String
        var predicate: @Sendable (GroupDescription?) -> Bool
        var continuation: CheckedContinuation<Void, Never>
    }

    /// Groups with members or pending members; empty groups are dropped (their offsets stay in
    /// the ``offsetStore``).
    var groups: [String: ClassicGroup] = [:]
    /// JoinGroup requests waiting for their group's join phase to complete.
    private var parkedJoins: [MemberKey: ParkedJoin] = [:]
    /// SyncGroup requests waiting for the leader's assignment.
    private var parkedSyncs: [MemberKey: ParkedSync] = [:]
    /// Test hooks waiting for a group to reach a state (`waitUntil`).
    private var waiters: [Waiter] = []
    /// Offset commits that arrived while an append + fsync of the offsets log was running; the
    /// next one writes them all (group commit). Guarded by the actor, like everything here.
    var commitQueue: [QueuedCommit] = []
    /// An append + fsync of the offsets log is running.
    var isPersistingOffsets = false
    /// How many appends (each with one fsync) the coordinator made; for tests.
    var offsetLogAppends = 0
    /// Test hook awaited before each append of the offsets log.
    var beforeOffsetAppend: (@Sendable () async -> Void)?

    /// Sets ``beforeOffsetAppend``; for tests.
    func setBeforeOffsetAppend(_ hook: (@Sendable () async -> Void)?) {
        beforeOffsetAppend = hook
    }
    var isShutDown = false

    /// Creates a coordinator over an opened offset store.
    ///
    /// - Parameters:
    ///   - configuration: Timer limits and the node id.
    ///   - offsetStore: Where committed offsets are kept; see ``OffsetStore/init(dataDirectory:configuration:logger:)``.
    ///   - clock: The time source; tests pass a manual clock.
    ///   - partitionExists: Whether a topic partition exists; OffsetCommit for one that does not
    ///     gets `UNKNOWN_TOPIC_OR_PARTITION`. Default: every partition exists.
    ///   - logger: Receives membership changes, rebalances and storage errors.
    public init(
        configuration: GroupCoordinatorConfiguration = GroupCoordinatorConfiguration(),
        offsetStore: OffsetStore,
        clock: any GroupCoordinatorClock = SystemGroupCoordinatorClock(),
        partitionExists: @escaping @Sendable (_ topic: String, _ partition: Int32) -> Bool = { _, _ in true },
        logger: Logger = Logger(label: "tributary.broker.groups")
    ) {
        self.configuration = configuration
        self.offsetStore = offsetStore
        self.clock = clock
        self.partitionExists = partitionExists
        self.logger = logger
    }

    // MARK: - JoinGroup

    /// Handles JoinGroup (versions 0-9), suspending until the group's join phase completes.
    ///
    /// A v4+ request without member id gets `MEMBER_ID_REQUIRED` and a new id `clientId-UUID` at
    /// once (unless it has a `groupInstanceId`); the client joins again with it. Otherwise the
    /// member joins and the call returns when every known member has rejoined, the rebalance
    /// timeout passed, or (for a new group) after the initial rebalance delay, with the new
    /// generation, the chosen protocol, the leader and (for the leader only) the members.
    ///
    /// - Parameters:
    ///   - request: The decoded request.
    ///   - version: Its API version; the response is built for the same version.
    ///   - clientId: The request header's client id (prefix of generated member ids).
    ///   - clientHost: The client's address, for DescribeGroups.
    /// - Returns: The response; errors are in `errorCode` (`INVALID_GROUP_ID`,
    ///   `INVALID_SESSION_TIMEOUT`, `INCONSISTENT_GROUP_PROTOCOL`, `UNKNOWN_MEMBER_ID`,
    ///   `FENCED_INSTANCE_ID`, `GROUP_MAX_SIZE_REACHED`, `MEMBER_ID_REQUIRED`,
    ///   `REBALANCE_IN_PROGRESS` when a newer JoinGroup of the same member replaced this one,
    ///   `COORDINATOR_NOT_AVAILABLE` after shutdown).
    public func joinGroup(
        _ request: JoinGroupRequest, version: Int16, clientId: String, clientHost: String
    ) async -> JoinGroupResponse {
        let now = clock.monotonicMilliseconds()
        func fail(_ error: KafkaErrorCode) -> JoinGroupResponse {
            Self.joinResponse(.failure(error, memberId: request.memberId), version: version)
        }
        if isShutDown { return fail(.coordinatorNotAvailable) }
        guard Self.isValidGroupId(request.groupId) else { return fail(.invalidGroupId) }
        let sessionTimeoutMs = Int64(request.sessionTimeoutMs)
        guard sessionTimeoutMs >= configuration.minSessionTimeout.groupMilliseconds,
              sessionTimeoutMs <= configuration.maxSessionTimeout.groupMilliseconds
        else { return fail(.invalidSessionTimeout) }
        guard !request.protocolType.isEmpty, !request.protocols.isEmpty else { return fail(.inconsistentGroupProtocol) }
        if groups[request.groupId] == nil && !request.memberId.isEmpty { return fail(.unknownMemberId) }

        let input = JoinGroupInput(
            memberId: request.memberId,
            groupInstanceId: version >= 5 ? request.groupInstanceId : nil,
            clientId: clientId,
            clientHost: clientHost,
            sessionTimeoutMs: sessionTimeoutMs,
            rebalanceTimeoutMs: version >= 1 && request.rebalanceTimeoutMs > 0
                ? Int64(request.rebalanceTimeoutMs) : sessionTimeoutMs,
            protocolType: request.protocolType,
            protocols: request.protocols.map { GroupMemberProtocol(name: $0.name, metadata: $0.metadata) },
            requireKnownMemberId: version >= 4
        )
        let groupId = request.groupId
        let initialDelayMs = configuration.initialRebalanceDelay.groupMilliseconds
        let (decision, actions) = groups[groupId, default: ClassicGroup(groupId: groupId, initialRebalanceDelayMs: initialDelayMs)]
            .join(input, now: now, maxGroupSize: configuration.maxGroupSize) { Self.makeMemberId(clientId: clientId) }
        switch decision {
        case .respond(let outcome):
            deliver(actions, groupId: groupId)
            groupChanged(groupId)
            return Self.joinResponse(outcome, version: version)
        case .park(let memberId):
            return await withCheckedContinuation { continuation in
                let key = MemberKey(groupId: groupId, memberId: memberId)
                if let replaced = parkedJoins.removeValue(forKey: key) {
                    replaced.continuation.resume(returning: Self.joinResponse(
                        .failure(.rebalanceInProgress, memberId: memberId), version: replaced.version))
                }
                parkedJoins[key] = ParkedJoin(version: version, continuation: continuation)
                deliver(actions, groupId: groupId)
                groupChanged(groupId)
            }
        }
    }

    // MARK: - SyncGroup

    /// Handles SyncGroup (versions 0-5). The leader's request carries the assignment: it moves
    /// the group to Stable and answers every member; a follower's request suspends until then
    /// (or until a rebalance starts, answered with `REBALANCE_IN_PROGRESS`).
    ///
    /// - Returns: The member's assignment, or an error (`UNKNOWN_MEMBER_ID`,
    ///   `ILLEGAL_GENERATION`, `REBALANCE_IN_PROGRESS`, `INCONSISTENT_GROUP_PROTOCOL`,
    ///   `FENCED_INSTANCE_ID`, `INVALID_GROUP_ID`, `COORDINATOR_NOT_AVAILABLE`).
    public func syncGroup(_ request: SyncGroupRequest, version: Int16) async -> SyncGroupResponse {
        let now = clock.monotonicMilliseconds()
        func fail(_ error: KafkaErrorCode) -> SyncGroupResponse {
            Self.syncResponse(.failure(error), version: version)
        }
        if isShutDown { return fail(.coordinatorNotAvailable) }
        guard Self.isValidGroupId(request.groupId) else { return fail(.invalidGroupId) }
        guard groups[request.groupId] != nil else { return fail(.unknownMemberId) }
        var assignments: [String: ByteBuffer] = [:]
        for assignment in request.assignments {
            assignments[assignment.memberId] = assignment.assignment
        }
        let groupId = request.groupId
        let (decision, actions) = groups[groupId]!.sync(
            memberId: request.memberId,
            generationId: request.generationId,
            instanceId: version >= 3 ? request.groupInstanceId : nil,
            protocolType: version >= 5 ? request.protocolType : nil,
            protocolName: version >= 5 ? request.protocolName : nil,
            assignments: assignments,
            now: now
        )
        switch decision {
        case .respond(let outcome):
            deliver(actions, groupId: groupId)
            groupChanged(groupId)
            return Self.syncResponse(outcome, version: version)
        case .park(let memberId):
            return await withCheckedContinuation { continuation in
                let key = MemberKey(groupId: groupId, memberId: memberId)
                if let replaced = parkedSyncs.removeValue(forKey: key) {
                    replaced.continuation.resume(returning: Self.syncResponse(
                        .failure(.rebalanceInProgress), version: replaced.version))
                }
                parkedSyncs[key] = ParkedSync(version: version, continuation: continuation)
                deliver(actions, groupId: groupId)
                groupChanged(groupId)
            }
        }
    }

    // MARK: - Heartbeat

    /// Handles Heartbeat (versions 0-4): keeps the member's session alive.
    ///
    /// - Returns: `NONE`; `REBALANCE_IN_PROGRESS` while the group rebalances (the member must
    ///   rejoin); `UNKNOWN_MEMBER_ID` for a member (or group) the coordinator does not know;
    ///   `ILLEGAL_GENERATION` for a stale generation; `FENCED_INSTANCE_ID`, `INVALID_GROUP_ID`,
    ///   `COORDINATOR_NOT_AVAILABLE`.
    public func heartbeat(_ request: HeartbeatRequest, version: Int16) -> HeartbeatResponse {
        let now = clock.monotonicMilliseconds()
        if isShutDown { return HeartbeatResponse(errorCode: KafkaErrorCode.coordinatorNotAvailable.rawValue) }
        guard Self.isValidGroupId(request.groupId) else {
            return HeartbeatResponse(errorCode: KafkaErrorCode.invalidGroupId.rawValue)
        }
        guard groups[request.groupId] != nil else {
            return HeartbeatResponse(errorCode: KafkaErrorCode.unknownMemberId.rawValue)
        }
        let error = groups[request.groupId]!.heartbeat(
            memberId: request.memberId,
            generationId: request.generationId,
            instanceId: version >= 3 ? request.groupInstanceId : nil,
            now: now
        )
        return HeartbeatResponse(errorCode: error.rawValue)
    }

    // MARK: - LeaveGroup

    /// Handles LeaveGroup (versions 0-5): removes the member (v0-2) or each listed member (v3+,
    /// by member id or `groupInstanceId`) and starts a rebalance for the rest.
    ///
    /// - Returns: v0-2: the member's error in `errorCode`. v3+: `errorCode` `NONE` and one entry
    ///   per listed member with its error (`UNKNOWN_MEMBER_ID`, `FENCED_INSTANCE_ID`). For an
    ///   unknown group `errorCode` is `UNKNOWN_MEMBER_ID` in every version.
    public func leaveGroup(_ request: LeaveGroupRequest, version: Int16) -> LeaveGroupResponse {
        let now = clock.monotonicMilliseconds()
        if isShutDown { return LeaveGroupResponse(errorCode: KafkaErrorCode.coordinatorNotAvailable.rawValue) }
        guard Self.isValidGroupId(request.groupId) else {
            return LeaveGroupResponse(errorCode: KafkaErrorCode.invalidGroupId.rawValue)
        }
        guard groups[request.groupId] != nil else {
            return LeaveGroupResponse(errorCode: KafkaErrorCode.unknownMemberId.rawValue)
        }
        let identities: [(memberId: String, instanceId: String?)] = version >= 3
            ? request.members.map { ($0.memberId, $0.groupInstanceId) }
            : [(request.memberId, nil)]
        let (errors, actions) = groups[request.groupId]!.leave(identities, now: now)
        deliver(actions, groupId: request.groupId)
        groupChanged(request.groupId)
        if version < 3 { return LeaveGroupResponse(errorCode: errors[0].rawValue) }
        return LeaveGroupResponse(
            errorCode: KafkaErrorCode.none.rawValue,
            members: zip(request.members, errors).map { member, error in
                LeaveGroupResponse.MemberResponse(
                    memberId: member.memberId, groupInstanceId: member.groupInstanceId, errorCode: error.rawValue)
            })
    }

    // MARK: - Timers and lifecycle

    /// Applies every session, rebalance, sync and initial-delay deadline that has passed on the
    /// clock: removes dead members, completes join phases, answers parked requests.
    public func tick() {
        let now = clock.monotonicMilliseconds()
        for groupId in Array(groups.keys) {
            guard groups[groupId]!.nextDeadline.map({ $0 <= now }) ?? false else { continue }
            let actions = groups[groupId]!.expire(now: now)
            deliver(actions, groupId: groupId)
            groupChanged(groupId)
        }
    }

    /// Calls ``tick()`` every ``GroupCoordinatorConfiguration/timerTickInterval`` until the task
    /// is cancelled, then calls ``shutdown()``.
    public func run() async {
        while !Task.isCancelled && !isShutDown {
            do {
                try await Task.sleep(for: configuration.timerTickInterval)
            } catch {
                break
            }
            tick()
        }
        shutdown()
    }

    /// Answers every parked JoinGroup and SyncGroup with `COORDINATOR_NOT_AVAILABLE`, makes every
    /// later request fail the same way and closes the offset store.
    public func shutdown() {
        guard !isShutDown else { return }
        isShutDown = true
        for (key, parked) in parkedJoins {
            parked.continuation.resume(returning: Self.joinResponse(
                .failure(.coordinatorNotAvailable, memberId: key.memberId), version: parked.version))
        }
        for (_, parked) in parkedSyncs {
            parked.continuation.resume(returning: Self.syncResponse(.failure(.coordinatorNotAvailable), version: parked.version))
        }
        parkedJoins = [:]
        parkedSyncs = [:]
        for waiter in waiters { waiter.continuation.resume() }
        waiters = []
        offsetStore.close()
    }

    // MARK: - Inspection

    /// The current state of a group with members, or `nil` for a group the coordinator holds no
    /// membership for (it may still have committed offsets).
    public func describeGroup(_ groupId: String) -> GroupDescription? {
        groups[groupId].map(GroupDescription.init)
    }

    /// The ids of every group with members or pending members.
    public func groupIds() -> [String] {
        groups.keys.sorted()
    }

    /// Suspends until `predicate` holds for the group's description (`nil` when it has no
    /// membership). Checked now and after every change; for tests.
    func waitUntil(_ groupId: String, _ predicate: @escaping @Sendable (GroupDescription?) -> Bool) async {
        if isShutDown || predicate(describeGroup(groupId)) { return }
        await withCheckedContinuation { continuation in
            waiters.append(Waiter(groupId: groupId, predicate: predicate, continuation: continuation))
        }
    }

    // MARK: - Internals

    /// Answers parked requests and logs membership changes.
    private func deliver(_ actions: GroupActions, groupId: String) {
        for removal in actions.removals {
            logger.info(
                "member left group",
                metadata: ["group": "\(groupId)", "member": "\(removal.memberId)", "reason": "\(removal.reason.rawValue)"])
        }
        for generation in actions.completedGenerations {
            logger.info(
                "group completed join phase",
                metadata: ["group": "\(groupId)", "generation": "\(generation.generationId)", "members": "\(generation.memberCount)"])
        }
        for (memberId, outcome) in actions.joins {
            guard let parked = parkedJoins.removeValue(forKey: MemberKey(groupId: groupId, memberId: memberId)) else {
                logger.error("no parked JoinGroup to answer", metadata: ["group": "\(groupId)", "member": "\(memberId)"])
                continue
            }
            parked.continuation.resume(returning: Self.joinResponse(outcome, version: parked.version))
        }
        for (memberId, outcome) in actions.syncs {
            guard let parked = parkedSyncs.removeValue(forKey: MemberKey(groupId: groupId, memberId: memberId)) else {
                logger.error("no parked SyncGroup to answer", metadata: ["group": "\(groupId)", "member": "\(memberId)"])
                continue
            }
            parked.continuation.resume(returning: Self.syncResponse(outcome, version: parked.version))
        }
    }

    /// Drops a group that has become removable and wakes waiters of the group.
    private func groupChanged(_ groupId: String) {
        if groups[groupId]?.isRemovable == true { groups[groupId] = nil }
        guard !waiters.isEmpty else { return }
        let description = describeGroup(groupId)
        var remaining: [Waiter] = []
        for waiter in waiters {
            if waiter.groupId == groupId && waiter.predicate(description) {
                waiter.continuation.resume()
            } else {
                remaining.append(waiter)
            }
        }
        waiters = remaining
    }

    /// Kafka rejects empty group ids; names must also fit the offsets log's 16-bit lengths.
    static func isValidGroupId(_ groupId: String) -> Bool {
        !groupId.isEmpty && groupId.utf8.count <= Int(UInt16.max)
    }

    /// `clientId-UUID`, as Kafka names members.
    static func makeMemberId(clientId: String) -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        bytes[6] = (bytes[6] & 0x0F) | 0x40  // version 4
        bytes[8] = (bytes[8] & 0x3F) | 0x80  // RFC 4122 variant
        let hex = bytes.map { byte in
            let digits = Array("0123456789abcdef")
            return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
        }
        let uuid = [hex[0..<4], hex[4..<6], hex[6..<8], hex[8..<10], hex[10..<16]]
            .map { $0.joined() }
            .joined(separator: "-")
        return "\(clientId)-\(uuid)"
    }

    static func joinResponse(_ outcome: JoinOutcome, version: Int16) -> JoinGroupResponse {
        JoinGroupResponse(
            errorCode: outcome.error.rawValue,
            generationId: outcome.generationId,
            protocolType: version >= 7 ? outcome.protocolType : nil,
            // Before v7 the protocol name is not nullable: "" stands for none.
            protocolName: outcome.protocolName ?? (version >= 7 ? nil : ""),
            leader: outcome.leaderId,
            memberId: outcome.memberId,
            members: outcome.members.map { member in
                var member = member
                if version < 5 { member.groupInstanceId = nil }
                return member
            }
        )
    }

    static func syncResponse(_ outcome: SyncOutcome, version: Int16) -> SyncGroupResponse {
        SyncGroupResponse(
            errorCode: outcome.error.rawValue,
            protocolType: version >= 5 ? outcome.protocolType : nil,
            protocolName: version >= 5 ? outcome.protocolName : nil,
            assignment: outcome.assignment
        )
    }
}

/// A snapshot of a classic group's membership, for DescribeGroups and tests.
public struct GroupDescription: Sendable, Hashable {
    /// One member of the group.
    public struct Member: Sendable, Hashable {
        /// The member id the coordinator assigned.
        public var memberId: String
        /// The static member's `group.instance.id`, if any.
        public var groupInstanceId: String?
        /// The client id of the member's last JoinGroup.
        public var clientId: String
        /// The client address of the member's last JoinGroup.
        public var clientHost: String
        /// The member's metadata for the group's current protocol (empty when none is chosen).
        public var metadata: ByteBuffer
        /// The member's assignment in the current generation (empty until the leader's SyncGroup).
        public var assignment: ByteBuffer
        /// The member has a JoinGroup waiting for the join phase to complete.
        public var isAwaitingJoin: Bool
        /// The member has a SyncGroup waiting for the leader's assignment.
        public var isAwaitingSync: Bool
    }

    /// The group id.
    public var groupId: String
    /// The group's phase.
    public var state: ClassicGroupState
    /// The current generation (0 before the first join phase completes).
    public var generationId: Int32
    /// The protocol type members joined with (`consumer` for consumers), if any.
    public var protocolType: String?
    /// The protocol chosen in the current generation, if any.
    public var protocolName: String?
    /// The leader's member id, if any.
    public var leaderId: String?
    /// Members in join order.
    public var members: [Member]
    /// Member ids handed out with `MEMBER_ID_REQUIRED` that have not joined yet.
    public var pendingMemberCount: Int

    init(_ group: ClassicGroup) {
        groupId = group.groupId
        state = group.state
        generationId = group.generationId
        protocolType = group.protocolType
        protocolName = group.protocolName
        leaderId = group.leaderId
        members = group.members.map {
            Member(
                memberId: $0.memberId, groupInstanceId: $0.groupInstanceId, clientId: $0.clientId,
                clientHost: $0.clientHost, metadata: $0.metadata(for: group.protocolName), assignment: $0.assignment,
                isAwaitingJoin: $0.isAwaitingJoin, isAwaitingSync: $0.isAwaitingSync)
        }
        pendingMemberCount = group.pendingMembers.count
    }
}
