import KafkaProtocol
import NIOCore

// The sender's side of the state: which batches to send now, and what answers do to them.
// Every method runs with `lock` held.
extension ProducerCore {
    /// Closes batches whose linger is over, expires batches past the delivery timeout, and picks
    /// at most one batch per partition for each leader that has room for another request.
    func collectWork(now: ContinuousClock.Instant, configuration: KafkaProducerConfiguration) -> ProducerSenderWork {
        var work = ProducerSenderWork()
        if closed && pendingRecords == 0 {
            work.finished = true
            return work
        }
        func wake(at instant: ContinuousClock.Instant) {
            if instant > now { work.nextWake = min(work.nextWake ?? instant, instant) }
        }
        let flushing = !flushWaiters.isEmpty || closed
        let maxPerPartition = configuration.idempotent ? 5 : configuration.maxInFlightRequestsPerBroker
        var planned: [Int32: [ProducerBatch]] = [:]
        /// Expired before they were sent.
        var expired: [(ProducerBatch, KafkaProducerError)] = []
        /// Expired while waiting for a re-send (their outcome is set).
        var expiredSent: [ProducerBatch] = []
        /// Batches that may be stored although unacknowledged wait for a re-send before a new epoch.
        var unresolvedBeforeNewEpoch = false
        for slot in topics.indices {
            let topic = topics.keys[slot]
            // Route refresh after leader errors, rate limited.
            if topics.values[slot].needsRefresh && !topics.values[slot].refreshing {
                let allowed = topics.values[slot].lastRefresh + configuration.metadataRefreshBackoff
                if allowed <= now {
                    topics.values[slot].refreshing = true
                    work.refreshTopics.append(topic)
                } else {
                    wake(at: allowed)
                }
            }
            for index in topics.values[slot].partitions.indices {
                let partition = Int32(index)
                if let open = topics.values[slot].partitions[index].open, open.recordCount > 0 {
                    let due = open.createdAt + configuration.linger
                    if flushing || due <= now {
                        close(openBatchOf: &topics.values[slot], partition: partition)
                    } else {
                        wake(at: due)
                    }
                }
                // Delivery timeout of batches waiting to be (re)sent.
                if let timeout = configuration.deliveryTimeout {
                    var queue = topics.values[slot].partitions[index]
                    while queue.hasReady, queue.ready[queue.readyHead].createdAt + timeout <= now {
                        let batch = queue.popReady()
                        expired.append((batch, timeoutError(batch, timeout)))
                    }
                    for batch in queue.outstanding where batch.phase == .retry && batch.createdAt + timeout <= now {
                        // Not re-sent; reported below, with the partition's other finished batches in order.
                        batch.phase = .done
                        batch.outcome = .failure(timeoutError(batch, timeout))
                        expiredSent.append(batch)
                    }
                    if queue.hasReady { wake(at: queue.ready[queue.readyHead].createdAt + timeout) }
                    topics.values[slot].partitions[index] = queue
                }
                if needsIdentity {
                    // A new epoch starts sequences at 0, so a batch re-sent in it is never taken for a
                    // duplicate: a batch the broker may have stored is re-sent in the current epoch first
                    // (with the partition's batches before it, in sequence order) until its fate is known.
                    guard topics.values[slot].partitions[index].hasRetryThatMayBeStored else { continue }
                    unresolvedBeforeNewEpoch = true
                }
                let route = topics.values[slot].route
                guard index < route.leaders.count, route.leaders[index] >= 0 else {
                    if topics.values[slot].partitions[index].hasReady
                        || topics.values[slot].partitions[index].outstanding.contains(where: { $0.phase == .retry })
                    {
                        topics.values[slot].needsRefresh = true
                        wake(at: now + configuration.metadataRefreshBackoff)
                    }
                    continue
                }
                let leader = route.leaders[index]
                guard (requestsInFlight[leader] ?? 0) < configuration.maxInFlightRequestsPerBroker else { continue }
                if let batch = nextBatch(
                    in: &topics.values[slot].partitions[index], now: now, maxOutstanding: maxPerPartition,
                    idempotent: configuration.idempotent, retriesOnly: needsIdentity, wake: wake)
                {
                    batch.phase = .inFlight
                    batch.attempts += 1
                    planned[leader, default: []].append(batch)
                }
            }
        }
        for (node, batches) in planned {
            requestsInFlight[node, default: 0] += 1
            totalRequestsInFlight += 1
            work.requests.append(ProducerRequestPlan(node: node, batches: batches))
        }
        if needsIdentity && totalRequestsInFlight == 0 && !initializingIdentity && !unresolvedBeforeNewEpoch {
            initializingIdentity = true
            work.initProducerId = true
        }
        for batch in expiredSent {
            // Its sequences are lost: later batches need a new epoch.
            needsIdentity = configuration.idempotent
            reportFinishedHead(topic: batch.topic, partition: batch.partition)
        }
        for (batch, error) in expired { finish(batch, .failure(error)) }
        return work
    }

