import KafkaProtocol
import Logging
import NIOCore

/// Fetching in the background: long-polling Fetch to each partition's leader, bounded by the
/// prefetch limit, positions initialised from seeks, committed offsets or the reset policy.
extension KafkaConsumer {
    /// One partition of a Fetch round: where it fetches from and which seek epoch it belongs to.
    struct FetchTarget: Sendable {
        var partition: TopicPartition
        var offset: Int64
        var epoch: Int
        var maxBytes: Int32
    }

    /// What a Fetch response says about one partition.
    enum FetchOutcome: Sendable {
        case records(FetchedPartitionRecords, highWatermark: Int64)
        case error(KafkaErrorCode)
        case corrupt(KafkaDecodingError)
    }

    func runFetcher() async {
        while !isClosed, failure == nil, !Task.isCancelled {
            do {
                let uninitialised = partitions.filter { $0.value.position == nil }.map(\.key).sorted()
                if !uninitialised.isEmpty {
                    try await initialisePositions(uninitialised)
                    continue
                }
                let targets = fetchTargets()
                if targets.isEmpty {
                    await waitForFetcherWork()
                    continue
                }
                if try await fetch(targets) == false {
                    try await Task.sleep(for: configuration.retryBackoff)
                }
            } catch let error as KafkaConsumerError where error.kind != .client {
                fail(error)
            } catch is CancellationError {
                return
            } catch {
                logger.warning("fetch failed, retrying: \(error)")
                await cluster.invalidateMetadata()
                try? await Task.sleep(for: configuration.retryBackoff)
            }
        }
    }

    /// The partitions to fetch now and the byte limit of each, or none while the buffer is too full.
    ///
    /// A Fetch is sent only when the buffer has room for a full partition's worth, so what arrives
    /// fits: the broker returns at most the request's `maxBytes` (but for one oversized first batch,
    /// which is asked for only into an empty buffer).
    private func fetchTargets() -> [FetchTarget] {
        let buffered = queue.bufferedBytes
        let free = configuration.maxBufferedBytes - buffered
        let usualLimit = Int(configuration.partitionMaxBytes)
        guard buffered == 0 || free >= usualLimit else { return [] }
        var targets: [FetchTarget] = []
        for (partition, state) in partitions {
            guard let offset = state.position else { continue }
            let needed = max(usualLimit, state.minimumFetchBytes ?? 0)
            guard buffered == 0 || free >= needed else { continue }
            targets.append(FetchTarget(
                partition: partition, offset: offset, epoch: state.epoch,
                maxBytes: Int32(clamping: needed)))
        }
        return targets.sorted { $0.partition < $1.partition }
    }

    /// One Fetch round over every leader; `false` if nothing could be fetched (back off).
    private func fetch(_ targets: [FetchTarget]) async throws -> Bool {
        let metadata = try await cluster.metadata(topics: Set(targets.map(\.partition.topic)).sorted())
        var byLeader: [Int32: [FetchTarget]] = [:]
        var missingLeader = false
        for target in targets {
            if let leader = metadata.leader(topic: target.partition.topic, partition: target.partition.partition), leader >= 0 {
                byLeader[leader, default: []].append(target)
            } else {
                missingLeader = true
            }
        }
        if missingLeader { await cluster.invalidateMetadata() }
        guard !byLeader.isEmpty else { return false }
        // Leaders share the free buffer so the round as a whole stays within it (an empty buffer
        // may take one batch larger than the bound, see `fetchTargets`).
        let free = max(configuration.maxBufferedBytes - queue.bufferedBytes, 0)
        let largest = targets.map { Int($0.maxBytes) }.max() ?? 0
        let perLeader = Int32(clamping: max(free / byLeader.count, queue.bufferedBytes == 0 ? largest : 1))
        var allSucceeded = true
        await withTaskGroup(of: Bool.self) { group in
            for (leader, leaderTargets) in byLeader {
                group.addTask { await self.fetch(leaderTargets, fromNode: leader, maxBytes: perLeader) }
            }
            for await succeeded in group where !succeeded { allSucceeded = false }
        }
        return allSucceeded && !missingLeader
    }

