import Testing

@testable import KafkaProtocol

/// Checks `KafkaErrorCode`'s table against itself and against the protocol guide's error table
/// for Kafka 4.4 (https://kafka.apache.org/44/generated/protocol_errors.html).
@Suite("KafkaErrorCode")
struct KafkaErrorCodeTests {
    /// One row of the protocol guide, written out independently of the table.
    struct Expected: Sendable, CustomTestStringConvertible {
        var code: Int16
        var name: String
        var isRetriable: Bool
        var testDescription: String { "\(code) \(name)" }
    }

    @Test("Codes are strictly increasing, so unique and binary-searchable")
    func codesAreSortedAndUnique() {
        let codes = KafkaErrorCode.table.map(\.code)
        for (earlier, later) in zip(codes, codes.dropFirst()) {
            #expect(earlier < later, "\(earlier) is not before \(later)")
        }
    }

    @Test("Names are unique and UPPER_SNAKE_CASE")
    func namesAreUnique() {
        let names = KafkaErrorCode.table.map(\.name)
        #expect(Set(names).count == names.count)
        for name in names {
            #expect(name.allSatisfy { $0.isUppercase || $0.isNumber || $0 == "_" }, "\(name)")
            #expect(!name.hasPrefix("UNKNOWN_CODE_"), "\(name) would look like an unknown code")
        }
    }

    @Test("The table holds Kafka 4.4's codes: -1 and 0 through 136")
    func coversKafka44() {
        let codes = KafkaErrorCode.table.map(\.code)
        #expect(codes == [-1] + Array(0...136))
        #expect(KafkaErrorCode.table.count == 138)
    }

    @Test("Only NONE has no message")
    func messages() {
        for entry in KafkaErrorCode.table {
            #expect(entry.message.isEmpty == (entry.code == 0), "\(entry.name)")
        }
    }

    @Test(
        "Spot checks against the protocol guide",
        arguments: [
            Expected(code: -1, name: "UNKNOWN_SERVER_ERROR", isRetriable: false),
            Expected(code: 0, name: "NONE", isRetriable: false),
            Expected(code: 2, name: "CORRUPT_MESSAGE", isRetriable: true),
            Expected(code: 3, name: "UNKNOWN_TOPIC_OR_PARTITION", isRetriable: true),
            Expected(code: 6, name: "NOT_LEADER_OR_FOLLOWER", isRetriable: true),
            Expected(code: 25, name: "UNKNOWN_MEMBER_ID", isRetriable: false),
            Expected(code: 27, name: "REBALANCE_IN_PROGRESS", isRetriable: false),
            Expected(code: 35, name: "UNSUPPORTED_VERSION", isRetriable: false),
            Expected(code: 36, name: "TOPIC_ALREADY_EXISTS", isRetriable: false),
            Expected(code: 45, name: "OUT_OF_ORDER_SEQUENCE_NUMBER", isRetriable: false),
            Expected(code: 46, name: "DUPLICATE_SEQUENCE_NUMBER", isRetriable: false),
            Expected(code: 51, name: "CONCURRENT_TRANSACTIONS", isRetriable: true),
            Expected(code: 58, name: "SASL_AUTHENTICATION_FAILED", isRetriable: false),
            Expected(code: 79, name: "MEMBER_ID_REQUIRED", isRetriable: false),
            Expected(code: 90, name: "PRODUCER_FENCED", isRetriable: false),
            Expected(code: 133, name: "SHARE_SESSION_LIMIT_REACHED", isRetriable: true),
            Expected(code: 136, name: "CONTROLLER_ID_NOT_REGISTERED", isRetriable: false),
        ])
    func spotCheck(_ expected: Expected) {
        let code = KafkaErrorCode(rawValue: expected.code)
        #expect(code.isKnown)
        #expect(code.name == expected.name)
        #expect(code.isRetriable == expected.isRetriable)
        #expect(code.description == "\(expected.name) (\(expected.code))")
    }

    @Test("Messages are Kafka's default texts")
    func messageText() {
        #expect(KafkaErrorCode.unsupportedVersion.message == "The version of API is not supported.")
        #expect(KafkaErrorCode.topicAlreadyExists.message == "Topic with this name already exists.")
        #expect(KafkaErrorCode.none.message == "")
    }

