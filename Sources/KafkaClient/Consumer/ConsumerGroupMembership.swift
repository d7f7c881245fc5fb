public import KafkaProtocol

/// A consumer's membership in a classic (eager) consumer group, as a value driven by the
/// coordinator's responses. It builds each request and, from each response, says what to do next;
/// it does no I/O, so every transition is unit-testable.
///
/// The flow: `joinRequest()` → `handleJoin(_:)` (a v4+ coordinator first answers
/// `MEMBER_ID_REQUIRED` with an id: join again) → the leader computes the assignment
/// (`assignments(members:partitionCounts:)`) and every member sends `syncRequest(assignments:)`
/// → `handleSync(_:)` gives the partitions → `heartbeatRequest()` / `handleHeartbeat(_:)` until the
/// coordinator asks to rejoin → `leaveRequest()` on close.
public struct ConsumerGroupMembership: Sendable {
    /// Where the member is in the protocol.
    public enum Phase: Hashable, Sendable {
        /// Not a member of a generation: the next step is JoinGroup.
        case unjoined
        /// A JoinGroup is outstanding.
        case joining
        /// Joined a generation; a SyncGroup is outstanding (or, for the leader, being prepared).
        case syncing
        /// Has its assignment for the current generation; heartbeats keep it.
        case stable
        /// Left the group (closed).
        case left
    }

    /// What the driver should do after a response.
    public enum Step: Hashable, Sendable {
        /// Send JoinGroup again now (`MEMBER_ID_REQUIRED`, a reset member id or generation, a rebalance).
        case rejoin
        /// Send JoinGroup again after the retry backoff (`COORDINATOR_LOAD_IN_PROGRESS`, ...).
        case retryJoinAfterBackoff
        /// The coordinator moved or is unavailable: look it up again, then send JoinGroup.
        case findCoordinatorAndRejoin
        /// This member leads the generation: compute the assignment for `members` (it needs the
        /// partition counts of their topics), then send SyncGroup with it.
        case assign(members: [ConsumerGroupMemberSubscription])
        /// A follower: send SyncGroup without assignments.
        case sync
        /// The member has its assignment; start heartbeating and fetching these partitions.
        case assigned([TopicPartition])
        /// Nothing changes (a successful heartbeat).
        case none
        /// Heartbeat: the coordinator moved; look it up again and keep heartbeating.
        case findCoordinator
    }

    /// The group's id.
    public let groupID: String
    /// Topics subscribed to, sorted.
    public let topics: [String]
    /// Assignors offered in JoinGroup, preferred first.
    public let assignors: [any ConsumerPartitionAssignor]
    /// `session.timeout.ms`.
    public let sessionTimeoutMs: Int32
    /// `max.poll.interval.ms` (the time the coordinator waits for members to rejoin).
    public let rebalanceTimeoutMs: Int32

    /// Where the member is in the protocol.
    public private(set) var phase: Phase = .unjoined
    /// The member id; empty until the coordinator assigns one.
    public private(set) var memberID = ""
    /// The current generation, or -1.
    public private(set) var generationID: Int32 = -1
    /// The assignor the coordinator chose for the current generation.
    public private(set) var protocolName: String?
    /// The generation's leader.
    public private(set) var leaderID: String?
    /// The partitions assigned in the current generation (empty while unjoined or rebalancing).
    public private(set) var assignment: [TopicPartition] = []

    /// Creates an unjoined member.
    ///
    /// - Precondition: `assignors` is not empty.
    public init(
        groupID: String,
        topics: some Sequence<String>,
        assignors: [any ConsumerPartitionAssignor],
        sessionTimeoutMs: Int32,
        rebalanceTimeoutMs: Int32
    ) {
        precondition(!assignors.isEmpty, "a consumer group member needs at least one assignor")
        self.groupID = groupID
        self.topics = Set(topics).sorted(by: javaStringLess)
        self.assignors = assignors
        self.sessionTimeoutMs = sessionTimeoutMs
        self.rebalanceTimeoutMs = rebalanceTimeoutMs
    }

    /// Whether this member leads the current generation.
    public var isLeader: Bool { leaderID != nil && leaderID == memberID }

    // MARK: JoinGroup

    /// The JoinGroup request; the member enters `joining` and gives up its assignment (eager
    /// protocol: every partition is revoked before a rejoin).
    ///
    /// The subscription metadata is v3: topics, owned partitions (none, eager) and generation.
    public mutating func joinRequest() -> JoinGroupRequest {
        phase = .joining
        assignment = []
        let metadata = ConsumerProtocolSubscription(topics: topics, generationID: generationID).encoded()
        return JoinGroupRequest(
            groupId: groupID,
            sessionTimeoutMs: sessionTimeoutMs,
            rebalanceTimeoutMs: rebalanceTimeoutMs,
            memberId: memberID,
            protocolType: "consumer",
            protocols: assignors.map { .init(name: $0.name, metadata: metadata) })
    }

