/// A Kafka protocol error code: the int16 `error_code` field of responses (`Errors.java`).
///
/// Any value is accepted, so a code added by a broker newer than this table is kept as
/// it is, not rejected: its ``name`` is `UNKNOWN_CODE_<n>` and it is not retriable, which is
/// how the Java client treats codes it does not know (`Errors.forCode` turns them into the
/// non-retriable `UNKNOWN_SERVER_ERROR`).
///
/// ``name``, ``isRetriable`` and ``message`` come from one table, `KafkaErrorCode.table`, with
/// one row per code Kafka defines.
public struct KafkaErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The code as it appears on the wire.
    public var rawValue: Int16

    /// Wraps `rawValue`, known or not.
    public init(rawValue: Int16) {
        self.rawValue = rawValue
    }

    /// Kafka's name for the code, such as `NOT_LEADER_OR_FOLLOWER`; `UNKNOWN_CODE_<n>` for a code
    /// not in the table.
    public var name: String {
        Self.entry(for: rawValue)?.name ?? "UNKNOWN_CODE_\(rawValue)"
    }

    /// Whether Kafka calls the error retriable: the protocol guide's "Retriable" column, which is
    /// whether the error's Java exception extends `RetriableException`. `false` for `NONE` and for
    /// codes not in the table.
    public var isRetriable: Bool {
        Self.entry(for: rawValue)?.isRetriable ?? false
    }

    /// Kafka's default description of the error; empty for `NONE`. For a code not in the table,
    /// a sentence saying so.
    public var message: String {
        Self.entry(for: rawValue)?.message
            ?? "Error code \(rawValue) is not in this client's table (Kafka 4.4); a newer broker may define it."
    }

    /// Whether the code reports a failure, that is, is anything but `NONE` (0).
    public var isError: Bool { rawValue != 0 }

    /// Whether the code is in the table (Kafka 4.4's codes).
    public var isKnown: Bool { Self.entry(for: rawValue) != nil }

    /// The name and the code, such as `NOT_LEADER_OR_FOLLOWER (6)`.
    public var description: String { "\(name) (\(rawValue))" }
}

// MARK: - Known codes