    @Test("Every constant names the row with its code")
    func constantsMatchTable() {
        let constants: [(KafkaErrorCode, String)] = [
        (.unknownServerError, "UNKNOWN_SERVER_ERROR"),
        (.none, "NONE"),
        (.offsetOutOfRange, "OFFSET_OUT_OF_RANGE"),
        (.corruptMessage, "CORRUPT_MESSAGE"),
        (.unknownTopicOrPartition, "UNKNOWN_TOPIC_OR_PARTITION"),
        (.invalidFetchSize, "INVALID_FETCH_SIZE"),
        (.leaderNotAvailable, "LEADER_NOT_AVAILABLE"),
        (.notLeaderOrFollower, "NOT_LEADER_OR_FOLLOWER"),
        (.requestTimedOut, "REQUEST_TIMED_OUT"),
        (.brokerNotAvailable, "BROKER_NOT_AVAILABLE"),
        (.replicaNotAvailable, "REPLICA_NOT_AVAILABLE"),
        (.messageTooLarge, "MESSAGE_TOO_LARGE"),
        (.staleControllerEpoch, "STALE_CONTROLLER_EPOCH"),
        (.offsetMetadataTooLarge, "OFFSET_METADATA_TOO_LARGE"),
        (.networkException, "NETWORK_EXCEPTION"),
        (.coordinatorLoadInProgress, "COORDINATOR_LOAD_IN_PROGRESS"),
        (.coordinatorNotAvailable, "COORDINATOR_NOT_AVAILABLE"),
        (.notCoordinator, "NOT_COORDINATOR"),
        (.invalidTopicException, "INVALID_TOPIC_EXCEPTION"),
        (.recordListTooLarge, "RECORD_LIST_TOO_LARGE"),
        (.notEnoughReplicas, "NOT_ENOUGH_REPLICAS"),
        (.notEnoughReplicasAfterAppend, "NOT_ENOUGH_REPLICAS_AFTER_APPEND"),
        (.invalidRequiredAcks, "INVALID_REQUIRED_ACKS"),
        (.illegalGeneration, "ILLEGAL_GENERATION"),
        (.inconsistentGroupProtocol, "INCONSISTENT_GROUP_PROTOCOL"),
        (.invalidGroupId, "INVALID_GROUP_ID"),
        (.unknownMemberId, "UNKNOWN_MEMBER_ID"),
        (.invalidSessionTimeout, "INVALID_SESSION_TIMEOUT"),
        (.rebalanceInProgress, "REBALANCE_IN_PROGRESS"),
        (.invalidCommitOffsetSize, "INVALID_COMMIT_OFFSET_SIZE"),
        (.topicAuthorizationFailed, "TOPIC_AUTHORIZATION_FAILED"),
        (.groupAuthorizationFailed, "GROUP_AUTHORIZATION_FAILED"),
        (.clusterAuthorizationFailed, "CLUSTER_AUTHORIZATION_FAILED"),
        (.invalidTimestamp, "INVALID_TIMESTAMP"),
        (.unsupportedSaslMechanism, "UNSUPPORTED_SASL_MECHANISM"),
        (.illegalSaslState, "ILLEGAL_SASL_STATE"),
        (.unsupportedVersion, "UNSUPPORTED_VERSION"),
        (.topicAlreadyExists, "TOPIC_ALREADY_EXISTS"),
        (.invalidPartitions, "INVALID_PARTITIONS"),
        (.invalidReplicationFactor, "INVALID_REPLICATION_FACTOR"),
        (.invalidReplicaAssignment, "INVALID_REPLICA_ASSIGNMENT"),
        (.invalidConfig, "INVALID_CONFIG"),
        (.notController, "NOT_CONTROLLER"),
        (.invalidRequest, "INVALID_REQUEST"),
        (.unsupportedForMessageFormat, "UNSUPPORTED_FOR_MESSAGE_FORMAT"),
        (.policyViolation, "POLICY_VIOLATION"),
        (.outOfOrderSequenceNumber, "OUT_OF_ORDER_SEQUENCE_NUMBER"),
        (.duplicateSequenceNumber, "DUPLICATE_SEQUENCE_NUMBER"),
        (.invalidProducerEpoch, "INVALID_PRODUCER_EPOCH"),
        (.invalidTxnState, "INVALID_TXN_STATE"),
        (.invalidProducerIdMapping, "INVALID_PRODUCER_ID_MAPPING"),
        (.invalidTransactionTimeout, "INVALID_TRANSACTION_TIMEOUT"),
        (.concurrentTransactions, "CONCURRENT_TRANSACTIONS"),
        (.transactionCoordinatorFenced, "TRANSACTION_COORDINATOR_FENCED"),
        (.transactionalIdAuthorizationFailed, "TRANSACTIONAL_ID_AUTHORIZATION_FAILED"),
        (.securityDisabled, "SECURITY_DISABLED"),
        (.operationNotAttempted, "OPERATION_NOT_ATTEMPTED"),
        (.kafkaStorageError, "KAFKA_STORAGE_ERROR"),
        (.logDirNotFound, "LOG_DIR_NOT_FOUND"),
        (.saslAuthenticationFailed, "SASL_AUTHENTICATION_FAILED"),
        (.unknownProducerId, "UNKNOWN_PRODUCER_ID"),
        (.reassignmentInProgress, "REASSIGNMENT_IN_PROGRESS"),
        (.delegationTokenAuthDisabled, "DELEGATION_TOKEN_AUTH_DISABLED"),
        (.delegationTokenNotFound, "DELEGATION_TOKEN_NOT_FOUND"),
        (.delegationTokenOwnerMismatch, "DELEGATION_TOKEN_OWNER_MISMATCH"),
        (.delegationTokenRequestNotAllowed, "DELEGATION_TOKEN_REQUEST_NOT_ALLOWED"),
        (.delegationTokenAuthorizationFailed, "DELEGATION_TOKEN_AUTHORIZATION_FAILED"),
        (.delegationTokenExpired, "DELEGATION_TOKEN_EXPIRED"),
        (.invalidPrincipalType, "INVALID_PRINCIPAL_TYPE"),
        (.nonEmptyGroup, "NON_EMPTY_GROUP"),
        (.groupIdNotFound, "GROUP_ID_NOT_FOUND"),
        (.fetchSessionIdNotFound, "FETCH_SESSION_ID_NOT_FOUND"),
        (.invalidFetchSessionEpoch, "INVALID_FETCH_SESSION_EPOCH"),
        (.listenerNotFound, "LISTENER_NOT_FOUND"),
        (.topicDeletionDisabled, "TOPIC_DELETION_DISABLED"),
        (.fencedLeaderEpoch, "FENCED_LEADER_EPOCH"),
        (.unknownLeaderEpoch, "UNKNOWN_LEADER_EPOCH"),
        (.unsupportedCompressionType, "UNSUPPORTED_COMPRESSION_TYPE"),
        (.staleBrokerEpoch, "STALE_BROKER_EPOCH"),
        (.offsetNotAvailable, "OFFSET_NOT_AVAILABLE"),
        (.memberIdRequired, "MEMBER_ID_REQUIRED"),
        (.preferredLeaderNotAvailable, "PREFERRED_LEADER_NOT_AVAILABLE"),
        (.groupMaxSizeReached, "GROUP_MAX_SIZE_REACHED"),
        (.fencedInstanceId, "FENCED_INSTANCE_ID"),
        (.eligibleLeadersNotAvailable, "ELIGIBLE_LEADERS_NOT_AVAILABLE"),
        (.electionNotNeeded, "ELECTION_NOT_NEEDED"),
        (.noReassignmentInProgress, "NO_REASSIGNMENT_IN_PROGRESS"),
        (.groupSubscribedToTopic, "GROUP_SUBSCRIBED_TO_TOPIC"),
        (.invalidRecord, "INVALID_RECORD"),
        (.unstableOffsetCommit, "UNSTABLE_OFFSET_COMMIT"),
        (.throttlingQuotaExceeded, "THROTTLING_QUOTA_EXCEEDED"),
        (.producerFenced, "PRODUCER_FENCED"),
        (.resourceNotFound, "RESOURCE_NOT_FOUND"),
        (.duplicateResource, "DUPLICATE_RESOURCE"),
        (.unacceptableCredential, "UNACCEPTABLE_CREDENTIAL"),
        (.inconsistentVoterSet, "INCONSISTENT_VOTER_SET"),
        (.invalidUpdateVersion, "INVALID_UPDATE_VERSION"),
        (.featureUpdateFailed, "FEATURE_UPDATE_FAILED"),
        (.principalDeserializationFailure, "PRINCIPAL_DESERIALIZATION_FAILURE"),
        (.snapshotNotFound, "SNAPSHOT_NOT_FOUND"),
        (.positionOutOfRange, "POSITION_OUT_OF_RANGE"),
        (.unknownTopicId, "UNKNOWN_TOPIC_ID"),
        (.duplicateBrokerRegistration, "DUPLICATE_BROKER_REGISTRATION"),
        (.brokerIdNotRegistered, "BROKER_ID_NOT_REGISTERED"),
        (.inconsistentTopicId, "INCONSISTENT_TOPIC_ID"),
        (.inconsistentClusterId, "INCONSISTENT_CLUSTER_ID"),
        (.transactionalIdNotFound, "TRANSACTIONAL_ID_NOT_FOUND"),
        (.fetchSessionTopicIdError, "FETCH_SESSION_TOPIC_ID_ERROR"),
        (.ineligibleReplica, "INELIGIBLE_REPLICA"),
        (.newLeaderElected, "NEW_LEADER_ELECTED"),
        (.offsetMovedToTieredStorage, "OFFSET_MOVED_TO_TIERED_STORAGE"),
        (.fencedMemberEpoch, "FENCED_MEMBER_EPOCH"),
        (.unreleasedInstanceId, "UNRELEASED_INSTANCE_ID"),
        (.unsupportedAssignor, "UNSUPPORTED_ASSIGNOR"),
        (.staleMemberEpoch, "STALE_MEMBER_EPOCH"),
        (.mismatchedEndpointType, "MISMATCHED_ENDPOINT_TYPE"),
        (.unsupportedEndpointType, "UNSUPPORTED_ENDPOINT_TYPE"),
        (.unknownControllerId, "UNKNOWN_CONTROLLER_ID"),
        (.unknownSubscriptionId, "UNKNOWN_SUBSCRIPTION_ID"),
        (.telemetryTooLarge, "TELEMETRY_TOO_LARGE"),
        (.invalidRegistration, "INVALID_REGISTRATION"),
        (.transactionAbortable, "TRANSACTION_ABORTABLE"),
        (.invalidRecordState, "INVALID_RECORD_STATE"),
        (.shareSessionNotFound, "SHARE_SESSION_NOT_FOUND"),
        (.invalidShareSessionEpoch, "INVALID_SHARE_SESSION_EPOCH"),
        (.fencedStateEpoch, "FENCED_STATE_EPOCH"),
        (.invalidVoterKey, "INVALID_VOTER_KEY"),
        (.duplicateVoter, "DUPLICATE_VOTER"),
        (.voterNotFound, "VOTER_NOT_FOUND"),
        (.invalidRegularExpression, "INVALID_REGULAR_EXPRESSION"),
        (.rebootstrapRequired, "REBOOTSTRAP_REQUIRED"),
        (.streamsInvalidTopology, "STREAMS_INVALID_TOPOLOGY"),
        (.streamsInvalidTopologyEpoch, "STREAMS_INVALID_TOPOLOGY_EPOCH"),
        (.streamsTopologyFenced, "STREAMS_TOPOLOGY_FENCED"),
        (.shareSessionLimitReached, "SHARE_SESSION_LIMIT_REACHED"),
        (.groupDeletionFailed, "GROUP_DELETION_FAILED"),
        (.streamsTopologyDescriptionUpdateFailed, "STREAMS_TOPOLOGY_DESCRIPTION_UPDATE_FAILED"),
        (.controllerIdNotRegistered, "CONTROLLER_ID_NOT_REGISTERED"),
        ]
        for (code, name) in constants {
            #expect(code.name == name, "\(code.rawValue)")
        }
        #expect(Set(constants.map(\.0.rawValue)) == Set(KafkaErrorCode.table.map(\.code)))
        #expect(constants.count == KafkaErrorCode.table.count)
    }

    @Test("NONE is not an error; every other code is")
    func isError() {
        #expect(!KafkaErrorCode.none.isError)
        #expect(KafkaErrorCode(rawValue: 0) == KafkaErrorCode.none)
        for entry in KafkaErrorCode.table where entry.code != 0 {
            #expect(KafkaErrorCode(rawValue: entry.code).isError, "\(entry.name)")
        }
    }

    @Test(
        "An unknown code is kept, named UNKNOWN_CODE_<n>, and not retriable",
        arguments: [Int16(9999), -2, 137, .max, .min])
    func unknownCode(_ raw: Int16) {
        let code = KafkaErrorCode(rawValue: raw)
        #expect(code.rawValue == raw)
        #expect(KafkaErrorCode(rawValue: code.rawValue) == code)
        #expect(!code.isKnown)
        #expect(code.isError)
        #expect(!code.isRetriable)
        #expect(code.name == "UNKNOWN_CODE_\(raw)")
        #expect(code.description == "UNKNOWN_CODE_\(raw) (\(raw))")
        #expect(code.message.contains("\(raw)"))
    }
}