    /// Applies a JoinGroup response.
    ///
    /// - Throws: `KafkaConsumerError` (`groupError`) for errors a rejoin cannot fix
    ///   (`INCONSISTENT_GROUP_PROTOCOL`, `INVALID_SESSION_TIMEOUT`, `GROUP_AUTHORIZATION_FAILED`,
    ///   `GROUP_MAX_SIZE_REACHED`, unknown codes ...) or `protocolError` for undecodable member
    ///   metadata; the member is then `unjoined`.
    public mutating func handleJoin(_ response: JoinGroupResponse) throws(KafkaConsumerError) -> Step {
        let error = KafkaErrorCode(rawValue: response.errorCode)
        switch error {
        case .none:
            break
        case .memberIdRequired:
            memberID = response.memberId
            phase = .unjoined
            return .rejoin
        case .rebalanceInProgress, .coordinatorLoadInProgress:
            phase = .unjoined
            return .retryJoinAfterBackoff
        default:
            if let step = rejoinStep(after: error) { return step }
            phase = .unjoined
            throw KafkaConsumerError(.groupError(error), "JoinGroup for group '\(groupID)' failed")
        }
        memberID = response.memberId
        generationID = response.generationId
        protocolName = response.protocolName
        leaderID = response.leader
        phase = .syncing
        guard isLeader, !response.skipAssignment else { return .sync }
        var members: [ConsumerGroupMemberSubscription] = []
        members.reserveCapacity(response.members.count)
        for member in response.members {
            let subscription: ConsumerProtocolSubscription
            do {
                subscription = try ConsumerProtocolSubscription(decoding: member.metadata)
            } catch {
                phase = .unjoined
                throw KafkaConsumerError(
                    .protocolError,
                    "group '\(groupID)' member '\(member.memberId)' sent a subscription that cannot be decoded: \(error)")
            }
            members.append(.init(
                memberID: member.memberId, groupInstanceID: member.groupInstanceId, topics: Set(subscription.topics)))
        }
        return .assign(members: members)
    }

    // MARK: SyncGroup

    /// Runs the generation's assignor over `members` and encodes each member's assignment.
    ///
    /// - Throws: `invalidUsage` if the coordinator chose a protocol this member did not offer.
    public func assignments(
        members: [ConsumerGroupMemberSubscription], partitionCounts: [String: Int32]
    ) throws(KafkaConsumerError) -> [SyncGroupRequest.SyncGroupRequestAssignment] {
        guard let assignor = assignors.first(where: { $0.name == protocolName }) else {
            throw KafkaConsumerError(
                .protocolError,
                "group '\(groupID)' chose assignor '\(protocolName ?? "none")', which this member did not offer")
        }
        let assigned = assignor.assign(members: members, partitionCounts: partitionCounts)
        return assigned.keys.sorted(by: javaStringLess).map { memberID in
            let entries = ConsumerProtocolTopicPartitions.grouping(assigned[memberID] ?? [])
            return .init(memberId: memberID, assignment: ConsumerProtocolAssignment(assignedPartitions: entries).encoded())
        }
    }

    /// The SyncGroup request for `version`: the leader passes the assignments, followers none.
    /// Protocol type and name are sent from v5, where the field exists.
    public func syncRequest(
        assignments: [SyncGroupRequest.SyncGroupRequestAssignment] = [], version: Int16 = 5
    ) -> SyncGroupRequest {
        SyncGroupRequest(
            groupId: groupID, generationId: generationID, memberId: memberID,
            protocolType: version >= 5 ? "consumer" : nil, protocolName: version >= 5 ? protocolName : nil,
            assignments: assignments)
    }

    /// Applies a SyncGroup response; on success the member is `stable` with its partitions.
    ///
    /// - Throws: `groupError` for errors a rejoin cannot fix, `protocolError` for an assignment
    ///   that cannot be decoded.
    public mutating func handleSync(_ response: SyncGroupResponse) throws(KafkaConsumerError) -> Step {
        let error = KafkaErrorCode(rawValue: response.errorCode)
        switch error {
        case .none:
            break
        case .rebalanceInProgress:
            phase = .unjoined
            return .rejoin
        default:
            if let step = rejoinStep(after: error) { return step }
            phase = .unjoined
            throw KafkaConsumerError(.groupError(error), "SyncGroup for group '\(groupID)' failed")
        }
        let decoded: ConsumerProtocolAssignment
        do {
            decoded = try ConsumerProtocolAssignment(decoding: response.assignment)
        } catch {
            phase = .unjoined
            throw KafkaConsumerError(
                .protocolError, "group '\(groupID)' generation \(generationID): assignment cannot be decoded: \(error)")
        }
        // Only what we subscribed to: a leader from another client may hand out other topics.
        let subscribed = Set(topics)
        assignment = decoded.assignedPartitions.topicPartitions.filter { subscribed.contains($0.topic) }.sorted()
        phase = .stable
        return .assigned(assignment)
    }