    private func timeoutError(_ batch: ProducerBatch, _ timeout: Duration) -> KafkaProducerError {
        var cause = batch.lastError.map { "; last error: \($0.message)" } ?? ""
        if cause.isEmpty, needsIdentity, let identityError { cause = "; no producer id: \(identityError.message)" }
        return KafkaProducerError(
            .timedOut,
            "\(batch.recordCount) records for \(batch.topic)-\(batch.partition) not acknowledged within \(timeout)\(cause)")
    }

    /// The batch of a partition to send now: the first batch to retry (alone, once nothing of the
    /// partition is in flight, so the broker sees the sequences in order), else the oldest ready
    /// batch with its sequence assigned, while fewer than `maxOutstanding` batches are outstanding
    /// (and new batches are wanted: not `retriesOnly`).
    ///
    /// Outstanding, not only in flight: answers are applied as they arrive, not in request order, so
    /// later batches can be answered while an earlier one's fate is still unknown (its response lost
    /// or late). The broker recognises a re-sent batch as a duplicate only among the last five it
    /// stored for the producer and partition; counting every batch sent since the oldest unreported
    /// one keeps that one in the window. Otherwise its re-send is rejected as out of order although
    /// it was stored.
    private func nextBatch(
        in queue: inout PartitionQueue, now: ContinuousClock.Instant, maxOutstanding: Int, idempotent: Bool,
        retriesOnly: Bool, wake: (ContinuousClock.Instant) -> Void
    ) -> ProducerBatch? {
        if let retry = queue.outstanding.first(where: { $0.phase == .retry }) {
            guard queue.inFlightCount == 0 else { return nil }
            if let after = retry.retryAfter, after > now {
                wake(after)
                return nil
            }
            return retry
        }
        guard !retriesOnly, queue.hasReady, queue.outstanding.count < maxOutstanding else { return nil }
        let batch = queue.popReady()
        if idempotent, let identity {
            batch.identity = identity
            batch.baseSequence = queue.nextSequence
            queue.nextSequence = ProducerBatch.sequence(queue.nextSequence, plus: Int32(batch.recordCount))
        }
        queue.outstanding.append(batch)
        return batch
    }

    // MARK: Answers

    /// Applies the broker's answer to the batches of `plan`.
    func handle(
        response: ProduceResponse?, to plan: ProducerRequestPlan, now: ContinuousClock.Instant,
        configuration: KafkaProducerConfiguration
    ) {
        requestDone(node: plan.node)
        guard let response else {
            // acks=0: written, nothing to wait for.
            for batch in plan.batches { finish(batch, .success(-1)) }
            return
        }
        for batch in plan.batches {
            let answer = response.responses.first { $0.name == batch.topic }?
                .partitionResponses.first { $0.index == batch.partition }
            guard let answer else {
                batch.mayBeStored = true
                retry(
                    batch,
                    KafkaProducerError(
                        .transport, "node \(plan.node) did not answer for \(batch.topic)-\(batch.partition)"),
                    refresh: true, now: now, configuration: configuration)
                continue
            }
            let code = KafkaErrorCode(rawValue: answer.errorCode)
            apply(code: code, baseOffset: answer.baseOffset, message: answer.errorMessage, to: batch, node: plan.node,
                  now: now, configuration: configuration)
        }
    }

    private func apply(
        code: KafkaErrorCode, baseOffset: Int64, message: String?, to batch: ProducerBatch, node: Int32,
        now: ContinuousClock.Instant, configuration: KafkaProducerConfiguration
    ) {
        let place = "\(batch.topic)-\(batch.partition) on node \(node)"
        let detail = (message?.isEmpty == false ? message : nil) ?? code.message
        switch code {
        case .none, .duplicateSequenceNumber:
            finish(batch, .success(baseOffset))
        case .outOfOrderSequenceNumber, .unknownProducerId, .invalidProducerEpoch:
            let error = KafkaProducerError(.producerFenced(code), "\(place): \(code.name): \(detail)")
            markNotStored(from: batch)
            if needsIdentity || batch.identity != identity || hasUnresolvedBatch(before: batch) {
                // An earlier batch of the partition failed or the producer is re-initialising: this
                // one is re-sent after it, in sequence order.
                retry(batch, error, refresh: false, now: now, configuration: configuration)
            } else if configuration.deliveryTimeout == nil {
                // A sequence the broker cannot accept, with records retried until delivered: start a new
                // epoch and re-send the batch in it (a copy the broker did keep would be a duplicate).
                needsIdentity = true
                retry(batch, error, refresh: false, now: now, configuration: configuration)
            } else {
                // A sequence the broker cannot accept: fail the batch and start a new epoch.
                needsIdentity = true
                finish(batch, .failure(error))
            }
        default:
            let error = KafkaProducerError(
                code.isRetriable ? .transport : .broker(code), "\(place): \(code.name): \(detail)")
            if code.isRetriable {
                // These answers come after the leader appended the batch (replication fell short).
                if code == .requestTimedOut || code == .notEnoughReplicasAfterAppend { batch.mayBeStored = true }
                let leaderMoved = [KafkaErrorCode.notLeaderOrFollower, .unknownTopicOrPartition, .leaderNotAvailable]
                    .contains(code)
                retry(batch, error, refresh: leaderMoved, now: now, configuration: configuration)
            } else {
                // The sequence range of this batch is lost: later batches need a new epoch.
                if batch.baseSequence >= 0 { needsIdentity = true }
                finish(batch, .failure(KafkaProducerError(.broker(code), error.message)))
            }
        }
    }

