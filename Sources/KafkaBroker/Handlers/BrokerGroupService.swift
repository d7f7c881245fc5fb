public import KafkaProtocol
import NIOCore

/// What the handlers need from the group coordinator: the classic consumer-group APIs.
///
/// The Groups module's `GroupCoordinator` is adapted to it in `BrokerGroupService+GroupCoordinator.swift`.
public protocol BrokerGroupService: Sendable {
    /// JoinGroup; may suspend until the rebalance completes.
    func joinGroup(_ request: JoinGroupRequest, version: Int16, clientId: String, clientHost: String) async -> JoinGroupResponse
    /// SyncGroup; may suspend until the leader's assignment arrives.
    func syncGroup(_ request: SyncGroupRequest, version: Int16) async -> SyncGroupResponse
    /// Heartbeat.
    func heartbeat(_ request: HeartbeatRequest, version: Int16) async -> HeartbeatResponse
    /// LeaveGroup.
    func leaveGroup(_ request: LeaveGroupRequest, version: Int16) async -> LeaveGroupResponse
    /// OffsetCommit.
    func commitOffsets(_ request: OffsetCommitRequest, version: Int16) async -> OffsetCommitResponse
    /// OffsetFetch.
    func fetchOffsets(_ request: OffsetFetchRequest, version: Int16) async -> OffsetFetchResponse
    /// Drops every group's committed offsets of `topic` (DeleteTopics), durably.
    func removeOffsets(topic: String) async throws
    /// Runs the session and rebalance timers until the task is cancelled.
    func run() async
    /// Persists and stops timers.
    func close() async
}

extension BrokerHandlers {
    /// Forwards a group API request to the coordinator; without one, the connection is closed.
    func group(_ request: KafkaRequest, header: KafkaRequestHeader, connection: KafkaConnectionInfo) async -> KafkaFrameOutcome {
        guard let groups else { return .close(reason: "\(header.apiKey): no group coordinator in this broker") }
        let version = header.apiVersion
        switch request {
        case .joinGroup(let body):
            return KafkaResponseEncoding.outcome(
                await groups.joinGroup(body, version: version, clientId: header.clientId ?? "",
                    clientHost: Self.clientHost(connection)),
                header: header)
        case .syncGroup(let body):
            return KafkaResponseEncoding.outcome(await groups.syncGroup(body, version: version), header: header)
        case .heartbeat(let body):
            return KafkaResponseEncoding.outcome(await groups.heartbeat(body, version: version), header: header)
        case .leaveGroup(let body):
            return KafkaResponseEncoding.outcome(await groups.leaveGroup(body, version: version), header: header)
        case .offsetCommit(let body):
            return KafkaResponseEncoding.outcome(await groups.commitOffsets(body, version: version), header: header)
        case .offsetFetch(let body):
            return KafkaResponseEncoding.outcome(await groups.fetchOffsets(body, version: version), header: header)
        default:
            return .close(reason: "\(header.apiKey) is not a group API")
        }
    }

    /// The client host as Kafka reports it in DescribeGroups: `/` and the peer's IP address.
    static func clientHost(_ connection: KafkaConnectionInfo) -> String {
        "/\(connection.remoteAddress?.ipAddress ?? "unknown")"
    }
}