// One constant per row of `table`, named by Kafka's name in lowerCamelCase.
extension KafkaErrorCode {
    /// `UNKNOWN_SERVER_ERROR`.
    public static let unknownServerError = KafkaErrorCode(rawValue: -1)
    /// `NONE`: success, no error.
    ///
    /// Where a `KafkaErrorCode?` is expected, write `KafkaErrorCode.none` in full: a bare `.none`
    /// there means `nil`.
    public static let none = KafkaErrorCode(rawValue: 0)
    /// `OFFSET_OUT_OF_RANGE`.
    public static let offsetOutOfRange = KafkaErrorCode(rawValue: 1)
    /// `CORRUPT_MESSAGE`.
    public static let corruptMessage = KafkaErrorCode(rawValue: 2)
    /// `UNKNOWN_TOPIC_OR_PARTITION`.
    public static let unknownTopicOrPartition = KafkaErrorCode(rawValue: 3)
    /// `INVALID_FETCH_SIZE`.
    public static let invalidFetchSize = KafkaErrorCode(rawValue: 4)
    /// `LEADER_NOT_AVAILABLE`.
    public static let leaderNotAvailable = KafkaErrorCode(rawValue: 5)
    /// `NOT_LEADER_OR_FOLLOWER`.
    public static let notLeaderOrFollower = KafkaErrorCode(rawValue: 6)
    /// `REQUEST_TIMED_OUT`.
    public static let requestTimedOut = KafkaErrorCode(rawValue: 7)
    /// `BROKER_NOT_AVAILABLE`.
    public static let brokerNotAvailable = KafkaErrorCode(rawValue: 8)
    /// `REPLICA_NOT_AVAILABLE`.
    public static let replicaNotAvailable = KafkaErrorCode(rawValue: 9)
    /// `MESSAGE_TOO_LARGE`.
    public static let messageTooLarge = KafkaErrorCode(rawValue: 10)
    /// `STALE_CONTROLLER_EPOCH`.
    public static let staleControllerEpoch = KafkaErrorCode(rawValue: 11)
    /// `OFFSET_METADATA_TOO_LARGE`.
    public static let offsetMetadataTooLarge = KafkaErrorCode(rawValue: 12)
    /// `NETWORK_EXCEPTION`.
    public static let networkException = KafkaErrorCode(rawValue: 13)
    /// `COORDINATOR_LOAD_IN_PROGRESS`.
    public static let coordinatorLoadInProgress = KafkaErrorCode(rawValue: 14)
    /// `COORDINATOR_NOT_AVAILABLE`.
    public static let coordinatorNotAvailable = KafkaErrorCode(rawValue: 15)
    /// `NOT_COORDINATOR`.
    public static let notCoordinator = KafkaErrorCode(rawValue: 16)
    /// `INVALID_TOPIC_EXCEPTION`.
    public static let invalidTopicException = KafkaErrorCode(rawValue: 17)
    /// `RECORD_LIST_TOO_LARGE`.
    public static let recordListTooLarge = KafkaErrorCode(rawValue: 18)
    /// `NOT_ENOUGH_REPLICAS`.
    public static let notEnoughReplicas = KafkaErrorCode(rawValue: 19)
    /// `NOT_ENOUGH_REPLICAS_AFTER_APPEND`.
    public static let notEnoughReplicasAfterAppend = KafkaErrorCode(rawValue: 20)
    /// `INVALID_REQUIRED_ACKS`.
    public static let invalidRequiredAcks = KafkaErrorCode(rawValue: 21)
    /// `ILLEGAL_GENERATION`.
    public static let illegalGeneration = KafkaErrorCode(rawValue: 22)
    /// `INCONSISTENT_GROUP_PROTOCOL`.
    public static let inconsistentGroupProtocol = KafkaErrorCode(rawValue: 23)
    /// `INVALID_GROUP_ID`.
    public static let invalidGroupId = KafkaErrorCode(rawValue: 24)
    /// `UNKNOWN_MEMBER_ID`.
    public static let unknownMemberId = KafkaErrorCode(rawValue: 25)
    /// `INVALID_SESSION_TIMEOUT`.
    public static let invalidSessionTimeout = KafkaErrorCode(rawValue: 26)
    /// `REBALANCE_IN_PROGRESS`.
    public static let rebalanceInProgress = KafkaErrorCode(rawValue: 27)
    /// `INVALID_COMMIT_OFFSET_SIZE`.
    public static let invalidCommitOffsetSize = KafkaErrorCode(rawValue: 28)
    /// `TOPIC_AUTHORIZATION_FAILED`.
    public static let topicAuthorizationFailed = KafkaErrorCode(rawValue: 29)
    /// `GROUP_AUTHORIZATION_FAILED`.
    public static let groupAuthorizationFailed = KafkaErrorCode(rawValue: 30)
    /// `CLUSTER_AUTHORIZATION_FAILED`.
    public static let clusterAuthorizationFailed = KafkaErrorCode(rawValue: 31)
    /// `INVALID_TIMESTAMP`.
    public static let invalidTimestamp = KafkaErrorCode(rawValue: 32)
    /// `UNSUPPORTED_SASL_MECHANISM`.
    public static let unsupportedSaslMechanism = KafkaErrorCode(rawValue: 33)
    /// `ILLEGAL_SASL_STATE`.
    public static let illegalSaslState = KafkaErrorCode(rawValue: 34)
    /// `UNSUPPORTED_VERSION`.
    public static let unsupportedVersion = KafkaErrorCode(rawValue: 35)
    /// `TOPIC_ALREADY_EXISTS`.
    public static let topicAlreadyExists = KafkaErrorCode(rawValue: 36)
    /// `INVALID_PARTITIONS`.
    public static let invalidPartitions = KafkaErrorCode(rawValue: 37)
    /// `INVALID_REPLICATION_FACTOR`.
    public static let invalidReplicationFactor = KafkaErrorCode(rawValue: 38)
    /// `INVALID_REPLICA_ASSIGNMENT`.
    public static let invalidReplicaAssignment = KafkaErrorCode(rawValue: 39)
    /// `INVALID_CONFIG`.
    public static let invalidConfig = KafkaErrorCode(rawValue: 40)
    /// `NOT_CONTROLLER`.
    public static let notController = KafkaErrorCode(rawValue: 41)
    /// `INVALID_REQUEST`.
    public static let invalidRequest = KafkaErrorCode(rawValue: 42)
    /// `UNSUPPORTED_FOR_MESSAGE_FORMAT`.
    public static let unsupportedForMessageFormat = KafkaErrorCode(rawValue: 43)
    /// `POLICY_VIOLATION`.
    public static let policyViolation = KafkaErrorCode(rawValue: 44)
    /// `OUT_OF_ORDER_SEQUENCE_NUMBER`.
    public static let outOfOrderSequenceNumber = KafkaErrorCode(rawValue: 45)
    /// `DUPLICATE_SEQUENCE_NUMBER`.
    public static let duplicateSequenceNumber = KafkaErrorCode(rawValue: 46)
    /// `INVALID_PRODUCER_EPOCH`.
    public static let invalidProducerEpoch = KafkaErrorCode(rawValue: 47)
    /// `INVALID_TXN_STATE`.
    public static let invalidTxnState = KafkaErrorCode(rawValue: 48)
    /// `INVALID_PRODUCER_ID_MAPPING`.
    public static let invalidProducerIdMapping = KafkaErrorCode(rawValue: 49)
    /// `INVALID_TRANSACTION_TIMEOUT`.
    public static let invalidTransactionTimeout = KafkaErrorCode(rawValue: 50)
    /// `CONCURRENT_TRANSACTIONS`.
    public static let concurrentTransactions = KafkaErrorCode(rawValue: 51)
    /// `TRANSACTION_COORDINATOR_FENCED`.
    public static let transactionCoordinatorFenced = KafkaErrorCode(rawValue: 52)
    /// `TRANSACTIONAL_ID_AUTHORIZATION_FAILED`.
    public static let transactionalIdAuthorizationFailed = KafkaErrorCode(rawValue: 53)
    /// `SECURITY_DISABLED`.
    public static let securityDisabled = KafkaErrorCode(rawValue: 54)
    /// `OPERATION_NOT_ATTEMPTED`.
    public static let operationNotAttempted = KafkaErrorCode(rawValue: 55)
    /// `KAFKA_STORAGE_ERROR`.
    public static let kafkaStorageError = KafkaErrorCode(rawValue: 56)
    /// `LOG_DIR_NOT_FOUND`.
    public static let logDirNotFound = KafkaErrorCode(rawValue: 57)
    /// `SASL_AUTHENTICATION_FAILED`.
    public static let saslAuthenticationFailed = KafkaErrorCode(rawValue: 58)
    /// `UNKNOWN_PRODUCER_ID`.
    public static let unknownProducerId = KafkaErrorCode(rawValue: 59)
    /// `REASSIGNMENT_IN_PROGRESS`.
    public static let reassignmentInProgress = KafkaErrorCode(rawValue: 60)
    /// `DELEGATION_TOKEN_AUTH_DISABLED`.
    public static let delegationTokenAuthDisabled = KafkaErrorCode(rawValue: 61)
    /// `DELEGATION_TOKEN_NOT_FOUND`.
    public static let delegationTokenNotFound = KafkaErrorCode(rawValue: 62)
    /// `DELEGATION_TOKEN_OWNER_MISMATCH`.
    public static let delegationTokenOwnerMismatch = KafkaErrorCode(rawValue: 63)
    /// `DELEGATION_TOKEN_REQUEST_NOT_ALLOWED`.
    public static let delegationTokenRequestNotAllowed = KafkaErrorCode(rawValue: 64)
    /// `DELEGATION_TOKEN_AUTHORIZATION_FAILED`.
    public static let delegationTokenAuthorizationFailed = KafkaErrorCode(rawValue: 65)
    /// `DELEGATION_TOKEN_EXPIRED`.
    public static let delegationTokenExpired = KafkaErrorCode(rawValue: 66)
    /// `INVALID_PRINCIPAL_TYPE`.
    public static let invalidPrincipalType = KafkaErrorCode(rawValue: 67)
    /// `NON_EMPTY_GROUP`.
    public static let nonEmptyGroup = KafkaErrorCode(rawValue: 68)
    /// `GROUP_ID_NOT_FOUND`.
    public static let groupIdNotFound = KafkaErrorCode(rawValue: 69)
    /// `FETCH_SESSION_ID_NOT_FOUND`.
    public static let fetchSessionIdNotFound = KafkaErrorCode(rawValue: 70)
    /// `INVALID_FETCH_SESSION_EPOCH`.
    public static let invalidFetchSessionEpoch = KafkaErrorCode(rawValue: 71)
    /// `LISTENER_NOT_FOUND`.
    public static let listenerNotFound = KafkaErrorCode(rawValue: 72)
    /// `TOPIC_DELETION_DISABLED`.
    public static let topicDeletionDisabled = KafkaErrorCode(rawValue: 73)
    /// `FENCED_LEADER_EPOCH`.
    public static let fencedLeaderEpoch = KafkaErrorCode(rawValue: 74)
    /// `UNKNOWN_LEADER_EPOCH`.
    public static let unknownLeaderEpoch = KafkaErrorCode(rawValue: 75)
    /// `UNSUPPORTED_COMPRESSION_TYPE`.
    public static let unsupportedCompressionType = KafkaErrorCode(rawValue: 76)
    /// `STALE_BROKER_EPOCH`.
    public static let staleBrokerEpoch = KafkaErrorCode(rawValue: 77)
    /// `OFFSET_NOT_AVAILABLE`.
    public static let offsetNotAvailable = KafkaErrorCode(rawValue: 78)
    /// `MEMBER_ID_REQUIRED`.
    public static let memberIdRequired = KafkaErrorCode(rawValue: 79)
    /// `PREFERRED_LEADER_NOT_AVAILABLE`.
    public static let preferredLeaderNotAvailable = KafkaErrorCode(rawValue: 80)
    /// `GROUP_MAX_SIZE_REACHED`.
    public static let groupMaxSizeReached = KafkaErrorCode(rawValue: 81)
    /// `FENCED_INSTANCE_ID`.
    public static let fencedInstanceId = KafkaErrorCode(rawValue: 82)
    /// `ELIGIBLE_LEADERS_NOT_AVAILABLE`.
    public static let eligibleLeadersNotAvailable = KafkaErrorCode(rawValue: 83)
    /// `ELECTION_NOT_NEEDED`.
    public static let electionNotNeeded = KafkaErrorCode(rawValue: 84)
    /// `NO_REASSIGNMENT_IN_PROGRESS`.
    public static let noReassignmentInProgress = KafkaErrorCode(rawValue: 85)
    /// `GROUP_SUBSCRIBED_TO_TOPIC`.
    public static let groupSubscribedToTopic = KafkaErrorCode(rawValue: 86)
    /// `INVALID_RECORD`.
    public static let invalidRecord = KafkaErrorCode(rawValue: 87)
    /// `UNSTABLE_OFFSET_COMMIT`.
    public static let unstableOffsetCommit = KafkaErrorCode(rawValue: 88)
    /// `THROTTLING_QUOTA_EXCEEDED`.
    public static let throttlingQuotaExceeded = KafkaErrorCode(rawValue: 89)
    /// `PRODUCER_FENCED`.
    public static let producerFenced = KafkaErrorCode(rawValue: 90)
    /// `RESOURCE_NOT_FOUND`.
    public static let resourceNotFound = KafkaErrorCode(rawValue: 91)
    /// `DUPLICATE_RESOURCE`.
    public static let duplicateResource = KafkaErrorCode(rawValue: 92)
    /// `UNACCEPTABLE_CREDENTIAL`.
    public static let unacceptableCredential = KafkaErrorCode(rawValue: 93)
    /// `INCONSISTENT_VOTER_SET`.
    public static let inconsistentVoterSet = KafkaErrorCode(rawValue: 94)
    /// `INVALID_UPDATE_VERSION`.
    public static let invalidUpdateVersion = KafkaErrorCode(rawValue: 95)
    /// `FEATURE_UPDATE_FAILED`.
    public static let featureUpdateFailed = KafkaErrorCode(rawValue: 96)
    /// `PRINCIPAL_DESERIALIZATION_FAILURE`.
    public static let principalDeserializationFailure = KafkaErrorCode(rawValue: 97)
    /// `SNAPSHOT_NOT_FOUND`.
    public static let snapshotNotFound = KafkaErrorCode(rawValue: 98)
    /// `POSITION_OUT_OF_RANGE`.
    public static let positionOutOfRange = KafkaErrorCode(rawValue: 99)
    /// `UNKNOWN_TOPIC_ID`.
    public static let unknownTopicId = KafkaErrorCode(rawValue: 100)
    /// `DUPLICATE_BROKER_REGISTRATION`.
    public static let duplicateBrokerRegistration = KafkaErrorCode(rawValue: 101)
    /// `BROKER_ID_NOT_REGISTERED`.
    public static let brokerIdNotRegistered = KafkaErrorCode(rawValue: 102)
    /// `INCONSISTENT_TOPIC_ID`.
    public static let inconsistentTopicId = KafkaErrorCode(rawValue: 103)
    /// `INCONSISTENT_CLUSTER_ID`.
    public static let inconsistentClusterId = KafkaErrorCode(rawValue: 104)
    /// `TRANSACTIONAL_ID_NOT_FOUND`.
    public static let transactionalIdNotFound = KafkaErrorCode(rawValue: 105)
    /// `FETCH_SESSION_TOPIC_ID_ERROR`.
    public static let fetchSessionTopicIdError = KafkaErrorCode(rawValue: 106)
    /// `INELIGIBLE_REPLICA`.
    public static let ineligibleReplica = KafkaErrorCode(rawValue: 107)
    /// `NEW_LEADER_ELECTED`.
    public static let newLeaderElected = KafkaErrorCode(rawValue: 108)
    /// `OFFSET_MOVED_TO_TIERED_STORAGE`.
    public static let offsetMovedToTieredStorage = KafkaErrorCode(rawValue: 109)
    /// `FENCED_MEMBER_EPOCH`.
    public static let fencedMemberEpoch = KafkaErrorCode(rawValue: 110)
    /// `UNRELEASED_INSTANCE_ID`.
    public static let unreleasedInstanceId = KafkaErrorCode(rawValue: 111)
    /// `UNSUPPORTED_ASSIGNOR`.
    public static let unsupportedAssignor = KafkaErrorCode(rawValue: 112)
    /// `STALE_MEMBER_EPOCH`.
    public static let staleMemberEpoch = KafkaErrorCode(rawValue: 113)
    /// `MISMATCHED_ENDPOINT_TYPE`.
    public static let mismatchedEndpointType = KafkaErrorCode(rawValue: 114)
    /// `UNSUPPORTED_ENDPOINT_TYPE`.
    public static let unsupportedEndpointType = KafkaErrorCode(rawValue: 115)
    /// `UNKNOWN_CONTROLLER_ID`.
    public static let unknownControllerId = KafkaErrorCode(rawValue: 116)
    /// `UNKNOWN_SUBSCRIPTION_ID`.
    public static let unknownSubscriptionId = KafkaErrorCode(rawValue: 117)
    /// `TELEMETRY_TOO_LARGE`.
    public static let telemetryTooLarge = KafkaErrorCode(rawValue: 118)
    /// `INVALID_REGISTRATION`.
    public static let invalidRegistration = KafkaErrorCode(rawValue: 119)
    /// `TRANSACTION_ABORTABLE`.
    public static let transactionAbortable = KafkaErrorCode(rawValue: 120)
    /// `INVALID_RECORD_STATE`.
    public static let invalidRecordState = KafkaErrorCode(rawValue: 121)
    /// `SHARE_SESSION_NOT_FOUND`.
    public static let shareSessionNotFound = KafkaErrorCode(rawValue: 122)
    /// `INVALID_SHARE_SESSION_EPOCH`.
    public static let invalidShareSessionEpoch = KafkaErrorCode(rawValue: 123)
    /// `FENCED_STATE_EPOCH`.
    public static let fencedStateEpoch = KafkaErrorCode(rawValue: 124)
    /// `INVALID_VOTER_KEY`.
    public static let invalidVoterKey = KafkaErrorCode(rawValue: 125)
    /// `DUPLICATE_VOTER`.
    public static let duplicateVoter = KafkaErrorCode(rawValue: 126)
    /// `VOTER_NOT_FOUND`.
    public static let voterNotFound = KafkaErrorCode(rawValue: 127)
    /// `INVALID_REGULAR_EXPRESSION`.
    public static let invalidRegularExpression = KafkaErrorCode(rawValue: 128)
    /// `REBOOTSTRAP_REQUIRED`.
    public static let rebootstrapRequired = KafkaErrorCode(rawValue: 129)
    /// `STREAMS_INVALID_TOPOLOGY`.
    public static let streamsInvalidTopology = KafkaErrorCode(rawValue: 130)
    /// `STREAMS_INVALID_TOPOLOGY_EPOCH`.
    public static let streamsInvalidTopologyEpoch = KafkaErrorCode(rawValue: 131)
    /// `STREAMS_TOPOLOGY_FENCED`.
    public static let streamsTopologyFenced = KafkaErrorCode(rawValue: 132)
    /// `SHARE_SESSION_LIMIT_REACHED`.
    public static let shareSessionLimitReached = KafkaErrorCode(rawValue: 133)
    /// `GROUP_DELETION_FAILED`.
    public static let groupDeletionFailed = KafkaErrorCode(rawValue: 134)
    /// `STREAMS_TOPOLOGY_DESCRIPTION_UPDATE_FAILED`.
    public static let streamsTopologyDescriptionUpdateFailed = KafkaErrorCode(rawValue: 135)
    /// `CONTROLLER_ID_NOT_REGISTERED`.
    public static let controllerIdNotRegistered = KafkaErrorCode(rawValue: 136)
}