    /// The request to `plan`'s node failed as a whole (disconnect, timeout): every batch is re-sent.
    func handle(failure: KafkaProducerError, of plan: ProducerRequestPlan, now: ContinuousClock.Instant,
                configuration: KafkaProducerConfiguration) {
        requestDone(node: plan.node)
        for batch in plan.batches {
            if configuration.acks == .none || !failure.isRetriableTransport {
                if batch.baseSequence >= 0 { needsIdentity = true }
                finish(batch, .failure(failure))
            } else {
                // Written, maybe applied: the answer is lost.
                batch.mayBeStored = true
                retry(batch, failure, refresh: true, now: now, configuration: configuration)
            }
        }
    }

    /// After a fenced answer for `batch`: the broker holds neither it nor any later batch of its partition in
    /// this epoch (it stores sequences without gaps, and answers a stored batch as a duplicate while it is among
    /// the last five), or the epoch cannot be used any more. Either way none of them is re-sent in this epoch.
    private func markNotStored(from batch: ProducerBatch) {
        batch.mayBeStored = false
        guard let queue = topics[batch.topic]?.partitions[Int(batch.partition)],
            let position = queue.outstanding.firstIndex(where: { $0 === batch })
        else { return }
        for later in queue.outstanding[position...] { later.mayBeStored = false }
    }

    private func requestDone(node: Int32) {
        requestsInFlight[node, default: 1] -= 1
        totalRequestsInFlight -= 1
    }

    private func hasUnresolvedBatch(before batch: ProducerBatch) -> Bool {
        guard let queue = topics[batch.topic]?.partitions[Int(batch.partition)] else { return false }
        for other in queue.outstanding {
            if other === batch { return false }
            if other.phase == .retry || other.phase == .inFlight { return true }
        }
        return false
    }

    private func retry(
        _ batch: ProducerBatch, _ error: KafkaProducerError, refresh: Bool, now: ContinuousClock.Instant,
        configuration: KafkaProducerConfiguration
    ) {
        batch.lastError = error
        if closed && configuration.deliveryTimeout == nil && batch.attempts > 100 {
            return finish(batch, .failure(error))
        }
        batch.phase = .retry
        retriedBatches += 1
        retriedRecords += batch.recordCount
        let exponent = min(batch.attempts - 1, 16)
        var backoff = configuration.retryBackoff * (1 << max(exponent, 0))
        if backoff > configuration.retryBackoffMax { backoff = configuration.retryBackoffMax }
        batch.retryAfter = now + backoff
        if refresh { topics[batch.topic]?.needsRefresh = true }
        if topics[batch.topic]?.partitions[Int(batch.partition)].outstanding.contains(where: { $0 === batch }) != true {
            // Sent without a sequence (not idempotent): keep its place for the retry.
            topics[batch.topic]?.partitions[Int(batch.partition)].outstanding.append(batch)
        }
    }

    /// A new identity: every batch waiting for a re-send gets sequences from 0 in the new epoch.
    func install(identity newIdentity: ProducerIdentity) {
        identity = newIdentity
        needsIdentity = false
        initializingIdentity = false
        for slot in topics.indices {
            for index in topics.values[slot].partitions.indices {
                var sequence: Int32 = 0
                for batch in topics.values[slot].partitions[index].outstanding where batch.phase == .retry {
                    batch.restamp(identity: newIdentity, baseSequence: sequence)
                    batch.retryAfter = nil
                    sequence = ProducerBatch.sequence(sequence, plus: Int32(batch.recordCount))
                }
                topics.values[slot].partitions[index].nextSequence = sequence
            }
        }
    }
}

extension KafkaProducerError {
    /// Whether a whole-request failure is worth re-sending (connection and timeout problems).
    var isRetriableTransport: Bool {
        switch kind {
        case .transport, .timedOut: true
        default: false
        }
    }
}