    /// Fetches `targets` from one broker and applies the result; `false` on a retriable failure.
    private func fetch(_ targets: [FetchTarget], fromNode node: Int32, maxBytes: Int32) async -> Bool {
        do {
            let connection = try await cluster.connection(toNode: node)
            let outcomes = try await Self.fetchAndDecode(
                targets, connection: connection, configuration: configuration,
                maxBytes: min(maxBytes, configuration.fetchMaxBytes),
                timeout: configuration.fetchMaxWait + cluster.configuration.requestTimeout)
            return apply(outcomes, for: targets)
        } catch {
            logger.warning("Fetch from node \(node) failed: \(error)")
            await cluster.invalidateMetadata()
            return false
        }
    }

    /// Sends the Fetch and cuts each partition's records, off the actor (CRC checks are CPU work).
    private nonisolated static func fetchAndDecode(
        _ targets: [FetchTarget], connection: KafkaBrokerConnection, configuration: KafkaConsumerConfiguration,
        maxBytes: Int32, timeout: Duration
    ) async throws -> [TopicPartition: FetchOutcome] {
        var topics: [String: [FetchRequest.FetchPartition]] = [:]
        var fetchOffsets: [TopicPartition: Int64] = [:]
        for target in targets {
            topics[target.partition.topic, default: []].append(.init(
                partition: target.partition.partition, fetchOffset: target.offset, partitionMaxBytes: target.maxBytes))
            fetchOffsets[target.partition] = target.offset
        }
        let request = FetchRequest(
            maxWaitMs: milliseconds(configuration.fetchMaxWait), minBytes: configuration.fetchMinBytes,
            maxBytes: maxBytes, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
            topics: topics.keys.sorted().map { .init(topic: $0, partitions: topics[$0] ?? []) })
        let response = try await connection.send(request, timeout: timeout)
        if response.errorCode != 0 {
            let error = KafkaErrorCode(rawValue: response.errorCode)
            return Dictionary(uniqueKeysWithValues: targets.map { ($0.partition, FetchOutcome.error(error)) })
        }
        var outcomes: [TopicPartition: FetchOutcome] = [:]
        for topic in response.responses {
            for partition in topic.partitions {
                let topicPartition = TopicPartition(topic: topic.topic, partition: partition.partitionIndex)
                guard let fetchOffset = fetchOffsets[topicPartition] else { continue }
                let error = KafkaErrorCode(rawValue: partition.errorCode)
                guard error == .none else {
                    outcomes[topicPartition] = .error(error)
                    continue
                }
                do {
                    let records = try FetchedPartitionRecords(
                        records: partition.records, fetchOffset: fetchOffset,
                        verifyChecksums: configuration.verifyChecksums)
                    outcomes[topicPartition] = .records(records, highWatermark: partition.highWatermark)
                } catch {
                    outcomes[topicPartition] = .corrupt(error)
                }
            }
        }
        return outcomes
    }

    /// Applies a Fetch round's outcomes to partitions still at the same position and epoch, and
    /// queues the batches for the caller. Returns `false` if a partition needs a metadata refresh.
    private func apply(_ outcomes: [TopicPartition: FetchOutcome], for targets: [FetchTarget]) -> Bool {
        var succeeded = true
        for target in targets {
            guard let outcome = outcomes[target.partition], var state = partitions[target.partition],
                  state.epoch == target.epoch, state.position == target.offset
            else { continue }
            switch outcome {
            case .records(let records, let highWatermark):
                state.highWatermark = highWatermark
                state.minimumFetchBytes = records.truncatedBatchSize
                state.position = records.nextOffset
                if !records.batches.isEmpty {
                    state.reportedEnd = false
                    deliver(.batches(KafkaFetchedBatches(
                        topicPartition: target.partition, batches: records.batches, fetchOffset: target.offset,
                        nextOffset: records.nextOffset, highWatermark: highWatermark)))
                }
                if configuration.reportsEndOfPartition, !state.reportedEnd, records.nextOffset >= highWatermark {
                    state.reportedEnd = true
                    deliver(.reachedEnd(target.partition, offset: records.nextOffset))
                }
            case .error(.offsetOutOfRange):
                guard configuration.autoOffsetReset != .none else {
                    fail(KafkaConsumerError(
                        .partitionError(.offsetOutOfRange),
                        "offset \(target.offset) of \(target.partition) is out of range and autoOffsetReset is none"))
                    return false
                }
                logger.info("offset \(target.offset) of \(target.partition) is out of range: resetting to \(configuration.autoOffsetReset.rawValue)")
                state.position = nil
                state.needsReset = true
            case .error(let error) where error.isRetriable:
                succeeded = false
            case .error(let error):
                fail(KafkaConsumerError(.partitionError(error), "Fetch of \(target.partition) at offset \(target.offset) failed"))
                return false
            case .corrupt(let error):
                fail(KafkaConsumerError(
                    .protocolError, "Fetch of \(target.partition) at offset \(target.offset): corrupt record batch: \(error)"))
                return false
            }
            partitions[target.partition] = state
        }
        return succeeded
    }

