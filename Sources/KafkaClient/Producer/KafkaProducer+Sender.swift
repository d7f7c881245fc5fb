import KafkaProtocol
import NIOConcurrencyHelpers
import NIOCore

// The sender task: closes and encodes batches, sends Produce requests, applies the answers.
extension KafkaProducer {
    func runSender() async {
        await withDiscardingTaskGroup { group in
            while true {
                let now = clock.now
                let work = core.lock.withLock { core.collectWork(now: now, configuration: configuration) }
                afterStateChange()
                if work.finished {
                    group.cancelAll()  // ends the wake-up timers
                    break
                }
                if work.initProducerId {
                    group.addTask { await self.initializeIdentity() }
                }
                for topic in work.refreshTopics {
                    group.addTask { await self.refreshRoute(topic: topic) }
                }
                for plan in work.requests {
                    guard let request = encodeRequest(plan) else { continue }
                    // Requests to one node must reach its socket in the order they were planned
                    // (sequence order): the connection is readied here, and the child task runs
                    // at once on this thread up to the write.
                    await transport.prepare(node: plan.node)
                    group.addImmediateTask { await self.execute(request, plan: plan) }
                }
                if !work.requests.isEmpty { continue }  // maybe more to send at once
                if let deadline = work.nextWake {
                    let startTimer = core.lock.withLock { () -> Bool in
                        if let running = core.timerDeadline, running <= deadline { return false }
                        core.timerDeadline = deadline
                        return true
                    }
                    if startTimer {
                        group.addTask {
                            try? await Task.sleep(until: deadline, clock: self.clock)
                            self.core.lock.withLock {
                                if self.core.timerDeadline == deadline { self.core.timerDeadline = nil }
                            }
                            self.wakeSenderTask()
                        }
                    }
                }
                await waitForSignal()
            }
        }
    }

    /// Wakes the sender task (a batch closed, an answer arrived, a flush began).
    func wakeSenderTask() {
        let waiter = core.lock.withLock { () -> CheckedContinuation<Void, Never>? in
            if let waiter = core.senderWaiter {
                core.senderWaiter = nil
                return waiter
            }
            core.senderSignalled = true
            return nil
        }
        waiter?.resume()
    }

    private func waitForSignal() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = core.lock.withLock { () -> Bool in
                if core.senderSignalled {
                    core.senderSignalled = false
                    return true
                }
                core.senderWaiter = continuation
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    /// Hands finished reports to the handler (in order), then resumes waiting sends and flushes.
    ///
    /// Reports go first: a `flush()` returns only after the handler has seen the report of every
    /// record it waited for. Waiters are taken under the same lock hold that found no report left,
    /// so a batch completing meanwhile (its report is queued before its records stop counting as
    /// pending) cannot release a flush ahead of its report.
    func afterStateChange() {
        let resumable = reportLock.withLock { () -> [CheckedContinuation<Void, Never>] in
            while true {
                let (reports, resumable) = core.lock.withLock {
                    () -> ([KafkaProducerDeliveryReport], [CheckedContinuation<Void, Never>]) in
                    if core.reports.isEmpty { return ([], core.takeResumable(bufferBytes: configuration.bufferBytes)) }
                    defer { core.reports.removeAll(keepingCapacity: true) }
                    return (core.reports, [])
                }
                if reports.isEmpty { return resumable }
                if let deliveryHandler {
                    for report in reports { deliveryHandler(report) }
                }
            }
        }
        resumable.forEach { $0.resume() }
    }

    /// Encodes the batches of `plan` that are not encoded yet and builds the request.
    private func encodeRequest(_ plan: ProducerRequestPlan) -> ProduceRequest? {
        var builders: [RecordBatchBuilder] = []
        var failed: [(ProducerBatch, KafkaProducerError)] = []
        var topics: [String: [ProduceRequest.PartitionProduceData]] = [:]
        for batch in plan.batches {
            if batch.encoded == nil {
                do {
                    if let builder = try batch.encode(allocator: allocator) { builders.append(builder) }
                } catch {
                    failed.append((batch, error))
                    continue
                }
            }
            topics[batch.topic, default: []].append(.init(index: batch.partition, records: batch.encoded))
        }
        let request = ProduceRequest(
            acks: configuration.acks.rawValue,
            timeoutMs: Int32(clamping: configuration.requestTimeout.components.seconds * 1000),
            topicData: topics.map { .init(name: $0.key, partitionData: $0.value) })
        core.lock.withLock {
            for builder in builders { core.returnBuilder(builder) }
            for (batch, error) in failed {
                if batch.baseSequence >= 0 { core.needsIdentity = configuration.idempotent }
                core.finish(batch, .failure(error))
            }
            if topics.isEmpty {
                core.handle(response: ProduceResponse(), to: ProducerRequestPlan(node: plan.node, batches: []),
                            now: clock.now, configuration: configuration)
            }
        }
        return topics.isEmpty ? nil : request
    }

    private func execute(_ request: ProduceRequest, plan: ProducerRequestPlan) async {
        do {
            let response = try await transport.produce(request, toNode: plan.node)
            core.lock.withLock {
                core.handle(response: response, to: plan, now: clock.now, configuration: configuration)
            }
        } catch {
            core.lock.withLock {
                core.handle(failure: error, of: plan, now: clock.now, configuration: configuration)
            }
        }
        afterStateChange()
        wakeSenderTask()
    }

    private func initializeIdentity() async {
        do {
            let identity = try await transport.initProducerId()
            core.lock.withLock { core.install(identity: identity) }
        } catch {
            core.lock.withLock { core.identityError = error }
            try? await Task.sleep(for: configuration.retryBackoff)
            core.lock.withLock { core.initializingIdentity = false }
        }
        wakeSenderTask()
    }

    private func refreshRoute(topic: String) async {
        let route = try? await transport.route(topic: topic, refresh: true)
        core.lock.withLock {
            if let route, route.partitionCount > 0 {
                core.install(route: route, topic: topic, now: clock.now)
                core.topics[topic]?.needsRefresh = false
            }
            core.topics[topic]?.lastRefresh = clock.now
            core.topics[topic]?.refreshing = false
        }
        wakeSenderTask()
    }
}
