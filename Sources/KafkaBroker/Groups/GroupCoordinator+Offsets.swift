public import KafkaProtocol
import Logging
import NIOPosix

extension GroupCoordinator {
    // MARK: - OffsetCommit

    /// Handles OffsetCommit (versions 0-9) and returns once the accepted offsets are fsync'd.
    ///
    /// A member of the group commits with its generation and member id; a standalone consumer
    /// (no group membership) commits with generation -1 (v0 always), which Kafka accepts only
    /// while the group has no members.
    ///
    /// - Returns: One error per partition: `NONE`; for the whole request `INVALID_GROUP_ID`,
    ///   `UNKNOWN_MEMBER_ID`, `ILLEGAL_GENERATION`, `REBALANCE_IN_PROGRESS` (the group awaits
    ///   the leader's assignment), `FENCED_INSTANCE_ID`, `COORDINATOR_NOT_AVAILABLE` (shutdown or
    ///   the offsets log failed); per partition `OFFSET_METADATA_TOO_LARGE` or
    ///   `UNKNOWN_TOPIC_OR_PARTITION`.
    public func commitOffsets(_ request: OffsetCommitRequest, version: Int16) async -> OffsetCommitResponse {
        let now = clock.monotonicMilliseconds()
        let generationId = version >= 1 ? request.generationIdOrMemberEpoch : -1
        let memberId = version >= 1 ? request.memberId : ""
        let instanceId = version >= 7 ? request.groupInstanceId : nil

        var groupError = KafkaErrorCode.none
        if isShutDown {
            groupError = .coordinatorNotAvailable
        } else if !Self.isValidGroupId(request.groupId) {
            groupError = .invalidGroupId
        } else if groups[request.groupId] != nil {
            groupError = groups[request.groupId]!.validateOffsetCommit(
                memberId: memberId, generationId: generationId, instanceId: instanceId, now: now)
        } else if generationId >= 0 {
            // Kafka: a generation-aware commit for a group it has no membership for.
            groupError = .illegalGeneration
        }

        let timestamp = clock.unixMilliseconds()
        var errors: [[KafkaErrorCode]] = []
        var records: [OffsetStoreRecord] = []
        var recordPositions: [(topic: Int, partition: Int)] = []
        for (topicIndex, topic) in request.topics.enumerated() {
            var topicErrors: [KafkaErrorCode] = []
            for (partitionIndex, partition) in topic.partitions.enumerated() {
                if groupError.isError {
                    topicErrors.append(groupError)
                } else if (partition.committedMetadata?.utf8.count ?? 0) > configuration.maxOffsetMetadataBytes {
                    topicErrors.append(.offsetMetadataTooLarge)
                } else if topic.name.isEmpty || topic.name.utf8.count > Int(UInt16.max) || partition.partitionIndex < 0
                    || !partitionExists(topic.name, partition.partitionIndex)
                {
                    topicErrors.append(.unknownTopicOrPartition)
                } else {
                    topicErrors.append(.none)
                    let commitTimestamp = version == 1 && partition.commitTimestamp >= 0 ? partition.commitTimestamp : timestamp
                    records.append(OffsetStoreRecord(
                        group: request.groupId, topic: topic.name, partition: partition.partitionIndex,
                        committed: CommittedOffset(
                            offset: partition.committedOffset,
                            leaderEpoch: version >= 6 ? partition.committedLeaderEpoch : -1,
                            metadata: partition.committedMetadata,
                            commitTimestampMs: commitTimestamp)))
                    recordPositions.append((topicIndex, partitionIndex))
                }
            }
            errors.append(topicErrors)
        }

        if !records.isEmpty {
            if let error = await persist(records) {
                logger.error(
                    "could not store committed offsets",
                    metadata: ["group": "\(request.groupId)", "error": "\(error)"])
                for position in recordPositions {
                    errors[position.topic][position.partition] = .coordinatorNotAvailable
                }
            }
        }

        return OffsetCommitResponse(topics: zip(request.topics, errors).map { topic, topicErrors in
            OffsetCommitResponse.OffsetCommitResponseTopic(
                name: topic.name,
                partitions: zip(topic.partitions, topicErrors).map { partition, error in
                    OffsetCommitResponse.OffsetCommitResponsePartition(
                        partitionIndex: partition.partitionIndex, errorCode: error.rawValue)
                })
        })
    }

