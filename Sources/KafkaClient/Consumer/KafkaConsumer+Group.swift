import KafkaProtocol
import Logging

/// Group membership in the background: join, sync, heartbeat, revoke and rejoin.
extension KafkaConsumer {
    var groupID: String { configuration.groupID ?? "" }

    /// Runs until the consumer closes or fails: each round joins a generation, delivers the
    /// assignment, heartbeats until the coordinator asks for a rebalance, then revokes.
    func runGroupMembership() async {
        while !isClosed, failure == nil, !Task.isCancelled {
            do {
                guard let assigned = try await joinAndSync() else { continue }
                deliver(.assigned(assigned))
                try await heartbeatUntilRebalance()
                await revokeAll()
            } catch let error as KafkaConsumerError {
                fail(error)
            } catch {
                return  // cancelled
            }
        }
    }

    /// One JoinGroup/SyncGroup round; `nil` when it has to be repeated (after any backoff it needs).
    ///
    /// - Throws: `KafkaConsumerError` for fatal group errors, `CancellationError` on close.
    private func joinAndSync() async throws -> [TopicPartition]? {
        guard membership != nil else { return nil }
        do {
            let coordinator = try await cluster.coordinatorConnection(forGroup: groupID)
            guard let join = membership?.joinRequest() else { return nil }
            // The coordinator holds JoinGroup until the rebalance completes (at most the rebalance timeout).
            let joinResponse = try await coordinator.send(join, timeout: configuration.rebalanceTimeout + .seconds(5))
            guard let joinStep = try membership?.handleJoin(joinResponse) else { return nil }
            var assignments: [SyncGroupRequest.SyncGroupRequestAssignment] = []
            switch joinStep {
            case .assign(let members):
                let counts = try await partitionCounts(of: Set(members.flatMap(\.topics)))
                assignments = try membership?.assignments(members: members, partitionCounts: counts) ?? []
            case .sync:
                break
            default:
                try await recover(from: joinStep)
                return nil
            }
            let syncVersion = try coordinator.version(for: SyncGroupRequest.self)
            guard let sync = membership?.syncRequest(assignments: assignments, version: syncVersion) else { return nil }
            let syncResponse = try await coordinator.send(
                sync, version: syncVersion, timeout: configuration.rebalanceTimeout + .seconds(5))
            let syncStep = try membership?.handleSync(syncResponse)
            if case .assigned(let assigned) = syncStep {
                logger.info("group '\(groupID)' generation \(membership?.generationID ?? -1): assigned \(assigned)")
                return assigned
            }
            if let syncStep { try await recover(from: syncStep) }
            return nil
        } catch let error as KafkaClientError {
            logger.warning("group '\(groupID)': join failed, retrying: \(error)")
            membership?.resetGeneration(resetMemberID: false)
            await cluster.invalidateCoordinator(forGroup: groupID)
            try await Task.sleep(for: configuration.retryBackoff)
            return nil
        }
    }

    /// Waits or rediscovers the coordinator as a step asks before the next JoinGroup.
    private func recover(from step: ConsumerGroupMembership.Step) async throws {
        switch step {
        case .retryJoinAfterBackoff:
            try await Task.sleep(for: configuration.retryBackoff)
        case .findCoordinatorAndRejoin, .findCoordinator:
            await cluster.invalidateCoordinator(forGroup: groupID)
            try await Task.sleep(for: configuration.retryBackoff)
        default:
            break
        }
    }

    /// Partition counts of `topics` for the leader's assignor; topics without metadata are left out.
    private func partitionCounts(of topics: Set<String>) async throws(KafkaClientError) -> [String: Int32] {
        let metadata = try await cluster.metadata(topics: topics.sorted(), forceRefresh: true)
        var counts: [String: Int32] = [:]
        for (name, topic) in metadata.topics where topics.contains(name) && topic.error == nil {
            counts[name] = Int32(topic.partitions.count)
        }
        return counts
    }

    /// Heartbeats every `heartbeatInterval` until the coordinator asks the member to rejoin (or a
    /// commit found the generation gone).
    private func heartbeatUntilRebalance() async throws {
        while true {
            try await Task.sleep(for: configuration.heartbeatInterval)
            guard let request = membership?.heartbeatRequest(), membership?.phase == .stable else { return }
            do {
                let coordinator = try await cluster.coordinatorConnection(forGroup: groupID)
                let response = try await coordinator.send(request)
                // The generation may have moved on while the heartbeat was out (a commit reset it).
                guard membership?.generationID == request.generationId else { return }
                switch try membership?.handleHeartbeat(response) {
                case .rejoin?:
                    logger.info("group '\(groupID)': rebalance (\(KafkaErrorCode(rawValue: response.errorCode)))")
                    return
                case .findCoordinator?:
                    await cluster.invalidateCoordinator(forGroup: groupID)
                default:
                    continue
                }
            } catch let error as KafkaClientError {
                logger.warning("group '\(groupID)': heartbeat failed: \(error)")
                await cluster.invalidateCoordinator(forGroup: groupID)
            }
        }
    }

    /// Sends LeaveGroup so the group rebalances now rather than after the session timeout.
    func leaveGroup() async {
        guard membership?.memberID.isEmpty == false else { return }
        do {
            let coordinator = try await cluster.coordinatorConnection(forGroup: groupID)
            let version = try coordinator.version(for: LeaveGroupRequest.self)
            guard let request = membership?.leaveRequest(version: version) else { return }
            _ = try await coordinator.send(request, version: version)
        } catch {
            logger.warning("group '\(groupID)': LeaveGroup failed (the session timeout will remove the member): \(error)")
        }
    }
}