    // MARK: Positions

    /// Sets the position of partitions that have none: the group's committed offset when there is
    /// one (and the partition was not reset), else the reset policy's offset from ListOffsets.
    private func initialisePositions(_ uninitialised: [TopicPartition]) async throws {
        let epochs = Dictionary(uniqueKeysWithValues: uninitialised.compactMap { partition in
            partitions[partition].map { (partition, $0.epoch) }
        })
        var resolved: [TopicPartition: Int64] = [:]
        let useCommitted = uninitialised.filter { partitions[$0]?.needsReset == false }
        if configuration.groupID != nil, !useCommitted.isEmpty {
            for (partition, offset) in try await committedOffsets(for: useCommitted) where offset >= 0 {
                resolved[partition] = offset
            }
        }
        let unresolved = uninitialised.filter { resolved[$0] == nil }
        if !unresolved.isEmpty {
            let timestamp: Int64
            switch configuration.autoOffsetReset {
            case .earliest: timestamp = -2
            case .latest: timestamp = -1
            case .none:
                throw KafkaConsumerError(
                    .partitionError(.offsetOutOfRange),
                    "no committed offset for \(unresolved.map(\.description).joined(separator: ", ")) and autoOffsetReset is none")
            }
            for (partition, offset) in try await listOffsets(unresolved, timestamp: timestamp) {
                resolved[partition] = offset
            }
        }
        for (partition, offset) in resolved {
            // A seek or a revocation while the lookups were out wins.
            guard var state = partitions[partition], state.epoch == epochs[partition], state.position == nil else { continue }
            state.position = offset
            state.needsReset = false
            partitions[partition] = state
            logger.debug("\(partition): starting at offset \(offset)")
        }
    }

    /// ListOffsets for `timestamp` (-2 earliest, -1 latest) from each partition's leader.
    ///
    /// - Throws: `KafkaClientError` or `ConsumerRetriableError` (retried by the fetcher), or `KafkaConsumerError` for a
    ///   partition error that retrying cannot fix.
    func listOffsets(_ partitions: [TopicPartition], timestamp: Int64) async throws -> [TopicPartition: Int64] {
        let metadata = try await cluster.metadata(topics: Set(partitions.map(\.topic)).sorted())
        var byLeader: [Int32: [TopicPartition]] = [:]
        for partition in partitions {
            guard let leader = metadata.leader(topic: partition.topic, partition: partition.partition), leader >= 0 else {
                await cluster.invalidateMetadata()
                throw ConsumerRetriableError("no leader known for \(partition)")
            }
            byLeader[leader, default: []].append(partition)
        }
        var offsets: [TopicPartition: Int64] = [:]
        for (leader, leaderPartitions) in byLeader {
            let connection = try await cluster.connection(toNode: leader)
            let byTopic = Dictionary(grouping: leaderPartitions, by: \.topic)
            let request = ListOffsetsRequest(
                replicaId: -1, isolationLevel: 0,
                topics: byTopic.keys.sorted().map { topic in
                    .init(name: topic, partitions: (byTopic[topic] ?? []).map { .init(partitionIndex: $0.partition, timestamp: timestamp) })
                })
            let response = try await connection.send(request)
            for topic in response.topics {
                for partition in topic.partitions {
                    let topicPartition = TopicPartition(topic: topic.name, partition: partition.partitionIndex)
                    let error = KafkaErrorCode(rawValue: partition.errorCode)
                    if error.isRetriable {
                        await cluster.invalidateMetadata()
                        throw ConsumerRetriableError("ListOffsets of \(topicPartition): \(error)")
                    }
                    guard error == .none else {
                        throw KafkaConsumerError(.partitionError(error), "ListOffsets of \(topicPartition) failed")
                    }
                    offsets[topicPartition] = partition.offset
                }
            }
        }
        return offsets
    }
}

/// A failure the fetcher retries after a backoff (no leader known, a leader moving).
struct ConsumerRetriableError: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) { self.description = description }
}