    // MARK: - Group commit

    /// Appends `records` to the offsets log and fsyncs, off the cooperative pool. Commits that
    /// arrive while an fsync runs wait and are written together by the next one, led by the
    /// first of them; each leader writes once and returns, so nobody starves.
    ///
    /// - Returns: The store's error, shared by every commit of the failed batch.
    func persist(_ records: [OffsetStoreRecord]) async -> (any Error)? {
        var batch = records
        var followers: [CheckedContinuation<CommitTurn, Never>] = []
        if isPersistingOffsets {
            let turn = await withCheckedContinuation { continuation in
                commitQueue.append(QueuedCommit(records: records, continuation: continuation))
            }
            switch turn {
            case .done(let error):
                return error
            case .lead(let queuedRecords, let queuedFollowers):
                batch = queuedRecords
                followers = queuedFollowers
            }
        } else {
            isPersistingOffsets = true
        }
        if let hook = beforeOffsetAppend { await hook() }
        let store = offsetStore
        let toWrite = batch
        var failure: (any Error)?
        do {
            try await NIOThreadPool.singleton.runIfActive { try store.append(toWrite) }
        } catch {
            failure = error
        }
        offsetLogAppends += 1
        for follower in followers { follower.resume(returning: .done(failure)) }
        if commitQueue.isEmpty {
            isPersistingOffsets = false
        } else {
            let queued = commitQueue
            commitQueue = []
            queued[0].continuation.resume(returning: .lead(
                records: queued.flatMap(\.records), followers: queued.dropFirst().map(\.continuation)))
        }
        return failure
    }

    // MARK: - OffsetFetch

    /// Handles OffsetFetch (versions 0-9): v0-7 for one group (v2+: `topics` null means every
    /// committed partition), v8+ for several groups at once.
    ///
    /// A partition without a committed offset gets offset -1, leader epoch -1, metadata "" and
    /// `NONE`, as Kafka answers. An empty group id gets `INVALID_GROUP_ID` (v2+ at the top level,
    /// v0-1 on every partition).
    public func fetchOffsets(_ request: OffsetFetchRequest, version: Int16) -> OffsetFetchResponse {
        if version >= 8 {
            return OffsetFetchResponse(groups: request.groups.map { group in
                let (error, topics) = fetch(
                    groupId: group.groupId,
                    requested: group.topics.map { $0.map { ($0.name, $0.partitionIndexes) } })
                return OffsetFetchResponse.OffsetFetchResponseGroup(
                    groupId: group.groupId,
                    topics: topics.map { topic in
                        OffsetFetchResponse.OffsetFetchResponseTopics(
                            name: topic.name,
                            partitions: topic.partitions.map { partition in
                                OffsetFetchResponse.OffsetFetchResponsePartitions(
                                    partitionIndex: partition.index,
                                    committedOffset: partition.committed?.offset ?? -1,
                                    committedLeaderEpoch: partition.committed?.leaderEpoch ?? -1,
                                    metadata: partition.committed.map { $0.metadata } ?? "",
                                    errorCode: partition.error.rawValue)
                            })
                    },
                    errorCode: error.rawValue)
            })
        }
        let requested = version >= 2 ? request.topics.map { $0.map { ($0.name, $0.partitionIndexes) } }
            : (request.topics ?? []).map { ($0.name, $0.partitionIndexes) }
        let (error, topics) = fetch(groupId: request.groupId, requested: requested)
        let partitionError: KafkaErrorCode = version < 2 ? error : .none
        return OffsetFetchResponse(
            topics: topics.map { topic in
                OffsetFetchResponse.OffsetFetchResponseTopic(
                    name: topic.name,
                    partitions: topic.partitions.map { partition in
                        OffsetFetchResponse.OffsetFetchResponsePartition(
                            partitionIndex: partition.index,
                            committedOffset: partition.committed?.offset ?? -1,
                            committedLeaderEpoch: version >= 5 ? partition.committed?.leaderEpoch ?? -1 : -1,
                            metadata: partition.committed.map { $0.metadata } ?? "",
                            errorCode: (partitionError.isError ? partitionError : partition.error).rawValue)
                    })
            },
            errorCode: version >= 2 ? error.rawValue : 0)
    }

