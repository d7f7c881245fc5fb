public import KafkaProtocol

/// Why a consumer operation failed.
public struct KafkaConsumerError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The class of failure.
    public enum Kind: Hashable, Sendable {
        /// The group coordinator answered a group request (JoinGroup, SyncGroup, Heartbeat,
        /// LeaveGroup, OffsetCommit, OffsetFetch) with an error the consumer cannot recover from.
        case groupError(KafkaErrorCode)
        /// A commit was refused because the group rebalanced or the member was removed; the
        /// partitions may now belong to another member (Java's `CommitFailedException`).
        case commitFailed(KafkaErrorCode)
        /// A broker answered Fetch or ListOffsets for a partition with an error that retrying
        /// cannot fix.
        case partitionError(KafkaErrorCode)
        /// Bytes from another group member or a broker could not be decoded.
        case protocolError
        /// The consumer was used in a way its configuration does not allow (commit without a
        /// group, seek on a partition not assigned, ...).
        case invalidUsage
        /// The request could not be sent or answered (connection, timeout, version negotiation).
        case client
        /// The consumer was closed.
        case closed
    }

    /// The class of failure.
    public var kind: Kind
    /// What failed and where: group, topic, partition, member.
    public var message: String

    /// Creates an error.
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String {
        switch kind {
        case .groupError(let code), .commitFailed(let code), .partitionError(let code): "\(message): \(code)"
        default: message
        }
    }
}