    // MARK: Heartbeat

    /// The Heartbeat request for the current generation.
    public func heartbeatRequest() -> HeartbeatRequest {
        HeartbeatRequest(groupId: groupID, generationId: generationID, memberId: memberID)
    }

    /// Applies a Heartbeat response.
    ///
    /// `REBALANCE_IN_PROGRESS` → `.rejoin` keeping member id and generation;
    /// `ILLEGAL_GENERATION` → `.rejoin` with the generation reset; `UNKNOWN_MEMBER_ID` →
    /// `.rejoin` with member id and generation reset; a moved coordinator → `.findCoordinator`.
    ///
    /// - Throws: `groupError` for anything else (`GROUP_AUTHORIZATION_FAILED`, `FENCED_INSTANCE_ID`, ...).
    public mutating func handleHeartbeat(_ response: HeartbeatResponse) throws(KafkaConsumerError) -> Step {
        let error = KafkaErrorCode(rawValue: response.errorCode)
        switch error {
        case .none:
            return .none
        case .rebalanceInProgress:
            phase = .unjoined
            return .rejoin
        case .illegalGeneration, .unknownMemberId:
            return rejoinStep(after: error) ?? .rejoin
        case .coordinatorNotAvailable, .notCoordinator, .coordinatorLoadInProgress:
            return .findCoordinator
        default:
            throw KafkaConsumerError(.groupError(error), "Heartbeat for group '\(groupID)' member '\(memberID)' failed")
        }
    }

    // MARK: Offsets

    /// Applies an OffsetCommit partition error to the membership: errors that mean the member is no
    /// longer in this generation reset it (the caller then rejoins) and become `commitFailed`.
    ///
    /// - Returns: the error to report for this partition, or `nil` for none.
    public mutating func commitError(
        _ error: KafkaErrorCode, partition: TopicPartition
    ) -> KafkaConsumerError? {
        let message = "OffsetCommit of \(partition) for group '\(groupID)' generation \(generationID) failed"
        switch error {
        case .none:
            return nil
        case .unknownMemberId:
            resetGeneration(resetMemberID: true)
            return KafkaConsumerError(.commitFailed(error), message)
        case .illegalGeneration:
            resetGeneration(resetMemberID: false)
            return KafkaConsumerError(.commitFailed(error), message)
        case .rebalanceInProgress:
            phase = .unjoined
            return KafkaConsumerError(.commitFailed(error), message)
        default:
            return KafkaConsumerError(.groupError(error), message)
        }
    }

    // MARK: LeaveGroup

    /// The LeaveGroup request for `version` (v0-2 name the member, v3+ list it, v5+ with a
    /// reason), or `nil` if the member never got an id; the member is `left` either way.
    public mutating func leaveRequest(version: Int16 = 5) -> LeaveGroupRequest? {
        defer {
            phase = .left
            assignment = []
        }
        guard !memberID.isEmpty else { return nil }
        if version < 3 { return LeaveGroupRequest(groupId: groupID, memberId: memberID) }
        return LeaveGroupRequest(
            groupId: groupID,
            members: [.init(memberId: memberID, reason: version >= 5 ? "the consumer is closing" : nil)])
    }

    /// The step for errors JoinGroup and SyncGroup share: a stale member id or generation is reset
    /// and the member rejoins; a moved coordinator is looked up again. `nil` for other errors.
    private mutating func rejoinStep(after error: KafkaErrorCode) -> Step? {
        switch error {
        case .unknownMemberId:
            resetGeneration(resetMemberID: true)
            return .rejoin
        case .illegalGeneration:
            resetGeneration(resetMemberID: false)
            return .rejoin
        case .coordinatorNotAvailable, .notCoordinator:
            phase = .unjoined
            return .findCoordinatorAndRejoin
        default:
            return nil
        }
    }

    /// Forgets the generation (and the member id) after the coordinator said they are stale; the
    /// partitions are lost, not revoked: another member may already own them.
    public mutating func resetGeneration(resetMemberID: Bool) {
        if resetMemberID { memberID = "" }
        generationID = -1
        protocolName = nil
        leaderID = nil
        assignment = []
        phase = .unjoined
    }
}