// MARK: - The table

extension KafkaErrorCode {
    /// One row of Kafka's error table.
    struct Entry: Sendable {
        /// The wire value.
        var code: Int16
        /// Kafka's `UPPER_SNAKE_CASE` name.
        var name: String
        /// Whether the Java exception for the code extends `RetriableException`.
        var isRetriable: Bool
        /// The Java exception's default message; empty for `NONE`.
        var message: String

        init(_ code: Int16, _ name: String, retriable: Bool, _ message: String) {
            self.code = code
            self.name = name
            self.isRetriable = retriable
            self.message = message
        }
    }

    /// Every code Kafka 4.4 defines, sorted by code (``entry(for:)`` binary-searches it).
    ///
    /// Copied from the protocol guide's error table for Kafka 4.4,
    /// https://kafka.apache.org/44/generated/protocol_errors.html (apache/kafka-site
    /// `44/generated/protocol_errors.html`), which `Errors.toHtml()` in apache/kafka
    /// `clients/src/main/java/org/apache/kafka/common/protocol/Errors.java` generates: name, code,
    /// `exception instanceof RetriableException`, and the exception's default message. To add a
    /// code, add its row here in code order and its constant above.
    static let table: [Entry] = [
        Entry(-1, "UNKNOWN_SERVER_ERROR", retriable: false,
              "The server experienced an unexpected error when processing the request."),
        Entry(0, "NONE", retriable: false,
              ""),
        Entry(1, "OFFSET_OUT_OF_RANGE", retriable: false,
              "The requested offset is not within the range of offsets maintained by the server."),
        Entry(2, "CORRUPT_MESSAGE", retriable: true,
              "This message has failed its CRC checksum, exceeds the valid size, has a null key for a compacted topic, or is otherwise corrupt."),
        Entry(3, "UNKNOWN_TOPIC_OR_PARTITION", retriable: true,
              "This server does not host this topic-partition."),
        Entry(4, "INVALID_FETCH_SIZE", retriable: false,
              "The requested fetch size is invalid."),
        Entry(5, "LEADER_NOT_AVAILABLE", retriable: true,
              "There is no leader for this topic-partition as we are in the middle of a leadership election."),
        Entry(6, "NOT_LEADER_OR_FOLLOWER", retriable: true,
              "For requests intended only for the leader, this error indicates that the broker is not the current leader. For requests intended for any replica, this error indicates that the broker is not a replica of the topic partition."),
        Entry(7, "REQUEST_TIMED_OUT", retriable: true,
              "The request timed out."),
        Entry(8, "BROKER_NOT_AVAILABLE", retriable: false,
              "The broker is not available."),
        Entry(9, "REPLICA_NOT_AVAILABLE", retriable: true,
              "The replica is not available for the requested topic-partition. Produce/Fetch requests and other requests intended only for the leader or follower return NOT_LEADER_OR_FOLLOWER if the broker is not a replica of the topic-partition."),
        Entry(10, "MESSAGE_TOO_LARGE", retriable: false,
              "The request included a message larger than the max message size the server will accept."),
        Entry(11, "STALE_CONTROLLER_EPOCH", retriable: false,
              "The controller moved to another broker."),
        Entry(12, "OFFSET_METADATA_TOO_LARGE", retriable: false,
              "The metadata field of the offset request was too large."),
        Entry(13, "NETWORK_EXCEPTION", retriable: true,
              "The server disconnected before a response was received."),
        Entry(14, "COORDINATOR_LOAD_IN_PROGRESS", retriable: true,
              "The coordinator is loading and hence can't process requests."),
        Entry(15, "COORDINATOR_NOT_AVAILABLE", retriable: true,
              "The coordinator is not available."),
        Entry(16, "NOT_COORDINATOR", retriable: true,
              "This is not the correct coordinator."),
        Entry(17, "INVALID_TOPIC_EXCEPTION", retriable: false,
              "The request attempted to perform an operation on an invalid topic."),
        Entry(18, "RECORD_LIST_TOO_LARGE", retriable: false,
              "The request included message batch larger than the configured segment size on the server."),
        Entry(19, "NOT_ENOUGH_REPLICAS", retriable: true,
              "Messages are rejected since there are fewer in-sync replicas than required."),
        Entry(20, "NOT_ENOUGH_REPLICAS_AFTER_APPEND", retriable: true,
              "Messages are written to the log, but to fewer in-sync replicas than required."),
        Entry(21, "INVALID_REQUIRED_ACKS", retriable: false,
              "Produce request specified an invalid value for required acks."),
        Entry(22, "ILLEGAL_GENERATION", retriable: false,
              "Specified group generation id is not valid."),
        Entry(23, "INCONSISTENT_GROUP_PROTOCOL", retriable: false,
              "The group member's supported protocols are incompatible with those of existing members or first group member tried to join with empty protocol type or empty protocol list."),
        Entry(24, "INVALID_GROUP_ID", retriable: false,
              "The group id is invalid."),
        Entry(25, "UNKNOWN_MEMBER_ID", retriable: false,
              "The coordinator is not aware of this member."),
        Entry(26, "INVALID_SESSION_TIMEOUT", retriable: false,
              "The session timeout is not within the range allowed by the broker (as configured by group.min.session.timeout.ms and group.max.session.timeout.ms)."),
        Entry(27, "REBALANCE_IN_PROGRESS", retriable: false,
              "The group is rebalancing, so a rejoin is needed."),
        Entry(28, "INVALID_COMMIT_OFFSET_SIZE", retriable: false,
              "The committing offset data size is not valid."),
        Entry(29, "TOPIC_AUTHORIZATION_FAILED", retriable: false,
              "Topic authorization failed."),
        Entry(30, "GROUP_AUTHORIZATION_FAILED", retriable: false,
              "Group authorization failed."),
        Entry(31, "CLUSTER_AUTHORIZATION_FAILED", retriable: false,
              "Cluster authorization failed."),
        Entry(32, "INVALID_TIMESTAMP", retriable: false,
              "The timestamp of the message is out of acceptable range."),
        Entry(33, "UNSUPPORTED_SASL_MECHANISM", retriable: false,
              "The broker does not support the requested SASL mechanism."),
        Entry(34, "ILLEGAL_SASL_STATE", retriable: false,
              "Request is not valid given the current SASL state."),
        Entry(35, "UNSUPPORTED_VERSION", retriable: false,
              "The version of API is not supported."),
        Entry(36, "TOPIC_ALREADY_EXISTS", retriable: false,
              "Topic with this name already exists."),
        Entry(37, "INVALID_PARTITIONS", retriable: false,
              "Number of partitions is below 1."),
        Entry(38, "INVALID_REPLICATION_FACTOR", retriable: false,
              "Replication factor is below 1 or larger than the number of available brokers."),
        Entry(39, "INVALID_REPLICA_ASSIGNMENT", retriable: false,
              "Replica assignment is invalid."),
        Entry(40, "INVALID_CONFIG", retriable: false,
              "Configuration is invalid."),
        Entry(41, "NOT_CONTROLLER", retriable: true,
              "This is not the correct controller for this cluster."),
        Entry(42, "INVALID_REQUEST", retriable: false,
              "This most likely occurs because of a request being malformed by the client library or the message was sent to an incompatible broker. See the broker logs for more details."),
        Entry(43, "UNSUPPORTED_FOR_MESSAGE_FORMAT", retriable: false,
              "The message format version on the broker does not support the request."),
        Entry(44, "POLICY_VIOLATION", retriable: false,
              "Request parameters do not satisfy the configured policy."),
        Entry(45, "OUT_OF_ORDER_SEQUENCE_NUMBER", retriable: false,
              "The broker received an out of order sequence number."),
        Entry(46, "DUPLICATE_SEQUENCE_NUMBER", retriable: false,
              "The broker received a duplicate sequence number."),
        Entry(47, "INVALID_PRODUCER_EPOCH", retriable: false,
              "Producer attempted to produce with an old epoch."),
        Entry(48, "INVALID_TXN_STATE", retriable: false,
              "The producer attempted a transactional operation in an invalid state."),
        Entry(49, "INVALID_PRODUCER_ID_MAPPING", retriable: false,
              "The producer attempted to use a producer id which is not currently assigned to its transactional id."),
        Entry(50, "INVALID_TRANSACTION_TIMEOUT", retriable: false,
              "The transaction timeout is larger than the maximum value allowed by the broker (as configured by transaction.max.timeout.ms)."),
        Entry(51, "CONCURRENT_TRANSACTIONS", retriable: true,
              "The producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing."),
        Entry(52, "TRANSACTION_COORDINATOR_FENCED", retriable: false,
              "Indicates that the transaction coordinator sending a WriteTxnMarker is no longer the current coordinator for a given producer."),
        Entry(53, "TRANSACTIONAL_ID_AUTHORIZATION_FAILED", retriable: false,
              "Transactional Id authorization failed."),
        Entry(54, "SECURITY_DISABLED", retriable: false,
              "Security features are disabled."),
        Entry(55, "OPERATION_NOT_ATTEMPTED", retriable: false,
              "The broker did not attempt to execute this operation. This may happen for batched RPCs where some operations in the batch failed, causing the broker to respond without trying the rest."),
        Entry(56, "KAFKA_STORAGE_ERROR", retriable: true,
              "Disk error when trying to access log file on the disk."),
        Entry(57, "LOG_DIR_NOT_FOUND", retriable: false,
              "The user-specified log directory is not found in the broker config."),
        Entry(58, "SASL_AUTHENTICATION_FAILED", retriable: false,
              "SASL Authentication failed."),
        Entry(59, "UNKNOWN_PRODUCER_ID", retriable: false,
              "This exception is raised by the broker if it could not locate the producer metadata associated with the producerId in question. This could happen if, for instance, the producer's records were deleted because their retention time had elapsed. Once the last records of the producerId are removed, the producer's metadata is removed from the broker, and future appends by the producer will return this exception."),
        Entry(60, "REASSIGNMENT_IN_PROGRESS", retriable: false,
              "A partition reassignment is in progress."),
        Entry(61, "DELEGATION_TOKEN_AUTH_DISABLED", retriable: false,
              "Delegation Token feature is not enabled."),
        Entry(62, "DELEGATION_TOKEN_NOT_FOUND", retriable: false,
              "Delegation Token is not found on server."),
        Entry(63, "DELEGATION_TOKEN_OWNER_MISMATCH", retriable: false,
              "Specified Principal is not valid Owner/Renewer."),
        Entry(64, "DELEGATION_TOKEN_REQUEST_NOT_ALLOWED", retriable: false,
              "Delegation Token requests are not allowed on PLAINTEXT/1-way SSL channels and on delegation token authenticated channels."),
        Entry(65, "DELEGATION_TOKEN_AUTHORIZATION_FAILED", retriable: false,
              "Delegation Token authorization failed."),
        Entry(66, "DELEGATION_TOKEN_EXPIRED", retriable: false,
              "Delegation Token is expired."),
        Entry(67, "INVALID_PRINCIPAL_TYPE", retriable: false,
              "Supplied principalType is not supported."),
        Entry(68, "NON_EMPTY_GROUP", retriable: false,
              "The group is not empty."),
        Entry(69, "GROUP_ID_NOT_FOUND", retriable: false,
              "The group id does not exist."),
        Entry(70, "FETCH_SESSION_ID_NOT_FOUND", retriable: true,
              "The fetch session ID was not found."),
        Entry(71, "INVALID_FETCH_SESSION_EPOCH", retriable: true,
              "The fetch session epoch is invalid."),
        Entry(72, "LISTENER_NOT_FOUND", retriable: true,
              "There is no listener on the leader broker that matches the listener on which metadata request was processed."),
        Entry(73, "TOPIC_DELETION_DISABLED", retriable: false,
              "Topic deletion is disabled."),
        Entry(74, "FENCED_LEADER_EPOCH", retriable: true,
              "The leader epoch in the request is older than the epoch on the broker."),
        Entry(75, "UNKNOWN_LEADER_EPOCH", retriable: true,
              "The leader epoch in the request is newer than the epoch on the broker."),
        Entry(76, "UNSUPPORTED_COMPRESSION_TYPE", retriable: false,
              "The requesting client does not support the compression type of given partition."),
        Entry(77, "STALE_BROKER_EPOCH", retriable: false,
              "Broker epoch has changed."),
        Entry(78, "OFFSET_NOT_AVAILABLE", retriable: true,
              "The leader high watermark has not caught up from a recent leader election so the offsets cannot be guaranteed to be monotonically increasing."),
        Entry(79, "MEMBER_ID_REQUIRED", retriable: false,
              "The group member needs to have a valid member id before actually entering a consumer group."),
        Entry(80, "PREFERRED_LEADER_NOT_AVAILABLE", retriable: true,
              "The preferred leader was not available."),
        Entry(81, "GROUP_MAX_SIZE_REACHED", retriable: false,
              "The group has reached its maximum size."),
        Entry(82, "FENCED_INSTANCE_ID", retriable: false,
              "The broker rejected this static consumer since another consumer with the same group.instance.id has registered with a different member.id."),
        Entry(83, "ELIGIBLE_LEADERS_NOT_AVAILABLE", retriable: true,
              "Eligible topic partition leaders are not available."),
        Entry(84, "ELECTION_NOT_NEEDED", retriable: true,
              "Leader election not needed for topic partition."),
        Entry(85, "NO_REASSIGNMENT_IN_PROGRESS", retriable: false,
              "No partition reassignment is in progress."),
        Entry(86, "GROUP_SUBSCRIBED_TO_TOPIC", retriable: false,
              "Deleting offsets of a topic is forbidden while the consumer group is actively subscribed to it."),
        Entry(87, "INVALID_RECORD", retriable: false,
              "This record has failed the validation on broker and hence will be rejected."),
        Entry(88, "UNSTABLE_OFFSET_COMMIT", retriable: true,
              "There are unstable offsets that need to be cleared."),
        Entry(89, "THROTTLING_QUOTA_EXCEEDED", retriable: true,
              "The throttling quota has been exceeded."),
        Entry(90, "PRODUCER_FENCED", retriable: false,
              "There is a newer producer with the same transactionalId which fences the current one."),
        Entry(91, "RESOURCE_NOT_FOUND", retriable: false,
              "A request illegally referred to a resource that does not exist."),
        Entry(92, "DUPLICATE_RESOURCE", retriable: false,
              "A request illegally referred to the same resource twice."),
        Entry(93, "UNACCEPTABLE_CREDENTIAL", retriable: false,
              "Requested credential would not meet criteria for acceptability."),
        Entry(94, "INCONSISTENT_VOTER_SET", retriable: false,
              "Indicates that the either the sender or recipient of a voter-only request is not one of the expected voters."),
        Entry(95, "INVALID_UPDATE_VERSION", retriable: false,
              "The given update version was invalid."),
        Entry(96, "FEATURE_UPDATE_FAILED", retriable: false,
              "Unable to update finalized features due to an unexpected server error."),
        Entry(97, "PRINCIPAL_DESERIALIZATION_FAILURE", retriable: false,
              "Request principal deserialization failed during forwarding. This indicates an internal error on the broker cluster security setup."),
        Entry(98, "SNAPSHOT_NOT_FOUND", retriable: false,
              "Requested snapshot was not found."),
        Entry(99, "POSITION_OUT_OF_RANGE", retriable: false,
              "Requested position is not greater than or equal to zero, and less than the size of the snapshot."),
        Entry(100, "UNKNOWN_TOPIC_ID", retriable: true,
              "This server does not host this topic ID."),
        Entry(101, "DUPLICATE_BROKER_REGISTRATION", retriable: false,
              "This broker ID is already in use."),
        Entry(102, "BROKER_ID_NOT_REGISTERED", retriable: false,
              "The given broker ID was not registered."),
        Entry(103, "INCONSISTENT_TOPIC_ID", retriable: true,
              "The log's topic ID did not match the topic ID in the request."),
        Entry(104, "INCONSISTENT_CLUSTER_ID", retriable: false,
              "The clusterId in the request does not match that found on the server."),
        Entry(105, "TRANSACTIONAL_ID_NOT_FOUND", retriable: false,
              "The transactionalId could not be found."),
        Entry(106, "FETCH_SESSION_TOPIC_ID_ERROR", retriable: true,
              "The fetch session encountered inconsistent topic ID usage."),
        Entry(107, "INELIGIBLE_REPLICA", retriable: false,
              "The new ISR contains at least one ineligible replica."),
        Entry(108, "NEW_LEADER_ELECTED", retriable: false,
              "The AlterPartition request successfully updated the partition state but the leader has changed."),
        Entry(109, "OFFSET_MOVED_TO_TIERED_STORAGE", retriable: false,
              "The requested offset is moved to tiered storage."),
        Entry(110, "FENCED_MEMBER_EPOCH", retriable: false,
              "The member epoch is fenced by the group coordinator. The member must abandon all its partitions and rejoin."),
        Entry(111, "UNRELEASED_INSTANCE_ID", retriable: false,
              "The instance ID is still used by another member in the consumer group. That member must leave first."),
        Entry(112, "UNSUPPORTED_ASSIGNOR", retriable: false,
              "The assignor or its version range is not supported by the consumer group."),
        Entry(113, "STALE_MEMBER_EPOCH", retriable: false,
              "The member epoch is stale. The member must retry after receiving its updated member epoch via the ConsumerGroupHeartbeat API."),
        Entry(114, "MISMATCHED_ENDPOINT_TYPE", retriable: false,
              "The request was sent to an endpoint of the wrong type."),
        Entry(115, "UNSUPPORTED_ENDPOINT_TYPE", retriable: false,
              "This endpoint type is not supported yet."),
        Entry(116, "UNKNOWN_CONTROLLER_ID", retriable: false,
              "This controller ID is not known."),
        Entry(117, "UNKNOWN_SUBSCRIPTION_ID", retriable: false,
              "Client sent a push telemetry request with an invalid or outdated subscription ID."),
        Entry(118, "TELEMETRY_TOO_LARGE", retriable: false,
              "Client sent a push telemetry request larger than the maximum size the broker will accept."),
        Entry(119, "INVALID_REGISTRATION", retriable: false,
              "The controller has considered the broker registration to be invalid."),
        Entry(120, "TRANSACTION_ABORTABLE", retriable: false,
              "The server encountered an error with the transaction. The client can abort the transaction to continue using this transactional ID."),
        Entry(121, "INVALID_RECORD_STATE", retriable: false,
              "The record state is invalid. The acknowledgement of delivery could not be completed."),
        Entry(122, "SHARE_SESSION_NOT_FOUND", retriable: true,
              "The share session was not found."),
        Entry(123, "INVALID_SHARE_SESSION_EPOCH", retriable: true,
              "The share session epoch is invalid."),
        Entry(124, "FENCED_STATE_EPOCH", retriable: false,
              "The coordinator rejected the request because the state epoch did not match."),
        Entry(125, "INVALID_VOTER_KEY", retriable: false,
              "The voter key doesn't match the receiving replica's key."),
        Entry(126, "DUPLICATE_VOTER", retriable: false,
              "The voter is already part of the set of voters."),
        Entry(127, "VOTER_NOT_FOUND", retriable: false,
              "The voter is not part of the set of voters."),
        Entry(128, "INVALID_REGULAR_EXPRESSION", retriable: false,
              "The regular expression is not valid."),
        Entry(129, "REBOOTSTRAP_REQUIRED", retriable: false,
              "Client metadata is stale. The client should rebootstrap to obtain new metadata."),
        Entry(130, "STREAMS_INVALID_TOPOLOGY", retriable: false,
              "The supplied topology is invalid."),
        Entry(131, "STREAMS_INVALID_TOPOLOGY_EPOCH", retriable: false,
              "The supplied topology epoch is invalid."),
        Entry(132, "STREAMS_TOPOLOGY_FENCED", retriable: false,
              "The supplied topology epoch is outdated."),
        Entry(133, "SHARE_SESSION_LIMIT_REACHED", retriable: true,
              "The limit of share sessions has been reached."),
        Entry(134, "GROUP_DELETION_FAILED", retriable: false,
              "DeleteGroups could not complete; see the error message on the per-group result for details."),
        Entry(135, "STREAMS_TOPOLOGY_DESCRIPTION_UPDATE_FAILED", retriable: false,
              "The broker could not process the topology description update; see the error message for details."),
        Entry(136, "CONTROLLER_ID_NOT_REGISTERED", retriable: false,
              "The given controller ID was not registered."),
    ]

    /// The row for `code`, or `nil` if Kafka 4.4 does not define it.
    static func entry(for code: Int16) -> Entry? {
        var low = table.startIndex
        var high = table.endIndex
        while low < high {
            let middle = low + (high - low) / 2
            if table[middle].code < code {
                low = middle + 1
            } else {
                high = middle
            }
        }
        guard low < table.endIndex, table[low].code == code else { return nil }
        return table[low]
    }
}
