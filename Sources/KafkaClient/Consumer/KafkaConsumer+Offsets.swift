import KafkaProtocol
import Logging

/// Committed offsets: OffsetFetch on assignment, OffsetCommit when the caller asks.
extension KafkaConsumer {
    /// How often a commit or offset lookup is retried when the coordinator is moving or loading.
    static let coordinatorAttempts = 5

    /// Commits `offsets` (the next offset to read, per partition) for the group, with the current
    /// generation and member id when subscribed (so a member that lost its partitions cannot
    /// overwrite the new owner's progress).
    ///
    /// - Throws: `invalidUsage` without a group id; `commitFailed` if the group rebalanced or the
    ///   member was removed (rejoining follows); `groupError` for other refusals; `client` if the
    ///   coordinator could not be reached.
    public func commit(_ offsets: [TopicPartition: Int64]) async throws(KafkaConsumerError) {
        guard let groupID = configuration.groupID else {
            throw KafkaConsumerError(.invalidUsage, "commit needs a group id (KafkaConsumerConfiguration.groupID)")
        }
        guard !offsets.isEmpty else { return }
        let byTopic = Dictionary(grouping: offsets.keys, by: \.topic)
        let request = OffsetCommitRequest(
            groupId: groupID,
            generationIdOrMemberEpoch: membership?.generationID ?? -1,
            memberId: membership?.memberID ?? "",
            topics: byTopic.keys.sorted().map { topic in
                .init(name: topic, partitions: (byTopic[topic] ?? []).sorted().map {
                    .init(partitionIndex: $0.partition, committedOffset: offsets[$0] ?? -1)
                })
            })
        let response = try await sendToCoordinator(request, what: "OffsetCommit")
        var firstError: KafkaConsumerError?
        for topic in response.topics {
            for partition in topic.partitions {
                let error = KafkaErrorCode(rawValue: partition.errorCode)
                let topicPartition = TopicPartition(topic: topic.name, partition: partition.partitionIndex)
                let failure: KafkaConsumerError?
                if membership != nil {
                    failure = membership?.commitError(error, partition: topicPartition)
                } else {
                    failure = error == .none
                        ? nil : KafkaConsumerError(.groupError(error), "OffsetCommit of \(topicPartition) for group '\(groupID)' failed")
                }
                if firstError == nil { firstError = failure }
            }
        }
        if let firstError { throw firstError }
    }

    /// The group's committed offsets for `partitions` (-1 where none is committed).
    ///
    /// - Throws: `invalidUsage` without a group id, `groupError` or `client` as `commit` does.
    public func committed(_ partitions: [TopicPartition]) async throws(KafkaConsumerError) -> [TopicPartition: Int64] {
        guard configuration.groupID != nil else {
            throw KafkaConsumerError(.invalidUsage, "committed offsets need a group id (KafkaConsumerConfiguration.groupID)")
        }
        return try await committedOffsets(for: partitions)
    }

    /// OffsetFetch for `partitions`, in the request layout of the negotiated version (v8+ nest the
    /// group in `groups`).
    func committedOffsets(for partitions: [TopicPartition]) async throws(KafkaConsumerError) -> [TopicPartition: Int64] {
        let byTopic = Dictionary(grouping: partitions, by: \.topic)
        let topicNames = byTopic.keys.sorted()
        let response = try await sendToCoordinator(what: "OffsetFetch") { version in
            if version >= 8 {
                return OffsetFetchRequest(groups: [.init(
                    groupId: groupID,
                    topics: topicNames.map { .init(name: $0, partitionIndexes: (byTopic[$0] ?? []).map(\.partition)) })])
            }
            return OffsetFetchRequest(
                groupId: groupID,
                topics: topicNames.map { .init(name: $0, partitionIndexes: (byTopic[$0] ?? []).map(\.partition)) })
        }
        var entries: [(TopicPartition, Int64, KafkaErrorCode)] = []
        var groupError = KafkaErrorCode(rawValue: response.errorCode)
        for group in response.groups {
            if group.errorCode != 0 { groupError = KafkaErrorCode(rawValue: group.errorCode) }
            for topic in group.topics {
                for partition in topic.partitions {
                    entries.append((.init(topic: topic.name, partition: partition.partitionIndex),
                                    partition.committedOffset, KafkaErrorCode(rawValue: partition.errorCode)))
                }
            }
        }
        for topic in response.topics {
            for partition in topic.partitions {
                entries.append((.init(topic: topic.name, partition: partition.partitionIndex),
                                partition.committedOffset, KafkaErrorCode(rawValue: partition.errorCode)))
            }
        }
        guard groupError == .none else {
            throw KafkaConsumerError(.groupError(groupError), "OffsetFetch for group '\(groupID)' failed")
        }
        var offsets: [TopicPartition: Int64] = [:]
        for (partition, offset, error) in entries {
            guard error == .none || error == .unknownTopicOrPartition else {
                throw KafkaConsumerError(.groupError(error), "OffsetFetch of \(partition) for group '\(groupID)' failed")
            }
            offsets[partition] = error == .none ? offset : -1
        }
        return offsets
    }

    /// Sends a group request to the coordinator, retrying while it moves or loads.
    private func sendToCoordinator<R: KafkaRequestMessage>(
        _ request: R, what: String
    ) async throws(KafkaConsumerError) -> R.Response where R.Response: CoordinatorErrorReporting {
        try await sendToCoordinator(what: what) { _ in request }
    }

    private func sendToCoordinator<R: KafkaRequestMessage>(
        what: String, _ makeRequest: (Int16) -> R
    ) async throws(KafkaConsumerError) -> R.Response where R.Response: CoordinatorErrorReporting {
        var lastError = ""
        for attempt in 1...Self.coordinatorAttempts {
            do {
                let coordinator = try await cluster.coordinatorConnection(forGroup: groupID)
                let version = try coordinator.version(for: R.self)
                let response = try await coordinator.send(makeRequest(version), version: version)
                guard let error = response.coordinatorError,
                      [.notCoordinator, .coordinatorNotAvailable, .coordinatorLoadInProgress, .unstableOffsetCommit].contains(error)
                else { return response }
                lastError = "\(error)"
            } catch {
                lastError = "\(error)"
            }
            logger.debug("\(what) for group '\(groupID)' attempt \(attempt) failed: \(lastError)")
            await cluster.invalidateCoordinator(forGroup: groupID)
            do {
                try await Task.sleep(for: configuration.retryBackoff)
            } catch {
                break
            }
        }
        throw KafkaConsumerError(.client, "\(what) for group '\(groupID)' failed: \(lastError)")
    }
}

/// Responses whose errors can mean "ask the coordinator again": the first such error they carry.
protocol CoordinatorErrorReporting {
    var coordinatorError: KafkaErrorCode? { get }
}

extension OffsetCommitResponse: CoordinatorErrorReporting {
    var coordinatorError: KafkaErrorCode? {
        topics.lazy.flatMap(\.partitions).map { KafkaErrorCode(rawValue: $0.errorCode) }.first { $0 != .none }
    }
}

extension OffsetFetchResponse: CoordinatorErrorReporting {
    var coordinatorError: KafkaErrorCode? {
        let codes = [errorCode] + groups.map(\.errorCode) + groups.flatMap(\.topics).flatMap(\.partitions).map(\.errorCode)
            + topics.flatMap(\.partitions).map(\.errorCode)
        return codes.lazy.map { KafkaErrorCode(rawValue: $0) }.first { $0 != .none }
    }
}