    private struct FetchedTopic {
        var name: String
        var partitions: [(index: Int32, committed: CommittedOffset?, error: KafkaErrorCode)]
    }

    /// Looks up `requested` (topic → partitions; `nil` for everything committed) for one group.
    private func fetch(groupId: String, requested: [(String, [Int32])]?) -> (KafkaErrorCode, [FetchedTopic]) {
        if isShutDown { return (.coordinatorNotAvailable, requestedWithError(requested, .coordinatorNotAvailable)) }
        guard Self.isValidGroupId(groupId) else { return (.invalidGroupId, requestedWithError(requested, .invalidGroupId)) }
        let committed = offsetStore.committedOffsets(group: groupId)
        guard let requested else {
            return (.none, committed.sorted { $0.key < $1.key }.map { topic, partitions in
                FetchedTopic(name: topic, partitions: partitions.sorted { $0.key < $1.key }.map { ($0.key, $0.value, .none) })
            })
        }
        return (.none, requested.map { name, partitions in
            FetchedTopic(name: name, partitions: partitions.map { ($0, committed[name]?[$0], .none) })
        })
    }

    private func requestedWithError(_ requested: [(String, [Int32])]?, _ error: KafkaErrorCode) -> [FetchedTopic] {
        (requested ?? []).map { name, partitions in
            FetchedTopic(name: name, partitions: partitions.map { ($0, nil, error) })
        }
    }

    // MARK: - Topic deletion

    /// Removes every group's committed offsets for `topic` (call when the topic is deleted).
    ///
    /// - Throws: `OffsetStoreError` if the offsets log could not be rewritten; the offsets then
    ///   stay.
    public func removeOffsets(topic: String) async throws {
        let store = offsetStore
        try await NIOThreadPool.singleton.runIfActive { try store.removeOffsets(topic: topic) }
    }

    // MARK: - FindCoordinator

    /// Answers FindCoordinator (versions 0-6): this broker coordinates every group.
    ///
    /// - Parameters:
    ///   - request: The decoded request; v0-3 ask for `key`, v4+ for each of `coordinatorKeys`.
    ///   - version: Its API version.
    ///   - host: The host clients should connect to (the listener's advertised host).
    ///   - port: The listener's advertised port.
    /// - Returns: This broker (``GroupCoordinatorConfiguration/nodeId``, `host`, `port`) for
    ///   group keys (`keyType` 0); `COORDINATOR_NOT_AVAILABLE` for transaction keys (1), since
    ///   transactions are not supported; `INVALID_REQUEST` for other key types.
    public nonisolated func findCoordinator(
        _ request: FindCoordinatorRequest, version: Int16, host: String, port: Int32
    ) -> FindCoordinatorResponse {
        let error: KafkaErrorCode = switch request.keyType {
        case 0: .none
        case 1: .coordinatorNotAvailable
        default: .invalidRequest
        }
        let found = !error.isError
        let message: String? = found ? nil : error.message
        if version >= 4 {
            return FindCoordinatorResponse(coordinators: request.coordinatorKeys.map { key in
                FindCoordinatorResponse.Coordinator(
                    key: key,
                    nodeId: found ? configuration.nodeId : -1,
                    host: found ? host : "",
                    port: found ? port : -1,
                    errorCode: error.rawValue,
                    errorMessage: message)
            })
        }
        return FindCoordinatorResponse(
            errorCode: error.rawValue,
            errorMessage: version >= 1 ? message : nil,
            nodeId: found ? configuration.nodeId : -1,
            host: found ? host : "",
            port: found ? port : -1)
    }
}

/// A commit waiting for the offsets log's fsync in progress.
struct QueuedCommit: Sendable {
    var records: [OffsetStoreRecord]
    var continuation: CheckedContinuation<CommitTurn, Never>
}

/// What a waiting commit is told when the fsync before it finishes.
enum CommitTurn: Sendable {
    /// A batch holding the commit was written (or failed with the error).
    case done((any Error)?)
    /// The commit leads the next batch: write these records (its own first) and answer the
    /// followers.
    case lead(records: [OffsetStoreRecord], followers: [CheckedContinuation<CommitTurn, Never>])
}
